/** The member-level ladder (会员等级): levels by growth value, with their benefits; edited as one document. */
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Form, Input, InputNumber, Space, Table, Tag, Typography } from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { ApiError, ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { useValidatedForm } from "../../forms/useValidatedForm";
import { validator } from "../../forms/validator";
import { compact } from "../campaigns/builder/builderModel";
import { useApi } from "../../lib/api";
import type { TierLadder } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { SectionHeading } from "../../components/SectionHeading";

export function LadderTab() {
  const { t } = useTranslation();
  const api = useApi();
  const [editing, setEditing] = useState(false);
  const ladder = useQuery({
    queryKey: ["point-tiers"],
    queryFn: async () => {
      try {
        return await ok(api.GET("/v1/admin/point-tiers"));
      } catch (error) {
        // No ladder yet is a state of the programme, not a failure.
        if (error instanceof ApiError && error.code === "TIERS_NOT_SET") return null;
        throw error;
      }
    },
  });
  if (editing) return <LadderForm initial={ladder.data ?? { tiers: [{ tierId: "standard", name: "Standard", minGrowth: 0, benefits: [] }] }} onDone={() => setEditing(false)} />;
  return (
    <Card
      title={<SectionHeading>{t("points.ladder")}</SectionHeading>}
      extra={<Button onClick={() => setEditing(true)}>{t(ladder.data ? "points.editLadder" : "points.setLadder")}</Button>}
    >
      <ApiErrorAlert error={ladder.error} />
      {ladder.data === null && <Typography.Paragraph>{t("points.noLadder")}</Typography.Paragraph>}
      {ladder.data && (
        <>
          <Typography.Paragraph type="secondary">
            {t("points.ladderRules", { months: ladder.data.qualifyingMonths ?? 12, grace: ladder.data.downgradeGraceDays ?? 30, version: ladder.data.version, by: ladder.data.updatedBy })}
          </Typography.Paragraph>
          <Table
            aria-label={t("points.ladder")}
            size="small"
            rowKey="tierId"
            pagination={false}
            dataSource={ladder.data.tiers}
            columns={[
              { title: t("points.tierId"), dataIndex: "tierId" },
              { title: t("points.tierName"), dataIndex: "name" },
              { title: t("points.minGrowth"), dataIndex: "minGrowth" },
              {
                title: t("points.benefits"),
                key: "benefits",
                render: (_, tier) => (tier.benefits ?? []).map((b) => <Tag key={b.templateId + b.cadence}>{`${b.templateId} · ${t(`points.cadence.${b.cadence}`)}`}</Tag>),
              },
            ]}
          />
        </>
      )}
    </Card>
  );
}

function LadderForm({ initial, onDone }: { initial: TierLadder; onDone: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<TierLadder>();
  const start: TierLadder = { tiers: initial.tiers, qualifyingMonths: initial.qualifyingMonths ?? 12, downgradeGraceDays: initial.downgradeGraceDays ?? 30 };
  const problemsOf = useCallback((values: TierLadder) => validator.validate("TierLadder", compact(values)), []);
  const validated = useValidatedForm(form, start, problemsOf);
  const save = useSave<TierLadder, unknown>({
    save: (body, key) => ok(api.PUT("/v1/admin/point-tiers", { body, ...withIdempotencyKey(key) })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["point-tiers"] });
      message.success(t("points.ladderSaved"));
      onDone();
    },
  });
  const submit = () => {
    if (validated.revealAll()) return;
    const body = compact(form.getFieldsValue(true) as TierLadder);
    save.mutate(body, { onError: (error) => validated.takeApiError(error, body) });
  };
  return (
    <Card title={<SectionHeading>{t("points.editLadder")}</SectionHeading>}>
      <ApiErrorAlert error={save.error} extra={validated.general} />
      <Form<TierLadder> form={form} layout="vertical" initialValues={start} onValuesChange={validated.onValuesChange} aria-label={t("points.editLadder")}>
        <Space wrap>
          <Form.Item name="qualifyingMonths" label={t("points.qualifyingMonths")}>
            <InputNumber min={1} max={36} />
          </Form.Item>
          <Form.Item name="downgradeGraceDays" label={t("points.graceDays")}>
            <InputNumber min={0} max={366} />
          </Form.Item>
        </Space>
        <Form.List name="tiers">
          {(fields, { add, remove }) => (
            <>
              {fields.map((field) => (
                <Space key={field.key} align="start" wrap>
                  <Form.Item name={[field.name, "tierId"]} label={t("points.tierId")}>
                    <Input style={{ width: 140 }} />
                  </Form.Item>
                  <Form.Item name={[field.name, "name"]} label={t("points.tierName")}>
                    <Input style={{ width: 180 }} />
                  </Form.Item>
                  <Form.Item name={[field.name, "minGrowth"]} label={t("points.minGrowth")}>
                    <InputNumber min={0} />
                  </Form.Item>
                  <Button type="text" icon={<DeleteOutlined />} aria-label={t("points.removeTier", { n: field.name + 1 })} onClick={() => remove(field.name)} style={{ marginTop: 30 }} />
                </Space>
              ))}
              <Button icon={<PlusOutlined />} onClick={() => add({ tierId: "", name: "", minGrowth: 0, benefits: [] })} style={{ marginBottom: 16 }}>
                {t("points.addTier")}
              </Button>
            </>
          )}
        </Form.List>
        <Space style={{ display: "flex" }}>
          <Button onClick={onDone}>{t("common.cancel")}</Button>
          <Button type="primary" onClick={submit} loading={save.isPending} disabled={validated.blocked}>
            {t("common.save")}
          </Button>
        </Space>
      </Form>
    </Card>
  );
}
