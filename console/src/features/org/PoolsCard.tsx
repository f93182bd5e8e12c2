/**
 * A unit's budget pools (docs/org-units.md, "Budget pools"): pick one of its pools, see its roll-up
 * down the tree (allocated, allocated onward, committed, spent and left at every unit under it) and
 * its pacing plan against the spend so far.
 */
import { useQuery } from "@tanstack/react-query";
import { Card, Col, Empty, Progress, Row, Select, Statistic, Table, Typography } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { Chart } from "../../components/Chart";
import { SectionHeading } from "../../components/SectionHeading";
import { useApi } from "../../lib/api";
import { formatMinor, formatNumber } from "../../lib/format";
import { AllocateForm } from "./AllocateForm";
import { pacingSeries, usedShare } from "./pools";

export function PoolsCard({ unitId }: { unitId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const pools = useQuery({
    queryKey: ["org-unit", unitId, "pools"],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}/pools", { params: { path: { unitId } } })),
    retry: false,
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const poolId = chosen ?? pools.data?.items[pools.data.items.length - 1]?.poolId ?? null;
  const rollup = useQuery({
    queryKey: ["org-unit", unitId, "pools", poolId],
    queryFn: () => ok(api.GET("/v1/admin/org-units/{unitId}/pools/{poolId}", { params: { path: { unitId, poolId: poolId ?? "" } } })),
    enabled: poolId !== null,
    retry: false,
  });
  const data = rollup.data;
  const amount = (value: number) =>
    data?.pool.measure === "rewards" ? formatNumber(value, i18n.language) : formatMinor(value, data?.pool.measure, i18n.language);
  const option = useMemo(() => {
    if (!data || data.pacing.length === 0) return null;
    const series = pacingSeries(data);
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { top: 48, left: 72, right: 16, bottom: 32 },
      xAxis: { type: "category", data: series.days },
      yAxis: { type: "value", name: data.pool.measure === "rewards" ? t("orgPools.rewards") : data.pool.measure },
      series: [
        { type: "line", step: "start", name: t("orgPools.planned"), data: series.planned },
        { type: "line", step: "start", name: t("orgPools.allowance"), data: series.allowance, lineStyle: { type: "dashed" } },
        { type: "line", name: t("orgPools.spentSoFar"), data: series.spent, showSymbol: false },
      ],
    };
  }, [data, t]);
  return (
    <Card
      style={{ marginTop: 16 }}
      title={<SectionHeading>{t("orgPools.title")}</SectionHeading>}
      extra={
        pools.data && pools.data.items.length > 0 ? (
          <Select
            aria-label={t("orgPools.pool")}
            style={{ minWidth: 180 }}
            value={poolId}
            onChange={setChosen}
            options={pools.data.items.map((p) => ({ value: p.poolId, label: p.poolId }))}
          />
        ) : null
      }
      loading={pools.isLoading}
      data-testid="org-pools"
    >
      <ApiErrorAlert error={pools.error ?? rollup.error} />
      {pools.data && pools.data.items.length === 0 && <Empty description={t("orgPools.none")} />}
      {data && (
        <>
          <Typography.Paragraph type="secondary">{t("orgPools.explain")}</Typography.Paragraph>
          <Row gutter={16} style={{ marginBottom: 16 }}>
            <Col xs={12} md={6}><Statistic title={t("orgPools.allocation")} value={amount(data.pool.allocation)} /></Col>
            <Col xs={12} md={6}><Statistic title={t("orgPools.onward")} value={amount(data.pool.allocatedOnward)} /></Col>
            <Col xs={12} md={6}><Statistic title={t("orgPools.spent")} value={amount(data.pool.spent)} /></Col>
            <Col xs={12} md={6}><Statistic title={t("orgPools.allowanceToday")} value={amount(data.pool.allowance)} /></Col>
          </Row>
          <AllocateForm unitId={unitId} rollup={data} />
          {option && <Chart option={option} label={t("orgPools.chart")} testId="chart-pacing" />}
          <Table
            aria-label={t("orgPools.rollup")}
            size="small"
            rowKey="unitId"
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            dataSource={data.units}
            columns={[
              { title: t("orgPools.unit"), key: "unit", render: (_, n) => <span style={{ paddingLeft: n.depth * 12 }}>{n.name} <Typography.Text type="secondary">{n.unitId}</Typography.Text></span> },
              { title: t("orgPools.allocation"), dataIndex: "allocation", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.onward"), dataIndex: "allocatedOnward", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.committed"), dataIndex: "committed", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.spent"), dataIndex: "spent", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.subtreeSpent"), dataIndex: "subtreeSpent", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.left"), dataIndex: "left", align: "right", render: (v: number) => amount(v) },
              { title: t("orgPools.used"), key: "used", width: 120, render: (_, n) => <Progress percent={Math.round(usedShare(n) * 100)} size="small" aria-label={`${t("orgPools.used")} ${n.unitId}`} /> },
            ]}
          />
        </>
      )}
    </Card>
  );
}
