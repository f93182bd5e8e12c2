import { PlusOutlined } from "@ant-design/icons";
import { Button, Input, Select, Space, Table } from "antd";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { StatusTag } from "../../components/StatusTag";
import { formatInstant } from "../../lib/format";
import { useCampaigns } from "../../lib/queries";
import type { Campaign, CampaignStatus } from "../../lib/types";

const STATUSES: CampaignStatus[] = ["draft", "pending_approval", "scheduled", "active", "paused", "ended"];

export default function CampaignsPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") as CampaignStatus | null) ?? undefined;
  const [text, setText] = useState(params.get("q") ?? "");
  const campaigns = useCampaigns(status);

  const rows = useMemo(() => {
    const wanted = text.trim().toLowerCase();
    return (campaigns.data?.items ?? []).filter(
      (c) => !wanted || c.campaignId.toLowerCase().includes(wanted) || c.name.toLowerCase().includes(wanted) || c.author.toLowerCase().includes(wanted),
    );
  }, [campaigns.data, text]);

  const setFilter = (name: string, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageTitle
        title={t("campaigns.title")}
        extra={
          <Link to="/campaigns/new">
            <Button type="primary" icon={<PlusOutlined />} data-testid="new-campaign">
              {t("campaigns.new")}
            </Button>
          </Link>
        }
      >
        {t("campaigns.title")}
      </PageTitle>
      <Space wrap style={{ marginBottom: 16 }}>
        <Select<CampaignStatus>
          aria-label={t("campaigns.filterStatus")}
          allowClear
          placeholder={t("campaigns.filterStatus")}
          style={{ width: 200 }}
          value={status}
          onChange={(value) => setFilter("status", value)}
          options={STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))}
        />
        <Input.Search
          aria-label={t("campaigns.search")}
          placeholder={t("campaigns.search")}
          allowClear
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setFilter("q", e.target.value || undefined);
          }}
          style={{ width: 280 }}
        />
      </Space>
      <ApiErrorAlert error={campaigns.error} />
      <Table<Campaign>
        aria-label={t("campaigns.title")}
        rowKey="campaignId"
        loading={campaigns.isLoading}
        dataSource={rows}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: "max-content" }}
        columns={[
          { title: t("campaigns.name"), key: "name", render: (_, c) => <Link to={`/campaigns/${c.campaignId}`}>{c.name}</Link> },
          { title: t("campaigns.id"), dataIndex: "campaignId" },
          {
            title: t("campaigns.status"),
            key: "status",
            render: (_, c) => <StatusTag status={c.effectiveStatus} />,
            sorter: (a, b) => STATUSES.indexOf(a.effectiveStatus) - STATUSES.indexOf(b.effectiveStatus),
          },
          { title: t("campaigns.trigger"), key: "trigger", render: (_, c) => t(`triggers.${c.trigger.type}`) },
          { title: t("campaigns.window"), key: "window", render: (_, c) => `${formatInstant(c.window.startsAt, i18n.language)} – ${formatInstant(c.window.endsAt, i18n.language)}` },
          { title: t("campaigns.author"), dataIndex: "author" },
          {
            title: t("campaigns.updated"),
            key: "updatedAt",
            render: (_, c) => formatInstant(c.updatedAt, i18n.language),
            sorter: (a, b) => a.updatedAt.localeCompare(b.updatedAt),
            defaultSortOrder: "descend",
          },
          { title: t("campaigns.report"), key: "report", render: (_, c) => <Link to={`/campaigns/${c.campaignId}/report`} aria-label={t("campaigns.reportOf", { name: c.name })}>{t("campaigns.report")}</Link> },
        ]}
      />
    </>
  );
}
