/** A coupon template of any of the eight kinds, checked against TemplateCreate as the operator types. */
import { useQueryClient } from "@tanstack/react-query";
import { App, Button, Card, Form, Input, InputNumber, Radio, Select, Space, Typography } from "antd";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { ok, withIdempotencyKey } from "../../api/client";
import { ApiErrorAlert } from "../../components/ApiErrorAlert";
import { PageTitle } from "../../components/PageTitle";
import { InstantInput, ListInput, MoneyInput } from "../../forms/fields";
import { useValidatedForm } from "../../forms/useValidatedForm";
import { validator } from "../../forms/validator";
import { useApi } from "../../lib/api";
import type { CouponTemplate, CouponTemplateCreate } from "../../lib/types";
import { useSave } from "../../lib/useSave";
import { blankCoupon, COUPON_KINDS, couponBody, type CouponValues } from "./couponModel";

function BenefitFields({ kind }: { kind: string | undefined }) {
  const { t } = useTranslation();
  const currency = (
    <Form.Item name={["benefit", "currency"]} label={t("builder.currency")}>
      <Select style={{ width: 120 }} options={["CNY", "HKD", "USD"].map((c) => ({ value: c, label: c }))} />
    </Form.Item>
  );
  switch (kind) {
    case "fixed_amount":
    case "red_packet":
      return (
        <Space wrap size="large">
          <Form.Item name={["benefit", "amountMinor"]} label={t("coupons.amount")}>
            <MoneyInput />
          </Form.Item>
          {currency}
        </Space>
      );
    case "threshold":
      return (
        <Space wrap size="large">
          <Form.Item name={["benefit", "thresholdMinor"]} label={t("coupons.threshold")}>
            <MoneyInput />
          </Form.Item>
          <Form.Item name={["benefit", "amountMinor"]} label={t("coupons.amountOff")}>
            <MoneyInput />
          </Form.Item>
          {currency}
        </Space>
      );
    case "percentage":
      return (
        <Space wrap size="large">
          <Form.Item name={["benefit", "percentOff"]} label={t("coupons.percentOff")}>
            <InputNumber min={1} max={100} suffix="%" />
          </Form.Item>
          <Form.Item name={["benefit", "maxDiscountMinor"]} label={t("coupons.maxDiscount")}>
            <MoneyInput />
          </Form.Item>
          {currency}
        </Space>
      );
    case "random_amount":
      return (
        <Space wrap size="large">
          <Form.Item name={["benefit", "minMinor"]} label={t("coupons.min")}>
            <MoneyInput />
          </Form.Item>
          <Form.Item name={["benefit", "maxMinor"]} label={t("coupons.max")}>
            <MoneyInput />
          </Form.Item>
          {currency}
        </Space>
      );
    case "gift":
      return (
        <Space wrap size="large">
          <Form.Item name={["benefit", "sku"]} label={t("coupons.sku")}>
            <Input style={{ width: 220 }} />
          </Form.Item>
          <Form.Item name={["benefit", "fulfilment"]} label={t("coupons.fulfilment")}>
            <Radio.Group optionType="button" options={["physical", "virtual"].map((f) => ({ value: f, label: t(`coupons.fulfilments.${f}`) }))} />
          </Form.Item>
        </Space>
      );
    case "voucher_code":
      return (
        <Form.Item name={["benefit", "provider"]} label={t("coupons.provider")} extra={t("coupons.providerHint")}>
          <Input style={{ width: 320 }} />
        </Form.Item>
      );
    case "bundle":
      return (
        <Form.Item name={["benefit", "parts"]} label={t("coupons.parts")} extra={t("coupons.partsHint")}>
          <ListInput />
        </Form.Item>
      );
    default:
      return null;
  }
}

