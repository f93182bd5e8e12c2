/** The reward actions of a variant (or of a referral's inviter): a list, each of one kind with its own fields. */
import { DeleteOutlined, PlusOutlined } from "@ant-design/icons";
import { Button, Card, Form, Input, InputNumber, Select, Space } from "antd";
import { useTranslation } from "react-i18next";

import { MoneyInput } from "../../../forms/fields";
import { useCouponTemplates } from "../../../lib/queries";

export function CouponTemplateSelect(props: { value?: string; onChange?: (v: string) => void; id?: string; "aria-label"?: string }) {
  const templates = useCouponTemplates();
  return (
    <Select
      {...props}
      showSearch
      style={{ minWidth: 280 }}
      loading={templates.isLoading}
      options={(templates.data ?? []).map((tpl) => ({ value: tpl.templateId, label: `${tpl.name} (${tpl.templateId}, ${tpl.status})` }))}
    />
  );
}

/** `name` is the list's path in the form: ["variants", 0, "actions"] or ["trigger", "inviterActions"]. */
export function ActionFields({ name, label }: { name: (string | number)[]; label: string }) {
  const { t } = useTranslation();
  return (
    <Form.List name={name}>
      {(fields, { add, remove }) => (
        <Space orientation="vertical" style={{ width: "100%" }}>
          {fields.map((field) => (
            <Card
              key={field.key}
              size="small"
              title={`${label} ${field.name + 1}`}
              extra={
                <Button
                  type="text"
                  icon={<DeleteOutlined />}
                  aria-label={t("builder.removeAction", { n: field.name + 1 })}
                  onClick={() => remove(field.name)}
                />
              }
            >
              <Form.Item name={[field.name, "type"]} label={t("builder.actionType")} rules={[{ required: true, message: t("validation.required") }]}>
                <Select
                  style={{ width: 220 }}
                  options={["issue_coupon", "award_points", "notify"].map((type) => ({ value: type, label: t(`actions.${type}`) }))}
                />
              </Form.Item>
              <Form.Item noStyle shouldUpdate>
                {(form) => {
                  const type = form.getFieldValue([...name, field.name, "type"]) as string | undefined;
                  if (type === "issue_coupon")
                    return (
                      <>
                        <Form.Item name={[field.name, "templateId"]} label={t("builder.couponTemplate")}>
                          <CouponTemplateSelect />
                        </Form.Item>
                        <Form.Item name={[field.name, "costMinor"]} label={t("builder.costPerGrant")}>
                          <MoneyInput />
                        </Form.Item>
                      </>
                    );
                  if (type === "award_points")
                    return (
                      <>
                        <Form.Item name={[field.name, "points"]} label={t("builder.points")}>
                          <InputNumber min={1} />
                        </Form.Item>
                        <Form.Item name={[field.name, "costCentre"]} label={t("builder.pointsCostCentre")}>
                          <Input style={{ width: 220 }} />
                        </Form.Item>
                        <Form.Item name={[field.name, "validityDays"]} label={t("builder.validityDays")}>
                          <InputNumber min={1} max={3660} />
                        </Form.Item>
                        <Form.Item name={[field.name, "costMinor"]} label={t("builder.costPerGrant")}>
                          <MoneyInput />
                        </Form.Item>
                      </>
                    );
                  if (type === "notify")
                    return (
                      <>
                        <Form.Item name={[field.name, "channel"]} label={t("builder.channel")}>
                          <Select style={{ width: 160 }} options={["push", "sms", "wecom"].map((c) => ({ value: c, label: t(`channels.${c}`) }))} />
                        </Form.Item>
                        <Form.Item name={[field.name, "templateId"]} label={t("builder.notifyTemplate")}>
                          <Input style={{ width: 220 }} />
                        </Form.Item>
                      </>
                    );
                  return null;
                }}
              </Form.Item>
            </Card>
          ))}
          <Button icon={<PlusOutlined />} onClick={() => add({ type: "issue_coupon", costMinor: 0 })}>
            {t("builder.addAction")}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}
