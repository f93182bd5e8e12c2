/** The coupon-template form's logic: values mirror TemplateCreate; the body keeps only the chosen kind's fields. */
import { compact } from "../../features/campaigns/builder/builderModel";
import type { CouponKind, CouponTemplateCreate } from "../../lib/types";

type Loose = Record<string, unknown>;

export const COUPON_KINDS: CouponKind[] = ["fixed_amount", "threshold", "percentage", "random_amount", "red_packet", "gift", "voucher_code", "bundle"];

export const BENEFIT_FIELDS: Record<CouponKind, string[]> = {
  fixed_amount: ["kind", "amountMinor", "currency"],
  threshold: ["kind", "thresholdMinor", "amountMinor", "currency"],
  percentage: ["kind", "percentOff", "maxDiscountMinor", "currency"],
  random_amount: ["kind", "minMinor", "maxMinor", "currency"],
  red_packet: ["kind", "amountMinor", "currency"],
  gift: ["kind", "sku", "fulfilment"],
  voucher_code: ["kind", "provider"],
  bundle: ["kind", "parts"],
};

const VALIDITY_FIELDS: Record<string, string[]> = {
  days_after_claim: ["type", "days"],
  window: ["type", "validFrom", "validUntil"],
};

export interface CouponValues {
  templateId?: string;
  name?: string;
  benefit?: Loose & { kind?: CouponKind };
  totalStock?: number;
  dailyStock?: number | null;
  shards?: number;
  validity?: Loose & { type?: string };
  limits?: Loose;
  eligibility?: Loose;
  funding?: Loose & { payer?: "bank" | "merchant" };
  redemption?: Loose;
}

function pick(object: Loose | undefined, fields: string[] | undefined): Loose | undefined {
  if (!object) return undefined;
  return fields ? Object.fromEntries(Object.entries(object).filter(([k]) => fields.includes(k))) : object;
}

export function blankCoupon(): CouponValues {
  return {
    benefit: { kind: "fixed_amount", currency: "CNY" },
    totalStock: 1000,
    shards: 4,
    validity: { type: "days_after_claim", days: 30 },
    limits: { perCustomerLifetime: 1 },
    eligibility: { tiers: [], segments: [], tags: [], channels: [] },
    funding: { payer: "bank", unitCostMinor: 0, currency: "CNY" },
    redemption: { merchants: [], channels: [] },
  };
}

/** The body of POST /v1/admin/coupon-templates. */
export function couponBody(values: CouponValues): CouponTemplateCreate {
  const kind = values.benefit?.kind;
  const { payer, ...funding } = values.funding ?? {};
  // The payer is the bank (a cost centre) or a merchant: only the chosen one is sent.
  if (payer === "merchant") delete funding.costCentre;
  else delete funding.merchantId;
  const body = {
    templateId: values.templateId,
    name: values.name,
    benefit: pick(values.benefit, kind ? BENEFIT_FIELDS[kind] : undefined),
    totalStock: values.totalStock,
    dailyStock: values.dailyStock ?? undefined,
    shards: values.shards,
    validity: pick(values.validity, VALIDITY_FIELDS[String(values.validity?.type)]),
    limits: values.limits,
    eligibility: values.eligibility,
    funding,
    redemption: values.redemption,
  };
  return compact(body) as unknown as CouponTemplateCreate;
}

/** What an operator may do to a template in each status (the API refuses the rest). */
export function nextStatuses(status: string): ("active" | "paused" | "ended")[] {
  switch (status) {
    case "draft":
      return ["active", "ended"];
    case "active":
      return ["paused", "ended"];
    case "paused":
      return ["active", "ended"];
    default:
      return [];
  }
}
