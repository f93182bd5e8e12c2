/** The builder's steps: each one a group of fields whose names are the body's paths. */
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import { useQueries } from "@tanstack/react-query";
import { Alert, Button, Card, Col, Form, Input, InputNumber, Radio, Row, Select, Space, Switch, Typography } from "antd";
import { useTranslation } from "react-i18next";

import { ok } from "../../../api/client";
import { InstantInput, ListInput, MoneyInput } from "../../../forms/fields";
import { useApi } from "../../../lib/api";
import { formatNumber } from "../../../lib/format";
import { useCampaignTemplates, useSegments } from "../../../lib/queries";
import { NotAvailable } from "../../../components/NotAvailable";
import { ActionFields, CouponTemplateSelect } from "./ActionFields";
import type { BuilderValues } from "./builderModel";
import { parametersOf, type TemplateParameter } from "./templates";

const EVENT_TYPES = [
  "CardTransactionPosted",
  "SalaryCredited",
  "LoanDrawdown",
  "AccountOpened",
  "LargeBalanceMovement",
  "DepositBalanceChanged",
  "CheckInCompleted",
  "TierChanged",
  "SegmentEntered",
  "ScoreChanged",
];

const PATTERN_EXAMPLE = `{\n  "channel": ["pos", "online"],\n  "merchantId": [{ "prefix": "m-" }]\n}`;

export function SourceStep() {
  const { t } = useTranslation();
  const templates = useCampaignTemplates();
  return (
    <>
      <Form.Item name="source" label={t("builder.source")}>
        <Radio.Group
          options={[
            { value: "template", label: t("builder.fromTemplate") },
            { value: "blank", label: t("builder.blank") },
          ]}
          optionType="button"
        />
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.source !== b.source}>
        {(form) =>
          form.getFieldValue("source") === "template" && (
            <Form.Item name="template" label={t("builder.template")}>
              <Radio.Group style={{ width: "100%" }}>
                <Row gutter={[12, 12]}>
                  {(templates.data?.items ?? []).map((tpl) => (
                    <Col key={tpl.template} xs={24} md={12}>
                      <Card size="small" style={{ height: "100%" }}>
                        <Radio value={tpl.template} data-testid={`template-${tpl.template}`}>
                          <strong>{t(`templates.${tpl.template}.name`, { defaultValue: tpl.template })}</strong>
                        </Radio>
                        <Typography.Paragraph type="secondary" style={{ margin: "8px 0 0" }}>
                          {t(`templates.${tpl.template}.description`, { defaultValue: String(tpl.description ?? "") })}
                        </Typography.Paragraph>
                      </Card>
                    </Col>
                  ))}
                </Row>
              </Radio.Group>
            </Form.Item>
          )
        }
      </Form.Item>
    </>
  );
}

export function BasicsStep({ editing }: { editing: boolean }) {
  const { t } = useTranslation();
  return (
    <>
      <Form.Item name="campaignId" label={t("builder.campaignId")} extra={t("builder.campaignIdHint")}>
        <Input style={{ width: 320 }} disabled={editing} />
      </Form.Item>
      <Form.Item name="name" label={t("builder.name")}>
        <Input style={{ maxWidth: 480 }} />
      </Form.Item>
      <Space wrap size="large">
        <Form.Item name={["window", "startsAt"]} label={t("builder.startsAt")}>
          <InstantInput />
        </Form.Item>
        <Form.Item name={["window", "endsAt"]} label={t("builder.endsAt")}>
          <InstantInput />
        </Form.Item>
      </Space>
      <Form.Item name="fundingCostCentre" label={t("builder.fundingCostCentre")} extra={t("builder.fundingCostCentreHint")}>
        <Input style={{ width: 320 }} />
      </Form.Item>
    </>
  );
}

/** The input for one template parameter; Form.Item's value, onChange and id pass through to it. */
function ParameterInput({ parameter, ...field }: { parameter: TemplateParameter; value?: never; onChange?: never; id?: string }) {
  const { t } = useTranslation();
  const props = field as Record<string, unknown>;
  switch (parameter.kind) {
    case "money":
      return <MoneyInput {...props} />;
    case "integer":
      return <InputNumber {...props} min={parameter.min} max={parameter.max} />;
    case "mccs":
      return <ListInput {...props} placeholder={t("builder.mccsHint")} />;
    case "couponTemplate":
      return <CouponTemplateSelect {...props} />;
    case "channel":
      return <Select {...props} allowClear style={{ width: 160 }} options={["push", "sms", "wecom"].map((c) => ({ value: c, label: t(`channels.${c}`) }))} />;
    case "currency":
      return <Select {...props} style={{ width: 120 }} options={["CNY", "HKD", "USD"].map((c) => ({ value: c, label: c }))} />;
    default:
      return <Input {...props} style={{ width: 320 }} />;
  }
}

