/**
 * A long listing of the API (segment members, points history, the audit log): pages fetched through
 * its cursor as the operator scrolls, rows rendered virtualized (antd's virtual table draws only the
 * rows in view), so 100,000 rows stay smooth.
 */
import { useInfiniteQuery } from "@tanstack/react-query";
import { Button, Flex, Table, Typography } from "antd";
import type { ColumnsType } from "antd/es/table";
import { useMemo, type UIEvent } from "react";
import { useTranslation } from "react-i18next";

import { ApiErrorAlert } from "./ApiErrorAlert";

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

interface Props<T> {
  queryKey: readonly unknown[];
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>;
  columns: ColumnsType<T>;
  rowKey: (row: T) => string;
  label: string;
  height?: number;
  enabled?: boolean;
  /** Some listings filter each page after reading it, so a page may be empty while more follow. */
  emptyPagesFollow?: boolean;
}

const NEAR_BOTTOM_PX = 300;

export function CursorTable<T extends object>({ queryKey, fetchPage, columns, rowKey, label, height = 480, enabled = true }: Props<T>) {
  const { t } = useTranslation();
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled,
  });
  const rows = useMemo(() => query.data?.pages.flatMap((page) => page.items) ?? [], [query.data]);

  const onScroll = (event: UIEvent<HTMLDivElement>) => {
    const target = event.currentTarget;
    if (target.scrollHeight - target.scrollTop - target.clientHeight < NEAR_BOTTOM_PX && query.hasNextPage && !query.isFetchingNextPage) {
      void query.fetchNextPage();
    }
  };

  return (
    <>
      <ApiErrorAlert error={query.error} />
      <Table<T>
        aria-label={label}
        virtual
        size="small"
        columns={columns}
        dataSource={rows}
        rowKey={rowKey}
        loading={query.isLoading}
        pagination={false}
        scroll={{ y: height, x: "max-content" }}
        onScroll={onScroll}
      />
      <Flex justify="space-between" align="center" style={{ marginTop: 8 }}>
        <Typography.Text type="secondary" data-testid="rows-loaded">
          {t("common.rowsLoaded", { count: rows.length })}
        </Typography.Text>
        <Button onClick={() => void query.fetchNextPage()} disabled={!query.hasNextPage} loading={query.isFetchingNextPage}>
          {query.hasNextPage ? t("common.loadMore") : t("common.allLoaded")}
        </Button>
      </Flex>
    </>
  );
}
