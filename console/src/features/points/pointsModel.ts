/** The points forms' logic: a rule's body from its form, and a trial event's detail. */
import { compact } from "../campaigns/builder/builderModel";
import type { RuleDefinition } from "../../lib/types";

type Loose = Record<string, unknown>;

export interface RuleValues {
  ruleId?: string;
  name?: string;
  eventType?: string;
  category?: string;
  costCentre?: string;
  award?: Loose & { mode?: string };
  conditions?: Loose;
  validity?: Loose & { type?: string };
  caps?: Loose;
}

const AWARD_FIELDS: Record<string, string[]> = { per_amount: ["mode", "points", "perAmountMinor", "rounding"], fixed: ["mode", "points"], tiered: ["mode", "tiers"] };
const VALIDITY_FIELDS: Record<string, string[]> = { end_of_month: ["type", "monthsLater"], days: ["type", "days"], fixed_date: ["type", "date"] };

function pick(object: Loose | undefined, fields: string[] | undefined): Loose | undefined {
  if (!object) return undefined;
  return fields ? Object.fromEntries(Object.entries(object).filter(([k]) => fields.includes(k))) : object;
}

export function ruleBody(values: RuleValues): RuleDefinition {
  const caps = Object.fromEntries(Object.entries(values.caps ?? {}).filter(([, v]) => v !== null && v !== undefined));
  return compact({
    ruleId: values.ruleId,
    name: values.name,
    eventType: values.eventType,
    category: values.category,
    costCentre: values.costCentre,
    award: pick(values.award, AWARD_FIELDS[String(values.award?.mode)]),
    conditions: values.conditions,
    validity: pick(values.validity, VALIDITY_FIELDS[String(values.validity?.type)]),
    caps,
  }) as unknown as RuleDefinition;
}

export interface QuoteValues {
  eventType: string;
  customerId: string;
  amountMinor?: number;
  currency?: string;
  mcc?: string;
  channel?: string;
  merchantId?: string;
}

/** A made-up event of the kind chosen, as core banking would publish it (the quote changes nothing). */
export function quoteDetail(values: QuoteValues, now: Date): Loose {
  const at = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  const base = { customerId: values.customerId };
  switch (values.eventType) {
    case "CardTransactionPosted":
      return { ...base, transactionId: `trial-${now.getTime()}`, amountMinor: values.amountMinor ?? 0, currency: values.currency ?? "CNY", merchantId: values.merchantId ?? "m-trial", mcc: values.mcc ?? "5999", channel: values.channel ?? "pos", postedAt: at };
    case "SalaryCredited":
      return { ...base, transactionId: `trial-${now.getTime()}`, employerId: "e-trial", amountMinor: values.amountMinor ?? 0, currency: values.currency ?? "CNY", creditedAt: at };
    case "DepositBalanceChanged":
      return { ...base, accountId: "a-trial", balanceMinor: values.amountMinor ?? 0, previousBalanceMinor: 0, currency: values.currency ?? "CNY", changedAt: at };
    case "MonthlyAumComputed":
      return { ...base, month: at.slice(0, 7), averageAumMinor: values.amountMinor ?? 0, currency: values.currency ?? "CNY" };
    case "CheckInCompleted":
      return { ...base, businessDate: at.slice(0, 10), checkedInAt: at };
    default:
      return { ...base, channel: values.channel ?? "app", loggedInAt: at };
  }
}
