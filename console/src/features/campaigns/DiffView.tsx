import { useQuery } from "@tanstack/react-query";
import { Alert, Skeleton, Table, Typography } from "antd";
import { useTranslation } from "react-i18next";

import { ok } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { useApi } from "../../lib/api";
import type { AuditEntry, Campaign } from "../../lib/types";
import { diffCampaigns, lastApproved, type Change } from "./diff";

const MAX_PAGES = 5;

/** The submitted version against the last approved one (read from the audit log's approvals). */
export function DiffView({ campaign }: { campaign: Campaign }) {
  const { t } = useTranslation();
  const api = useApi();
  const approved = useQuery({
    queryKey: ["campaign", campaign.campaignId, "last-approved"],
    queryFn: async () => {
      let cursor: string | undefined;
      const entries: AuditEntry[] = [];
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await ok(api.GET("/v1/admin/audit", { params: { query: { resource: `campaigns/${campaign.campaignId}`, limit: 200, ...(cursor ? { cursor } : {}) } } }));
        entries.push(...answer.items);
        const found = lastApproved(entries);
        if (found || !answer.nextCursor) return found;
        cursor = answer.nextCursor;
      }
      return lastApproved(entries);
    },
  });
  if (approved.isLoading) return <Skeleton active />;
  if (approved.error) return <ApiErrorAlert error={approved.error} />;
  if (!approved.data) return <Alert type="info" showIcon title={t("diff.firstVersion")} data-testid="diff-first" />;
  const changes = diffCampaigns(approved.data, campaign);
  return (
    <>
      <Typography.Paragraph type="secondary">{t("diff.against", { version: approved.data.version, by: approved.data.approvedBy ?? "—" })}</Typography.Paragraph>
      <Table<Change>
        aria-label={t("diff.title")}
        size="small"
        rowKey="path"
        pagination={false}
        dataSource={changes}
        locale={{ emptyText: t("diff.none") }}
        columns={[
          { title: t("diff.field"), dataIndex: "path", render: (path: string) => <code>{path}</code> },
          { title: t("diff.before"), dataIndex: "before", render: (v: unknown) => <del>{v === undefined ? "—" : JSON.stringify(v)}</del> },
          { title: t("diff.after"), dataIndex: "after", render: (v: unknown) => <ins>{v === undefined ? "—" : JSON.stringify(v)}</ins> },
        ]}
      />
    </>
  );
}