export function TriggerStep() {
  const { t } = useTranslation();
  return (
    <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.source !== b.source || a.template !== b.template || a.trigger?.type !== b.trigger?.type}>
      {(form) => {
        const values = form.getFieldsValue(true) as BuilderValues;
        if (values.source === "template") {
          return (
            <>
              <Typography.Paragraph type="secondary">
                {t("builder.parametersHint", { template: t(`templates.${values.template ?? ""}.name`, { defaultValue: values.template ?? "" }) })}
              </Typography.Paragraph>
              {parametersOf(values.template).map((parameter) => (
                <Form.Item
                  key={parameter.name}
                  name={["parameters", parameter.name]}
                  label={t(`parameters.${parameter.name}`, { defaultValue: parameter.name })}
                  required={parameter.required}
                >
                  <ParameterInput parameter={parameter} />
                </Form.Item>
              ))}
            </>
          );
        }
        const type = values.trigger?.type;
        return (
          <>
            <Form.Item name={["trigger", "type"]} label={t("builder.triggerType")}>
              <Radio.Group optionType="button" options={["event", "schedule", "manual", "referral"].map((v) => ({ value: v, label: t(`triggers.${v}`) }))} />
            </Form.Item>
            {type === "event" && (
              <>
                <Form.Item name={["trigger", "eventType"]} label={t("builder.eventType")}>
                  <Select style={{ width: 280 }} options={EVENT_TYPES.map((e) => ({ value: e, label: t(`events.${e}`, { defaultValue: e }) }))} />
                </Form.Item>
                <Space wrap size="large">
                  <Form.Item name={["trigger", "minAmountMinor"]} label={t("builder.minAmount")}>
                    <MoneyInput />
                  </Form.Item>
                  <Form.Item name={["trigger", "mccs"]} label={t("builder.mccs")}>
                    <ListInput placeholder={t("builder.mccsHint")} />
                  </Form.Item>
                </Space>
                <Form.Item
                  name={["trigger", "pattern"]}
                  label={t("builder.pattern")}
                  extra={
                    <Space orientation="vertical" size={0}>
                      <span>{t("builder.patternHint")}</span>
                      <Button size="small" type="link" style={{ padding: 0 }} onClick={() => form.setFieldValue(["trigger", "pattern"], PATTERN_EXAMPLE)}>
                        {t("builder.patternExample")}
                      </Button>
                    </Space>
                  }
                >
                  <Input.TextArea rows={5} spellCheck={false} style={{ fontFamily: "monospace", maxWidth: 560 }} />
                </Form.Item>
                <Space wrap size="large">
                  <Form.Item name={["trigger", "target", "count"]} label={t("builder.targetCount")}>
                    <InputNumber min={2} max={1000} />
                  </Form.Item>
                  <Form.Item name={["trigger", "target", "withinDays"]} label={t("builder.targetDays")}>
                    <InputNumber min={1} max={366} />
                  </Form.Item>
                  <Form.Item name={["trigger", "streakDays"]} label={t("builder.streakDays")}>
                    <InputNumber min={2} max={366} />
                  </Form.Item>
                </Space>
              </>
            )}
            {type === "schedule" && (
              <Space wrap size="large">
                <Form.Item name={["trigger", "expression"]} label={t("builder.expression")} extra={t("builder.expressionHint")}>
                  <Input style={{ width: 280 }} placeholder="cron(0 9 * * ? *)" />
                </Form.Item>
                <Form.Item name={["trigger", "timezone"]} label={t("builder.timezone")}>
                  <Input style={{ width: 200 }} placeholder="Asia/Shanghai" />
                </Form.Item>
              </Space>
            )}
            {type === "manual" && <Alert type="info" showIcon title={t("builder.manualHint")} />}
            {type === "referral" && (
              <>
                <Space wrap size="large">
                  <Form.Item name={["trigger", "minAmountMinor"]} label={t("builder.minAmount")}>
                    <MoneyInput />
                  </Form.Item>
                  <Form.Item name={["trigger", "withinDays"]} label={t("builder.withinDays")}>
                    <InputNumber min={1} max={366} />
                  </Form.Item>
                </Space>
                <Typography.Title level={3} style={{ fontSize: 15 }}>
                  {t("builder.inviterActions")}
                </Typography.Title>
                <ActionFields name={["trigger", "inviterActions"]} label={t("builder.action")} />
              </>
            )}
          </>
        );
      }}
    </Form.Item>
  );
}

