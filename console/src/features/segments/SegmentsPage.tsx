import { PlusOutlined } from "@ant-design/icons";
import { Button, Table, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { YesNo } from "../../components/YesNo";
import { PageTitle } from "../../components/PageTitle";
import { formatInstant } from "../../lib/format";
import { useSegments } from "../../lib/queries";
import type { Segment } from "../../lib/types";

export default function SegmentsPage() {
  const { t, i18n } = useTranslation();
  const segments = useSegments();
  return (
    <>
      <PageTitle
        title={t("segments.title")}
        extra={
          <Link to="/segments/new">
            <Button type="primary" icon={<PlusOutlined />}>
              {t("segments.new")}
            </Button>
          </Link>
        }
      >
        {t("segments.title")}
      </PageTitle>
      <ApiErrorAlert error={segments.error} />
      <Table<Segment>
        aria-label={t("segments.title")}
        rowKey="segmentId"
        loading={segments.isLoading}
        dataSource={segments.data ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t("segments.name"), key: "name", render: (_, s) => <Link to={`/segments/${s.segmentId}`}>{s.name}</Link> },
          { title: t("segments.id"), dataIndex: "segmentId" },
          { title: t("points.active"), dataIndex: "active", render: (a: boolean | undefined) => <YesNo value={a} /> },
          { title: t("campaign.version"), dataIndex: "version" },
          { title: t("campaigns.updated"), key: "updated", render: (_, s) => `${s.updatedBy} · ${formatInstant(s.updatedAt, i18n.language)}` },
        ]}
      />
    </>
  );
}
