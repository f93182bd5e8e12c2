/** Earn rules, a form for a new one, and the trial calculation (积分试算): try an event, see which rules award what. */
import { PlusOutlined } from "@ant-design/icons";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Col, Form, Input, InputNumber, Modal, Radio, Row, Select, Space, Table, Tag } from "antd";
import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { YesNo } from "../../components/YesNo";
import { ListInput, MoneyInput } from "../../forms/fields";
import { useValidatedForm } from "../../forms/useValidatedForm";
import { validator } from "../../forms/validator";
import { useApi } from "../../lib/api";
import type { Schema } from "../../api/client";
import type { PointRule, QuoteView, RuleDefinition } from "../../lib/types";

type QuoteRequest = Schema<"QuoteRequest">;
import { useSave } from "../../lib/useSave";
import { quoteDetail, ruleBody, type QuoteValues, type RuleValues } from "./pointsModel";
import { SectionHeading } from "../../components/SectionHeading";

const EVENT_TYPES = ["CardTransactionPosted", "DepositBalanceChanged", "SalaryCredited", "CheckInCompleted", "MonthlyAumComputed", "LoginCompleted"] as const;

export function RulesTab() {
  const { t } = useTranslation();
  const api = useApi();
  const [creating, setCreating] = useState(false);
  const rules = useQuery({ queryKey: ["point-rules"], queryFn: () => ok(api.GET("/v1/admin/point-rules")) });
  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={14}>
        <Card
          title={<SectionHeading>{t("points.rules")}</SectionHeading>}
          extra={
            <Button icon={<PlusOutlined />} onClick={() => setCreating(true)}>
              {t("points.newRule")}
            </Button>
          }
        >
          <ApiErrorAlert error={rules.error} />
          <Table<PointRule>
            aria-label={t("points.rules")}
            size="small"
            rowKey="ruleId"
            loading={rules.isLoading}
            dataSource={rules.data?.items ?? []}
            pagination={{ pageSize: 10, hideOnSinglePage: true }}
            scroll={{ x: "max-content" }}
            columns={[
              { title: t("points.ruleName"), dataIndex: "name" },
              { title: t("points.event"), dataIndex: "eventType", render: (e: string) => t(`events.${e}`, { defaultValue: e }) },
              { title: t("points.award"), key: "award", render: (_, r) => t(`points.awardModes.${r.award.mode}`) },
              { title: t("points.category"), dataIndex: "category", render: (c: string) => t(`points.categories.${c}`) },
              { title: t("points.active"), dataIndex: "active", render: (a: boolean | undefined) => <YesNo value={a} /> },
              { title: t("campaign.version"), dataIndex: "version" },
            ]}
          />
        </Card>
      </Col>
      <Col xs={24} xl={10}>
        <QuotePanel />
      </Col>
      <RuleModal open={creating} onClose={() => setCreating(false)} />
    </Row>
  );
}

function RuleModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<RuleValues>();
  const initial: RuleValues = { eventType: "CardTransactionPosted", category: "transaction", award: { mode: "per_amount", points: 1, perAmountMinor: 1000, rounding: "down" }, validity: { type: "end_of_month", monthsLater: 12 } };
  const problemsOf = useCallback((values: RuleValues) => validator.validate("RuleDefinition", ruleBody(values)), []);
  const validated = useValidatedForm(form, initial, problemsOf);
  const save = useSave<RuleDefinition, PointRule>({
    save: (body, key) => ok(api.POST("/v1/admin/point-rules", { body, ...withIdempotencyKey(key) })),
    onSuccess: (rule) => {
      void queryClient.invalidateQueries({ queryKey: ["point-rules"] });
      message.success(t("points.ruleSaved", { id: rule.ruleId }));
      onClose();
    },
  });
  const mode = validated.values.award?.mode;
  const validity = validated.values.validity?.type;
  return (
    <Modal
      open={open}
      title={t("points.newRule")}
      width={720}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={save.isPending}
      okButtonProps={{ disabled: validated.blocked }}
      onCancel={onClose}
      onOk={() => {
        if (validated.revealAll()) return;
        const body = ruleBody(form.getFieldsValue(true) as RuleValues);
        save.mutate(body, { onError: (error) => validated.takeApiError(error, body) });
      }}
      destroyOnHidden
    >
      <ApiErrorAlert error={save.error} extra={validated.general} />
      <Form<RuleValues> form={form} layout="vertical" initialValues={initial} onValuesChange={validated.onValuesChange} aria-label={t("points.newRule")}>
        <Space wrap>
          <Form.Item name="ruleId" label={t("points.ruleId")}>
            <Input style={{ width: 220 }} />
          </Form.Item>
          <Form.Item name="name" label={t("points.ruleName")}>
            <Input style={{ width: 320 }} />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name="eventType" label={t("points.event")}>
            <Select style={{ width: 240 }} options={EVENT_TYPES.map((e) => ({ value: e, label: t(`events.${e}`, { defaultValue: e }) }))} />
          </Form.Item>
          <Form.Item name="category" label={t("points.category")}>
            <Select style={{ width: 160 }} options={["growth", "transaction", "campaign", "asset"].map((c) => ({ value: c, label: t(`points.categories.${c}`) }))} />
          </Form.Item>
          <Form.Item name="costCentre" label={t("coupons.costCentre")}>
            <Input style={{ width: 180 }} />
          </Form.Item>
        </Space>
        <Form.Item name={["award", "mode"]} label={t("points.award")}>
          <Radio.Group optionType="button" options={["per_amount", "fixed"].map((m) => ({ value: m, label: t(`points.awardModes.${m}`) }))} />
        </Form.Item>
        <Space wrap>
          <Form.Item name={["award", "points"]} label={t("builder.points")}>
            <InputNumber min={1} />
          </Form.Item>
          {mode === "per_amount" && (
            <Form.Item name={["award", "perAmountMinor"]} label={t("points.perAmount")}>
              <MoneyInput />
            </Form.Item>
          )}
        </Space>
        <Space wrap>
          <Form.Item name={["conditions", "mccs"]} label={t("builder.mccs")}>
            <ListInput />
          </Form.Item>
          <Form.Item name={["conditions", "channels"]} label={t("coupons.channels")}>
            <ListInput />
          </Form.Item>
          <Form.Item name={["conditions", "minAmountMinor"]} label={t("builder.minAmount")}>
            <MoneyInput />
          </Form.Item>
        </Space>
        <Form.Item name={["validity", "type"]} label={t("points.validity")}>
          <Radio.Group optionType="button" options={["end_of_month", "days", "fixed_date"].map((v) => ({ value: v, label: t(`points.validities.${v}`) }))} />
        </Form.Item>
        {validity === "end_of_month" && (
          <Form.Item name={["validity", "monthsLater"]} label={t("points.monthsLater")}>
            <InputNumber min={0} max={120} />
          </Form.Item>
        )}
        {validity === "days" && (
          <Form.Item name={["validity", "days"]} label={t("coupons.days")}>
            <InputNumber min={1} max={3660} />
          </Form.Item>
        )}
        {validity === "fixed_date" && (
          <Form.Item name={["validity", "date"]} label={t("points.date")}>
            <Input type="date" style={{ width: 180 }} />
          </Form.Item>
        )}
        <Space wrap>
          <Form.Item name={["caps", "perCustomerDaily"]} label={t("points.capDaily")}>
            <InputNumber min={0} />
          </Form.Item>
          <Form.Item name={["caps", "perCustomerMonthly"]} label={t("points.capMonthly")}>
            <InputNumber min={0} />
          </Form.Item>
        </Space>
      </Form>
    </Modal>
  );
}