function SegmentEstimates({ segmentIds }: { segmentIds: string[] }) {
  const { t, i18n } = useTranslation();
  const api = useApi();
  const estimates = useQueries({
    queries: segmentIds.map((segmentId) => ({
      queryKey: ["segment", segmentId, "estimate"],
      queryFn: () => ok(api.GET("/v1/admin/segments/{segmentId}/estimate", { params: { path: { segmentId } } })),
    })),
  });
  if (segmentIds.length === 0) return null;
  return (
    <ul aria-live="polite" data-testid="segment-estimates">
      {estimates.map((estimate, index) => (
        <li key={segmentIds[index]}>
          {segmentIds[index]}:{" "}
          {estimate.data
            ? t(estimate.data.exact ? "segments.exactSize" : "segments.estimatedSize", { count: estimate.data.estimatedMembers, n: formatNumber(estimate.data.estimatedMembers, i18n.language) })
            : estimate.isError
              ? t("common.unavailable")
              : t("common.loading")}
        </li>
      ))}
    </ul>
  );
}

export function AudienceStep() {
  const { t } = useTranslation();
  const segments = useSegments();
  return (
    <>
      <Form.Item name={["audience", "segments"]} label={t("builder.segments")}>
        <Select mode="multiple" style={{ minWidth: 320 }} options={(segments.data ?? []).map((s) => ({ value: s.segmentId, label: `${s.name} (${s.segmentId})` }))} />
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.audience?.segments !== b.audience?.segments}>
        {(form) => <SegmentEstimates segmentIds={(form.getFieldValue(["audience", "segments"]) as string[] | undefined) ?? []} />}
      </Form.Item>
      <Space wrap size="large">
        <Form.Item name={["audience", "tagsAny"]} label={t("builder.tagsAny")}>
          <ListInput />
        </Form.Item>
        <Form.Item name={["audience", "tagsAll"]} label={t("builder.tagsAll")}>
          <ListInput />
        </Form.Item>
        <Form.Item name={["audience", "tiers"]} label={t("builder.tiers")}>
          <ListInput />
        </Form.Item>
        <Form.Item name={["audience", "branchIds"]} label={t("builder.branchIds")}>
          <ListInput />
        </Form.Item>
      </Space>
      <Space wrap size="large">
        <Form.Item name={["audience", "birthdayToday"]} label={t("builder.birthdayToday")} valuePropName="checked">
          <Switch />
        </Form.Item>
        <Form.Item name={["audience", "requireProfile"]} label={t("builder.requireProfile")} valuePropName="checked">
          <Switch />
        </Form.Item>
      </Space>
      <NotAvailable what={t("builder.liveEstimate")} route="POST /v1/admin/segments/estimate" />
    </>
  );
}

export function VariantsStep() {
  const { t } = useTranslation();
  return (
    <>
      <Form.Item name="controlPercent" label={t("builder.controlPercent")} extra={t("builder.controlHint")}>
        <InputNumber min={0} max={100} suffix="%" />
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.source !== b.source}>
        {(form) =>
          form.getFieldValue("source") === "template" ? (
            <Alert type="info" showIcon title={t("builder.variantsByTemplate")} />
          ) : (
            <Form.List name="variants">
              {(fields, { add, remove }) => (
                <Space orientation="vertical" style={{ width: "100%" }}>
                  {fields.map((field) => (
                    <Card
                      key={field.key}
                      title={t("builder.variant", { n: field.name + 1 })}
                      extra={
                        fields.length > 1 && (
                          <Button type="text" icon={<DeleteOutlined />} aria-label={t("builder.removeVariant", { n: field.name + 1 })} onClick={() => remove(field.name)} />
                        )
                      }
                    >
                      <Space wrap size="large">
                        <Form.Item name={[field.name, "variantId"]} label={t("builder.variantId")}>
                          <Input style={{ width: 200 }} />
                        </Form.Item>
                        <Form.Item name={[field.name, "weightPercent"]} label={t("builder.weightPercent")}>
                          <InputNumber min={1} max={100} suffix="%" />
                        </Form.Item>
                      </Space>
                      <ActionFields name={["variants", field.name, "actions"]} label={t("builder.action")} />
                    </Card>
                  ))}
                  {fields.length < 5 && (
                    <Button icon={<PlusOutlined />} onClick={() => add({ variantId: `v${fields.length + 1}`, weightPercent: 0, actions: [{ type: "issue_coupon" }] })}>
                      {t("builder.addVariant")}
                    </Button>
                  )}
                </Space>
              )}
            </Form.List>
          )
        }
      </Form.Item>
    </>
  );
}

