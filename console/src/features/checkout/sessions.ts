/** The checkout inspector's pure helpers (docs/checkout.md, "Sessions" and "Refunds"). */
import type { Schema } from "../../api/client";

export type Session = Schema<"SessionView">;
export type SessionCoupon = Schema<"SessionCouponView">;
export type Refund = Schema<"RefundView">;
export type SessionState = Session["state"];

/** What the screen looks up: a customer's sessions, or one session by its id. */
export interface Lookup {
  customer: string;
  session: string;
}

/** The lookup a link names (`?customer=c-001`, `&session=cs-…`), blanks trimmed away; null when it names neither. */
export function lookupOf(params: URLSearchParams): Lookup | null {
  const customer = params.get("customer")?.trim() ?? "";
  const session = params.get("session")?.trim() ?? "";
  return customer || session ? { customer, session } : null;
}

/** The query of a lookup, for the link: only what was given. */
export function lookupParams(values: { customer?: string | null; session?: string | null }): URLSearchParams {
  const next = new URLSearchParams();
  const customer = values.customer?.trim();
  const session = values.session?.trim();
  if (customer) next.set("customer", customer);
  if (session) next.set("session", session);
  return next;
}

export interface LineRow {
  lineId: string;
  sku: string;
  category: string;
  unitPriceMinor: number;
  quantity: number;
  /** The line's value: its unit price times its quantity. */
  amountMinor: number;
  /** Each coupon's discount on this line, by coupon id (the coupons that do not cover it are absent). */
  discounts: Record<string, number>;
  /** Every coupon's discount on this line. */
  discountMinor: number;
}

/** One row per order line, with each coupon's part of its discount on that line. */
export function lineRows(session: Session): LineRow[] {
  return session.order.lines.map((line) => {
    const discounts: Record<string, number> = {};
    for (const coupon of session.coupons)
      for (const part of coupon.lines) if (part.lineId === line.lineId) discounts[coupon.couponId] = (discounts[coupon.couponId] ?? 0) + part.discountMinor;
    return {
      lineId: line.lineId,
      sku: line.sku,
      category: line.category,
      unitPriceMinor: line.unitPriceMinor,
      quantity: line.quantity,
      amountMinor: line.unitPriceMinor * line.quantity,
      discounts,
      discountMinor: Object.values(discounts).reduce((sum, value) => sum + value, 0),
    };
  });
}

/** Who pays for a coupon's discount: a cost centre of the bank, a merchant, both, or nobody named. */
export function fundersOf(coupon: SessionCoupon): { costCentre: string | null; merchantId: string | null } {
  return { costCentre: coupon.funding.costCentre || null, merchantId: coupon.funding.merchantId || null };
}

/** The discounts a refund gave back, all coupons together. */
export function refundDiscount(refund: Refund): number {
  return refund.coupons.reduce((sum, coupon) => sum + coupon.discountMinor, 0);
}

/** What a refund names: its lines and quantities (`l1 × 1`), else null (it refunded an amount). */
export function refundedLines(refund: Refund): string | null {
  if (!refund.lines?.length) return null;
  return refund.lines.map((line) => `${line.lineId} × ${line.quantity}`).join(", ");
}

/** What a paid session still keeps once its refunds are taken away: the order's value, the discounts, the points and the cash. */
export function kept(session: Session): { valueMinor: number; discountMinor: number; points: number; cashMinor: number } {
  return {
    valueMinor: session.orderTotalMinor - session.refunded.refundedMinor,
    discountMinor: session.discountMinor - session.refunded.discountMinor,
    points: session.points.points - session.refunded.points,
    cashMinor: session.payableMinor - session.refunded.cashMinor,
  };
}

/** Whether the session took a payment (its coupons redeemed and its points spent). */
export function isPaid(state: SessionState): boolean {
  return state === "confirmed" || state === "partly_refunded" || state === "refunded";
}
