/** Points held for review (abnormal accrual): release them to the customer or reject them, with a note. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, Card, Input, Modal, Space, Table, Typography } from "antd";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { useApi } from "../../lib/api";
import { formatInstant } from "../../lib/format";
import type { RiskHold } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { SectionHeading } from "../../components/SectionHeading";

type Decision = "release" | "reject";

export function HoldsTab() {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const [deciding, setDeciding] = useState<{ hold: RiskHold; decision: Decision } | null>(null);
  const holds = useQuery({ queryKey: ["risk-holds"], queryFn: () => ok(api.GET("/v1/admin/points/risk-holds")) });
  return (
    <Card title={<SectionHeading>{t("points.holds")}</SectionHeading>}>
      <ApiErrorAlert error={holds.error} />
      <Table<RiskHold>
        aria-label={t("points.holds")}
        size="small"
        rowKey="holdId"
        loading={holds.isLoading}
        dataSource={holds.data?.items ?? []}
        locale={{ emptyText: t("points.noHolds") }}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: "max-content" }}
        columns={[
          { title: t("points.heldAt"), dataIndex: "heldAt", render: (v: string) => formatInstant(v, i18n.language) },
          { title: t("customers.id"), dataIndex: "customerId", render: (id: string) => <Link to={`/customers/${id}`}>{id}</Link> },
          { title: t("builder.points"), dataIndex: "points" },
          { title: t("points.reason"), key: "reason", render: (_, h) => t(`points.reasons.${h.reason}`, { observed: h.observed, limit: h.limit }) },
          { title: t("points.event"), dataIndex: "eventType" },
          {
            title: t("common.actions"),
            key: "decide",
            render: (_, hold) => (
              <Space>
                <Button size="small" type="primary" onClick={() => setDeciding({ hold, decision: "release" })}>
                  {t("points.release")}
                </Button>
                <Button size="small" danger onClick={() => setDeciding({ hold, decision: "reject" })}>
                  {t("points.reject")}
                </Button>
              </Space>
            ),
          },
        ]}
      />
      {deciding && <DecisionModal hold={deciding.hold} decision={deciding.decision} onClose={() => setDeciding(null)} />}
    </Card>
  );
}

function DecisionModal({ hold, decision, onClose }: { hold: RiskHold; decision: Decision; onClose: () => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const [note, setNote] = useState("");
  const save = useSave<string, unknown>({
    save: (text, key) => ok(api.POST("/v1/admin/points/risk-holds/{holdId}/decision", { params: { path: { holdId: hold.holdId } }, body: { decision, note: text }, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["risk-holds"] });
      onClose();
    },
  });
  return (
    <Modal
      open
      title={t(`points.${decision}Title`, { points: hold.points, customer: hold.customerId })}
      okText={t(`points.${decision}`)}
      okButtonProps={{ danger: decision === "reject", disabled: !note.trim() }}
      cancelText={t("common.cancel")}
      confirmLoading={save.isPending}
      onOk={() => save.mutate(note.trim())}
      onCancel={onClose}
    >
      <ApiErrorAlert error={save.error} />
      <Typography.Paragraph>{t(`points.${decision}Explain`)}</Typography.Paragraph>
      <label htmlFor="hold-note">{t("transitions.noteRequired")}</label>
      <Input.TextArea id="hold-note" rows={3} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} />
    </Modal>
  );
}