export function BudgetStep() {
  const { t } = useTranslation();
  return (
    <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.budget?.unit !== b.budget?.unit}>
      {(form) => {
        const money = form.getFieldValue(["budget", "unit"]) === "minor";
        const amount = money ? <MoneyInput /> : <InputNumber min={0} />;
        return (
          <>
            <Form.Item name={["budget", "unit"]} label={t("builder.budgetUnit")}>
              <Radio.Group
                optionType="button"
                options={[
                  { value: "rewards", label: t("builder.unitRewards") },
                  { value: "minor", label: t("builder.unitMoney") },
                ]}
                onChange={(event) => {
                  if (event.target.value === "minor" && !form.getFieldValue(["budget", "currency"])) form.setFieldValue(["budget", "currency"], "CNY");
                }}
              />
            </Form.Item>
            {money && (
              <Form.Item name={["budget", "currency"]} label={t("builder.currency")}>
                <Select style={{ width: 120 }} options={["CNY", "HKD", "USD"].map((c) => ({ value: c, label: c }))} />
              </Form.Item>
            )}
            <Space wrap size="large">
              <Form.Item name={["budget", "total"]} label={t("builder.budgetTotal")}>
                {amount}
              </Form.Item>
              <Form.Item name={["budget", "daily"]} label={t("builder.budgetDaily")}>
                {money ? <MoneyInput /> : <InputNumber min={0} />}
              </Form.Item>
              <Form.Item name={["budget", "weekly"]} label={t("builder.budgetWeekly")}>
                {money ? <MoneyInput /> : <InputNumber min={0} />}
              </Form.Item>
              <Form.Item name={["budget", "monthly"]} label={t("builder.budgetMonthly")}>
                {money ? <MoneyInput /> : <InputNumber min={0} />}
              </Form.Item>
            </Space>
            <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.source !== b.source}>
              {(inner) =>
                inner.getFieldValue("source") === "blank" && (
                  <Form.List name={["budget", "byAttribute"]}>
                    {(fields, { add, remove }) => (
                      <Space orientation="vertical">
                        <Typography.Text strong>{t("builder.byAttribute")}</Typography.Text>
                        {fields.map((field) => (
                          <Space key={field.key} align="start">
                            <Form.Item name={[field.name, "attribute"]} label={t("builder.attribute")}>
                              <Input placeholder="branchId" style={{ width: 180 }} />
                            </Form.Item>
                            <Form.Item name={[field.name, "limit"]} label={t("builder.attributeLimit")}>
                              <InputNumber min={0} />
                            </Form.Item>
                            <Button type="text" icon={<DeleteOutlined />} aria-label={t("builder.removeAttribute")} onClick={() => remove(field.name)} />
                          </Space>
                        ))}
                        {fields.length < 3 && (
                          <Button icon={<PlusOutlined />} onClick={() => add({ attribute: "branchId", limit: 100 })}>
                            {t("builder.addAttribute")}
                          </Button>
                        )}
                      </Space>
                    )}
                  </Form.List>
                )
              }
            </Form.Item>
          </>
        );
      }}
    </Form.Item>
  );
}

export function CapsStep() {
  const { t } = useTranslation();
  return (
    <>
      <Space wrap size="large">
        {(["lifetime", "daily", "weekly", "monthly", "yearly"] as const).map((period) => (
          <Form.Item key={period} name={["frequencyCaps", period]} label={t(`builder.cap.${period}`)}>
            <InputNumber min={1} />
          </Form.Item>
        ))}
      </Space>
      <Form.Item name="quietHoursOn" label={t("builder.quietHours")} valuePropName="checked">
        <Switch />
      </Form.Item>
      <Form.Item noStyle shouldUpdate={(a: BuilderValues, b: BuilderValues) => a.quietHoursOn !== b.quietHoursOn}>
        {(form) =>
          form.getFieldValue("quietHoursOn") && (
            <Space wrap size="large">
              <Form.Item name={["quietHours", "start"]} label={t("builder.quietStart")}>
                <Input type="time" style={{ width: 140 }} />
              </Form.Item>
              <Form.Item name={["quietHours", "end"]} label={t("builder.quietEnd")}>
                <Input type="time" style={{ width: 140 }} />
              </Form.Item>
            </Space>
          )
        }
      </Form.Item>
    </>
  );
}