export default function CouponFormPage() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<CouponValues>();
  const initial = blankCoupon();
  const problemsOf = useCallback((values: CouponValues) => validator.validate("TemplateCreate", couponBody(values)), []);
  const validated = useValidatedForm(form, initial, problemsOf);
  const save = useSave<CouponTemplateCreate, CouponTemplate>({
    save: (body, key) => ok(api.POST("/v1/admin/coupon-templates", { body, ...withIdempotencyKey(key) })),
    onSuccess: (template) => {
      void queryClient.invalidateQueries({ queryKey: ["coupon-templates"] });
      message.success(t("coupons.created", { id: template.templateId }));
      navigate(`/coupons/${template.templateId}`);
    },
  });
  const submit = () => {
    if (validated.revealAll()) return;
    const body = couponBody(form.getFieldsValue(true) as CouponValues);
    save.mutate(body, { onError: (error) => validated.takeApiError(error, body) });
  };
  const kind = validated.values.benefit?.kind;
  const payer = validated.values.funding?.payer;
  const validity = validated.values.validity?.type;
  return (
    <>
      <PageTitle title={t("coupons.new")}>{t("coupons.new")}</PageTitle>
      <ApiErrorAlert error={save.error} extra={validated.general} />
      <Card>
        <Form<CouponValues> form={form} layout="vertical" initialValues={initial} onValuesChange={validated.onValuesChange} aria-label={t("coupons.new")}>
          <Space wrap size="large">
            <Form.Item name="templateId" label={t("coupons.id")}>
              <Input style={{ width: 260 }} />
            </Form.Item>
            <Form.Item name="name" label={t("coupons.name")}>
              <Input style={{ width: 360 }} />
            </Form.Item>
          </Space>
          <Form.Item name={["benefit", "kind"]} label={t("coupons.kind")}>
            <Select style={{ width: 240 }} options={COUPON_KINDS.map((k) => ({ value: k, label: t(`couponKinds.${k}`) }))} />
          </Form.Item>
          <BenefitFields kind={kind} />
          <Typography.Title level={2} style={{ fontSize: 16 }}>
            {t("coupons.stockAndValidity")}
          </Typography.Title>
          <Space wrap size="large">
            <Form.Item name="totalStock" label={t("coupons.totalStock")}>
              <InputNumber min={0} />
            </Form.Item>
            <Form.Item name="dailyStock" label={t("coupons.dailyStock")}>
              <InputNumber min={1} />
            </Form.Item>
            <Form.Item name="shards" label={t("coupons.shards")} extra={t("coupons.shardsHint")}>
              <InputNumber min={1} max={64} />
            </Form.Item>
          </Space>
          <Form.Item name={["validity", "type"]} label={t("coupons.validity")}>
            <Radio.Group optionType="button" options={[{ value: "days_after_claim", label: t("coupons.daysAfterClaim") }, { value: "window", label: t("coupons.fixedWindow") }]} />
          </Form.Item>
          {validity === "window" ? (
            <Space wrap size="large">
              <Form.Item name={["validity", "validFrom"]} label={t("coupons.validFrom")}>
                <InstantInput />
              </Form.Item>
              <Form.Item name={["validity", "validUntil"]} label={t("coupons.validUntil")}>
                <InstantInput />
              </Form.Item>
            </Space>
          ) : (
            <Form.Item name={["validity", "days"]} label={t("coupons.days")}>
              <InputNumber min={1} max={3660} />
            </Form.Item>
          )}
          <Space wrap size="large">
            <Form.Item name={["limits", "perCustomerLifetime"]} label={t("coupons.perCustomerLifetime")}>
              <InputNumber min={1} />
            </Form.Item>
            <Form.Item name={["limits", "perCustomerDaily"]} label={t("coupons.perCustomerDaily")}>
              <InputNumber min={1} />
            </Form.Item>
          </Space>
          <Typography.Title level={2} style={{ fontSize: 16 }}>
            {t("coupons.eligibility")}
          </Typography.Title>
          <Space wrap size="large">
            <Form.Item name={["eligibility", "tiers"]} label={t("builder.tiers")}>
              <ListInput />
            </Form.Item>
            <Form.Item name={["eligibility", "segments"]} label={t("builder.segments")}>
              <ListInput />
            </Form.Item>
            <Form.Item name={["eligibility", "tags"]} label={t("coupons.tags")}>
              <ListInput />
            </Form.Item>
            <Form.Item name={["eligibility", "channels"]} label={t("coupons.channels")}>
              <ListInput />
            </Form.Item>
            <Form.Item name={["eligibility", "maxAbuseRiskScore"]} label={t("coupons.maxAbuseRisk")}>
              <InputNumber min={0} max={100} />
            </Form.Item>
          </Space>
          <Typography.Title level={2} style={{ fontSize: 16 }}>
            {t("coupons.funding")}
          </Typography.Title>
          <Form.Item name={["funding", "payer"]} label={t("coupons.payer")}>
            <Radio.Group optionType="button" options={[{ value: "bank", label: t("coupons.payerBank") }, { value: "merchant", label: t("coupons.payerMerchant") }]} />
          </Form.Item>
          <Space wrap size="large">
            {payer === "merchant" ? (
              <Form.Item name={["funding", "merchantId"]} label={t("coupons.merchantId")}>
                <Input style={{ width: 220 }} />
              </Form.Item>
            ) : (
              <Form.Item name={["funding", "costCentre"]} label={t("coupons.costCentre")}>
                <Input style={{ width: 220 }} />
              </Form.Item>
            )}
            <Form.Item name={["funding", "unitCostMinor"]} label={t("coupons.unitCost")}>
              <MoneyInput />
            </Form.Item>
            <Form.Item name={["funding", "currency"]} label={t("builder.currency")}>
              <Select style={{ width: 120 }} options={["CNY", "HKD", "USD"].map((c) => ({ value: c, label: c }))} />
            </Form.Item>
          </Space>
          <Button type="primary" onClick={submit} loading={save.isPending} disabled={save.isPending || validated.blocked} data-testid="save-coupon">
            {t("common.save")}
          </Button>
        </Form>
      </Card>
    </>
  );
}