function QuotePanel() {
  const { t } = useTranslation();
  const api = useApi();
  const [form] = Form.useForm<QuoteValues>();
  const [result, setResult] = useState<QuoteView | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (values: QuoteValues) => {
    setBusy(true);
    setFailure(null);
    try {
      setResult(await ok(api.POST("/v1/points/quote", { body: { eventType: values.eventType as QuoteRequest["eventType"], detail: quoteDetail(values, new Date()) } })));
    } catch (error) {
      setFailure(error);
      setResult(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={<SectionHeading>{t("points.quote")}</SectionHeading>}>
      <Form<QuoteValues>
        form={form}
        layout="vertical"
        initialValues={{ eventType: "CardTransactionPosted", customerId: "c-001", amountMinor: 25800, currency: "CNY", mcc: "5812", channel: "pos", merchantId: "m-001" }}
        onFinish={(values) => void run(values)}
        aria-label={t("points.quote")}
      >
        <Space wrap>
          <Form.Item name="eventType" label={t("points.event")}>
            <Select style={{ width: 240 }} options={EVENT_TYPES.map((e) => ({ value: e, label: t(`events.${e}`, { defaultValue: e }) }))} />
          </Form.Item>
          <Form.Item name="customerId" label={t("customers.id")} rules={[{ required: true, message: t("validation.required") }]}>
            <Input style={{ width: 140 }} />
          </Form.Item>
        </Space>
        <Space wrap>
          <Form.Item name="amountMinor" label={t("points.amount")}>
            <MoneyInput />
          </Form.Item>
          <Form.Item name="mcc" label="MCC">
            <Input style={{ width: 90 }} />
          </Form.Item>
          <Form.Item name="channel" label={t("points.channel")}>
            <Input style={{ width: 100 }} />
          </Form.Item>
          <Form.Item name="merchantId" label={t("coupons.merchantId")}>
            <Input style={{ width: 120 }} />
          </Form.Item>
        </Space>
        <Button type="primary" htmlType="submit" loading={busy} data-testid="run-quote">
          {t("points.tryIt")}
        </Button>
      </Form>
      <div aria-live="polite" style={{ marginTop: 16 }}>
        <ApiErrorAlert error={failure} />
        {result && (
          <>
            <p data-testid="quote-total">{t("points.quoteTotal", { total: result.total, growth: result.growth })}</p>
            <Table
              aria-label={t("points.quote")}
              size="small"
              rowKey="ruleId"
              pagination={false}
              dataSource={result.rules}
              locale={{ emptyText: t("points.noRuleMatched") }}
              columns={[
                { title: t("points.ruleId"), dataIndex: "ruleId" },
                { title: t("builder.points"), dataIndex: "points" },
                { title: t("points.beforeCaps"), dataIndex: "beforeCaps" },
                { title: t("points.category"), dataIndex: "category", render: (c: string) => t(`points.categories.${c}`) },
              ]}
            />
          </>
        )}
      </div>
    </Card>
  );
}
