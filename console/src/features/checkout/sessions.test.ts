import { describe, expect, it } from "vitest";

import { fundersOf, isPaid, kept, lineRows, lookupOf, lookupParams, refundDiscount, refundedLines, type Refund, type Session } from "./sessions";

/** docs/checkout.md's worked example: two coupons, points, then one bag of beans refunded. */
const REFUND: Refund = {
  refundId: "rf-1",
  at: "2026-12-07T10:00:00Z",
  lines: [{ lineId: "l1", quantity: 1 }],
  refundedMinor: 8_900,
  coupons: [
    { couponId: "cpn-a", discountMinor: 1_812, returned: false },
    { couponId: "cpn-b", discountMinor: 0, returned: false },
  ],
  points: { points: 3_544, valueMinor: 3_544, funders: [{ costCentre: "cc-retail", points: 3_544 }] },
  cashMinor: 3_544,
};

const SESSION = {
  sessionId: "cs-1",
  customerId: "c-001",
  state: "partly_refunded",
  createdAt: "2026-12-07T09:00:00Z",
  lapsesAt: "2026-12-07T09:15:00Z",
  order: {
    merchantId: "m-coffee",
    channel: "app",
    currency: "CNY",
    lines: [
      { lineId: "l1", sku: "beans", category: "food", unitPriceMinor: 8_900, quantity: 2 },
      { lineId: "l2", sku: "mug", category: "gift", unitPriceMinor: 4_500, quantity: 1 },
      { lineId: "l3", sku: "latte", category: "drink", unitPriceMinor: 1_250, quantity: 3 },
    ],
  },
  currency: "CNY",
  orderTotalMinor: 26_050,
  coupons: [
    {
      couponId: "cpn-a",
      templateId: "tpl-threshold",
      discountMinor: 3_000,
      lines: [
        { lineId: "l1", discountMinor: 2_050 },
        { lineId: "l2", discountMinor: 518 },
        { lineId: "l3", discountMinor: 432 },
      ],
      funding: { costCentre: "cc-marketing" },
      returnPolicy: "on_full_refund",
      returned: false,
    },
    {
      couponId: "cpn-b",
      templateId: "tpl-percent",
      discountMinor: 1_906,
      lines: [
        { lineId: "l1", discountMinor: 1_575 },
        { lineId: "l3", discountMinor: 331 },
      ],
      funding: { merchantId: "m-coffee" },
      returnPolicy: "never",
      returned: false,
    },
  ],
  discountMinor: 4_906,
  points: { points: 10_572, valueMinor: 10_572, funders: [{ costCentre: "cc-retail", points: 10_572 }] },
  payableMinor: 10_572,
  policyVersion: 2,
  paymentId: "pay-1",
  confirmedAt: "2026-12-07T09:05:00Z",
  refunded: { refundedMinor: 8_900, discountMinor: 1_812, points: 3_544, cashMinor: 3_544 },
  refunds: [REFUND],
} as Session;

describe("checkout inspector helpers", () => {
  it("reads the lookup a link names, and names only what was given", () => {
    expect(lookupOf(new URLSearchParams("customer=%20c-001%20"))).toEqual({ customer: "c-001", session: "" });
    expect(lookupOf(new URLSearchParams("session=cs-1"))).toEqual({ customer: "", session: "cs-1" });
    expect(lookupOf(new URLSearchParams("customer=&session=%20"))).toBeNull();
    expect(lookupParams({ customer: " c-001 ", session: "" }).toString()).toBe("customer=c-001");
    expect(lookupParams({ customer: "c-001", session: "cs-1" }).toString()).toBe("customer=c-001&session=cs-1");
    expect(lookupParams({}).toString()).toBe("");
  });

  it("puts each coupon's discount on the lines it covers", () => {
    const rows = lineRows(SESSION);
    expect(rows.map((r) => [r.lineId, r.amountMinor, r.discounts, r.discountMinor])).toEqual([
      ["l1", 17_800, { "cpn-a": 2_050, "cpn-b": 1_575 }, 3_625],
      ["l2", 4_500, { "cpn-a": 518 }, 518],
      ["l3", 3_750, { "cpn-a": 432, "cpn-b": 331 }, 763],
    ]);
    // The lines' discounts add up to the session's
    expect(rows.reduce((sum, r) => sum + r.discountMinor, 0)).toBe(SESSION.discountMinor);
  });

  it("names who funds a coupon", () => {
    expect(fundersOf(SESSION.coupons[0]!)).toEqual({ costCentre: "cc-marketing", merchantId: null });
    expect(fundersOf(SESSION.coupons[1]!)).toEqual({ costCentre: null, merchantId: "m-coffee" });
    expect(fundersOf({ ...SESSION.coupons[0]!, funding: {} })).toEqual({ costCentre: null, merchantId: null });
  });

  it("tells what a refund gave back and what it refunded", () => {
    expect(refundDiscount(REFUND)).toBe(1_812);
    expect(refundedLines(REFUND)).toBe("l1 × 1");
    expect(refundedLines({ ...REFUND, lines: [{ lineId: "l1", quantity: 1 }, { lineId: "l3", quantity: 2 }] })).toBe("l1 × 1, l3 × 2");
    expect(refundedLines({ ...REFUND, lines: null, amountMinor: 5_000 })).toBeNull();
  });

  it("keeps what the refunds did not give back", () => {
    expect(kept(SESSION)).toEqual({ valueMinor: 17_150, discountMinor: 3_094, points: 7_028, cashMinor: 7_028 });
  });

  it("tells a paid session from one that never was", () => {
    expect(["locked", "confirmed", "partly_refunded", "refunded", "cancelled", "lapsed"].filter((s) => isPaid(s as Session["state"]))).toEqual([
      "confirmed",
      "partly_refunded",
      "refunded",
    ]);
  });
});
