/** Fire a campaign now (manual and scheduled ones), and follow the run as it pages through the audience. */
import { ThunderboltOutlined } from "@ant-design/icons";
import { useQuery } from "@tanstack/react-query";
import { Button, Descriptions, Input, Modal, Progress, Space, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { StatusTag } from "../../components/StatusTag";
import { useApi } from "../../lib/api";
import type { Campaign, RunView } from "../../lib/types";
import { useSave } from "../../lib/useSave";

const FINISHED = new Set(["completed", "cancelled_not_active"]);

export function runPercent(run: RunView): number {
  if (FINISHED.has(run.status)) return 100;
  return run.total > 0 ? Math.min(99, Math.floor((run.processed / run.total) * 100)) : 0;
}

export function FirePanel({ campaign }: { campaign: Campaign }) {
  const { t } = useTranslation();
  const api = useApi();
  const [open, setOpen] = useState(false);
  const [customers, setCustomers] = useState("");
  const [runId, setRunId] = useState<string | null>(null);
  const fire = useSave<string[], RunView>({
    save: (ids, key) =>
      ok(api.POST("/v1/admin/campaigns/{campaignId}/fire", { params: { path: { campaignId: campaign.campaignId } }, body: ids.length ? { customerIds: ids } : {}, ...withIdempotencyKey(key) })),
    onSuccess: (run) => {
      setRunId(run.runId);
      setOpen(false);
    },
  });
  const run = useQuery({
    queryKey: ["campaign", campaign.campaignId, "run", runId],
    enabled: !!runId,
    queryFn: () => ok(api.GET("/v1/admin/campaigns/{campaignId}/runs/{runId}", { params: { path: { campaignId: campaign.campaignId, runId: runId ?? "" } } })),
    refetchInterval: (query) => (query.state.data && FINISHED.has(query.state.data.status) ? false : 1000),
  });
  const ids = customers.split(/[\s,]+/).filter(Boolean);
  return (
    <>
      <Button icon={<ThunderboltOutlined />} onClick={() => setOpen(true)} data-testid="action-fire">
        {t("fire.button")}
      </Button>
      <Modal
        open={open}
        title={t("fire.title", { name: campaign.name })}
        okText={t("fire.confirm")}
        cancelText={t("common.cancel")}
        confirmLoading={fire.isPending}
        onOk={() => fire.mutate(ids)}
        onCancel={() => setOpen(false)}
        destroyOnHidden
      >
        <Typography.Paragraph>{t("fire.explain")}</Typography.Paragraph>
        <ApiErrorAlert error={fire.error} />
        <label htmlFor="fire-customers">{t("fire.customers")}</label>
        <Input.TextArea id="fire-customers" rows={3} value={customers} onChange={(e) => setCustomers(e.target.value)} placeholder="c-001, c-002" />
      </Modal>
      {run.data && (
        <Space orientation="vertical" style={{ width: "100%", marginTop: 16 }} aria-live="polite" data-testid="run-progress">
          <Progress percent={runPercent(run.data)} status={run.data.status === "completed" ? "success" : "active"} aria-label={t("fire.progress")} />
          <Descriptions
            size="small"
            column={3}
            items={[
              { key: "status", label: t("fire.status"), children: <StatusTag status={run.data.status} /> },
              { key: "processed", label: t("fire.processed"), children: `${run.data.processed} / ${run.data.total}` },
              { key: "granted", label: t("fire.granted"), children: run.data.granted },
            ]}
          />
        </Space>
      )}
    </>
  );
}
