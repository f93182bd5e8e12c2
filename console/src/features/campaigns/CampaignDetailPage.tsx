import { BarChartOutlined, CheckOutlined, CloseOutlined, EditOutlined, PauseCircleOutlined, PlayCircleOutlined, SendOutlined, StopOutlined } from "@ant-design/icons";
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Descriptions, Skeleton, Space, Table, Tabs, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { ok } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { APPROVERS } from "../../auth/session";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { JsonBlock } from "../../components/JsonBlock";
import { PageTitle } from "../../components/PageTitle";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import { keys, useCampaign } from "../../lib/queries";
import type { Campaign, CampaignAuditEntry } from "../../lib/types";
import { approvalBlock } from "./approval";
import { DiffView } from "./DiffView";
import { FirePanel } from "./FirePanel";
import { TransitionButton } from "./TransitionButton";

export default function CampaignDetailPage() {
  const { campaignId = "" } = useParams();
  const { t } = useTranslation();
  const campaign = useCampaign(campaignId);
  if (!campaign.data) {
    return (
      <>
        <PageTitle title={campaignId}>{campaignId}</PageTitle>
        <ApiErrorAlert error={campaign.error} />
        {campaign.isLoading && <Skeleton active />}
      </>
    );
  }
  const c = campaign.data;
  return (
    <>
      <PageTitle
        title={c.name}
        extra={
          <Link to={`/campaigns/${c.campaignId}/report`}>
            <Button icon={<BarChartOutlined />}>{t("campaigns.report")}</Button>
          </Link>
        }
      >
        {c.name} <StatusTag status={c.effectiveStatus} />
      </PageTitle>
      <Actions campaign={c} />
      <Tabs
        items={[
          { key: "overview", label: t("campaign.overview"), children: <Overview campaign={c} /> },
          ...(c.status === "pending_approval" ? [{ key: "diff", label: t("diff.title"), children: <DiffView campaign={c} /> }] : []),
          { key: "audit", label: t("campaign.auditTrail"), children: <AuditTrail campaignId={c.campaignId} /> },
        ]}
      />
    </>
  );
}

function Actions({ campaign }: { campaign: Campaign }) {
  const { t } = useTranslation();
  const { session, can } = useAuth();
  const block = approvalBlock(campaign, session);
  const status = campaign.status;
  const live = campaign.effectiveStatus === "active" || campaign.effectiveStatus === "scheduled";
  return (
    <Card size="small" style={{ marginBottom: 16 }}>
      <Space wrap>
        {status === "draft" && (
          <>
            <Link to={`/campaigns/${campaign.campaignId}/edit`}>
              <Button icon={<EditOutlined />}>{t("campaign.edit")}</Button>
            </Link>
            <TransitionButton campaign={campaign} action="submit" icon={<SendOutlined />} primary />
          </>
        )}
        {status === "pending_approval" && can(APPROVERS) && (
          <>
            <TransitionButton campaign={campaign} action="approve" icon={<CheckOutlined />} primary disabledReason={block ? t(block) : null} />
            <TransitionButton campaign={campaign} action="reject" icon={<CloseOutlined />} danger noteRequired disabledReason={block ? t(block) : null} />
          </>
        )}
        {status === "pending_approval" && !can(APPROVERS) && <Typography.Text type="secondary">{t("approvals.waiting")}</Typography.Text>}
        {status === "approved" && live && <TransitionButton campaign={campaign} action="pause" icon={<PauseCircleOutlined />} danger />}
        {status === "paused" && <TransitionButton campaign={campaign} action="resume" icon={<PlayCircleOutlined />} />}
        {(status === "approved" || status === "paused") && <TransitionButton campaign={campaign} action="end" icon={<StopOutlined />} danger />}
        {status === "approved" && live && (campaign.trigger.type === "manual" || campaign.trigger.type === "schedule") && <FirePanel campaign={campaign} />}
      </Space>
    </Card>
  );
}

function Overview({ campaign }: { campaign: Campaign }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <>
      <Descriptions
        bordered
        size="small"
        column={{ xs: 1, md: 2 }}
        items={[
          { key: "id", label: t("campaigns.id"), children: campaign.campaignId },
          { key: "version", label: t("campaign.version"), children: campaign.version },
          { key: "author", label: t("campaigns.author"), children: campaign.author },
          { key: "approvedBy", label: t("campaign.approvedBy"), children: campaign.approvedBy ? `${campaign.approvedBy} · ${formatInstant(campaign.approvedAt, lang)}` : "—" },
          { key: "window", label: t("campaigns.window"), children: `${formatInstant(campaign.window.startsAt, lang)} – ${formatInstant(campaign.window.endsAt, lang)}` },
          { key: "trigger", label: t("campaigns.trigger"), children: t(`triggers.${campaign.trigger.type}`) },
          { key: "control", label: t("builder.controlPercent"), children: `${campaign.controlPercent ?? 0}%` },
          { key: "funding", label: t("builder.fundingCostCentre"), children: campaign.fundingCostCentre },
          { key: "paused", label: t("campaign.pausedReason"), children: campaign.pausedReason ? t(`campaign.paused.${campaign.pausedReason}`) : "—" },
          { key: "updated", label: t("campaigns.updated"), children: formatInstant(campaign.updatedAt, lang) },
        ]}
      />
      <Typography.Title level={2} style={{ fontSize: 16, marginTop: 16 }}>
        {t("campaign.definition")}
      </Typography.Title>
      <JsonBlock
        label={t("campaign.definition")}
        maxHeight={360}
        value={{ trigger: campaign.trigger, audience: campaign.audience, variants: campaign.variants, budget: campaign.budget, frequencyCaps: campaign.frequencyCaps, quietHours: campaign.quietHours }}
      />
    </>
  );
}

function AuditTrail({ campaignId }: { campaignId: string }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const audit = useQuery({ queryKey: keys.campaignAudit(campaignId), queryFn: () => ok(api.GET("/v1/admin/campaigns/{campaignId}/audit", { params: { path: { campaignId } } })) });
  return (
    <>
      <ApiErrorAlert error={audit.error} />
      <Table<CampaignAuditEntry>
        aria-label={t("campaign.auditTrail")}
        size="small"
        loading={audit.isLoading}
        rowKey={(e) => `${e.at}-${e.action}-${e.who}`}
        dataSource={audit.data?.items ?? []}
        pagination={false}
        columns={[
          { title: t("audit.at"), dataIndex: "at", render: (at: string) => formatInstant(at, i18n.language) },
          { title: t("audit.who"), dataIndex: "who" },
          { title: t("audit.action"), dataIndex: "action", render: (a: string) => t(`transitions.${a}.past`, { defaultValue: a }) },
          { title: t("audit.change"), key: "change", render: (_, e) => `${e.before ? t(`status.${e.before}`) : "—"} → ${t(`status.${e.after}`)}` },
          { title: t("audit.version"), dataIndex: "version" },
          { title: t("audit.note"), dataIndex: "note" },
        ]}
      />
    </>
  );
}
