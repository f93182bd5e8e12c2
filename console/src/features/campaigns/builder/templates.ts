/**
 * The parameters each ready-made campaign (GET /v1/admin/campaign-templates) takes. The API lists
 * the templates with a description but not their parameters (`FromTemplate.parameters` is a free
 * object), so the console knows them from loyalty/campaigns/templates.py; an API gap, in the report.
 */

export type ParameterKind = "money" | "integer" | "text" | "mccs" | "couponTemplate" | "channel" | "currency";

export interface TemplateParameter {
  name: string;
  kind: ParameterKind;
  required: boolean;
  /** Bounds the template's campaign will hold it to (its schema's), checked as the operator types. */
  min?: number;
  max?: number;
}

const notice: TemplateParameter[] = [
  { name: "notifyTemplateId", kind: "text", required: false },
  { name: "channel", kind: "channel", required: false },
];
const coupon: TemplateParameter[] = [
  { name: "couponTemplateId", kind: "couponTemplate", required: true },
  { name: "couponCostMinor", kind: "money", required: false, min: 0 },
];
const pointsOrCoupon: TemplateParameter[] = [
  { name: "points", kind: "integer", required: false, min: 1 },
  { name: "pointsCostCentre", kind: "text", required: false },
  { name: "couponTemplateId", kind: "couponTemplate", required: false },
];

export const TEMPLATE_PARAMETERS: Record<string, TemplateParameter[]> = {
  spend_x_get_coupon: [
    { name: "minAmountMinor", kind: "money", required: true, min: 0 },
    { name: "currency", kind: "currency", required: false },
    { name: "mccs", kind: "mccs", required: false },
    { name: "perCustomer", kind: "integer", required: false, min: 1 },
    ...coupon,
    ...notice,
  ],
  first_salary_gift: [{ name: "minAmountMinor", kind: "money", required: false, min: 0 }, ...coupon, ...notice],
  deposit_increase_gift: [
    { name: "minIncreaseMinor", kind: "money", required: true, min: 0 },
    { name: "points", kind: "integer", required: true, min: 1 },
    { name: "pointsCostCentre", kind: "text", required: true },
    { name: "costMinor", kind: "money", required: false, min: 0 },
  ],
  birthday_gift: [{ name: "expression", kind: "text", required: false }, ...coupon, ...notice],
  check_in_streak: [
    { name: "days", kind: "integer", required: true, min: 2, max: 366 },
    { name: "perMonth", kind: "integer", required: false, min: 1 },
    ...pointsOrCoupon,
  ],
  card_spend_task: [
    { name: "count", kind: "integer", required: true, min: 2, max: 1000 },
    { name: "withinDays", kind: "integer", required: false, min: 1, max: 366 },
    { name: "minAmountMinor", kind: "money", required: true, min: 0 },
    { name: "mccs", kind: "mccs", required: false },
    ...pointsOrCoupon,
  ],
  mgm_referral: [
    { name: "inviteeCouponTemplateId", kind: "couponTemplate", required: true },
    { name: "inviterPoints", kind: "integer", required: true, min: 1 },
    { name: "pointsCostCentre", kind: "text", required: true },
    { name: "minAmountMinor", kind: "money", required: false, min: 0 },
    { name: "withinDays", kind: "integer", required: false, min: 1, max: 366 },
    { name: "inviterPerMonth", kind: "integer", required: false, min: 1 },
  ],
};

export function parametersOf(template: string | undefined): TemplateParameter[] {
  return (template && TEMPLATE_PARAMETERS[template]) || [];
}
