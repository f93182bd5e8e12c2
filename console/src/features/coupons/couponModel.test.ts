import schemas from "virtual:openapi-schemas";
import { describe, expect, it } from "vitest";

import { SchemaValidator } from "../../forms/schemaValidator";
import { blankCoupon, COUPON_KINDS, couponBody, nextStatuses, type CouponValues } from "./couponModel";

const validator = new SchemaValidator(schemas);

const BENEFITS: Record<string, Record<string, unknown>> = {
  fixed_amount: { amountMinor: 1000, currency: "CNY" },
  threshold: { thresholdMinor: 10000, amountMinor: 2000, currency: "CNY" },
  percentage: { percentOff: 10, maxDiscountMinor: 5000, currency: "CNY" },
  random_amount: { minMinor: 100, maxMinor: 900, currency: "CNY" },
  red_packet: { amountMinor: 888, currency: "CNY" },
  gift: { sku: "umbrella", fulfilment: "physical" },
  voucher_code: { provider: "Coffee Co" },
  bundle: { parts: ["tpl-a", "tpl-b"] },
};

describe("the coupon-template form's body", () => {
  it.each(COUPON_KINDS)("is a valid TemplateCreate for %s, carrying only that kind's fields", (kind) => {
    const base = blankCoupon();
    // The form keeps what another kind left behind: the body must not.
    const values: CouponValues = { ...base, templateId: `tpl-${kind}`, name: kind, benefit: { amountMinor: 1, sku: "x", kind, ...BENEFITS[kind] }, funding: { payer: "bank", costCentre: "cc", unitCostMinor: 100, currency: "CNY" } };
    const body = couponBody(values);
    expect(body.benefit).toEqual({ kind, ...BENEFITS[kind] });
    expect(validator.validate("TemplateCreate", body)).toEqual([]);
  });

  it("sends the payer chosen, bank or merchant", () => {
    const values: CouponValues = { ...blankCoupon(), templateId: "t", name: "n", funding: { payer: "merchant", costCentre: "cc", merchantId: "m-1", unitCostMinor: 0, currency: "CNY" } };
    expect(couponBody(values).funding).toEqual({ merchantId: "m-1", unitCostMinor: 0, currency: "CNY" });
  });

  it("offers the status changes the API allows", () => {
    expect(nextStatuses("draft")).toEqual(["active", "ended"]);
    expect(nextStatuses("ended")).toEqual([]);
  });
});
