/**
 * The campaign builder's logic, apart from its screens: the form's values mirror the request body
 * field for field (so a problem's path is the form field's name, for the schema's problems and the
 * API's alike); this module turns them into the body, checks them, and says which step a field is on.
 */
import type { Campaign, CampaignRequest, FromTemplate } from "../../../lib/types";
import type { Path, Problem, SchemaValidator } from "../../../forms/schemaValidator";
import { parametersOf } from "./templates";

export type Source = "blank" | "template";

type Loose = Record<string, unknown>;

export interface BuilderValues {
  source: Source;
  template?: string;
  campaignId?: string;
  name?: string;
  window?: { startsAt?: string; endsAt?: string };
  fundingCostCentre?: string;
  controlPercent?: number;
  parameters?: Loose;
  /** As the body's, except `pattern`: the JSON text the operator edits. */
  trigger?: Loose & { type?: string; pattern?: string };
  audience?: Loose;
  variants?: { variantId?: string; weightPercent?: number; actions?: Loose[] }[];
  budget?: Loose & { unit?: string };
  frequencyCaps?: Loose;
  quietHoursOn?: boolean;
  quietHours?: { start?: string; end?: string };
}

export const STEPS = ["source", "basics", "trigger", "audience", "variants", "budget", "caps", "review"] as const;
export type Step = (typeof STEPS)[number];

/** The steps a template campaign skips: the template writes the trigger's shape, audience, variants and caps. */
export function stepsFor(source: Source): Step[] {
  return source === "template" ? ["source", "basics", "trigger", "variants", "budget", "review"] : [...STEPS];
}

const STEP_OF_FIELD: Record<string, Step> = {
  source: "source",
  template: "source",
  campaignId: "basics",
  name: "basics",
  window: "basics",
  fundingCostCentre: "basics",
  trigger: "trigger",
  parameters: "trigger",
  audience: "audience",
  variants: "variants",
  controlPercent: "variants",
  budget: "budget",
  frequencyCaps: "caps",
  quietHours: "caps",
  quietHoursOn: "caps",
};

export function stepOf(path: Path): Step {
  return STEP_OF_FIELD[String(path[0])] ?? "review";
}

function isoMinute(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function blankValues(now: Date = new Date()): BuilderValues {
  const start = new Date(now.getTime() + 60 * 60_000);
  start.setUTCMinutes(0, 0, 0);
  const end = new Date(start.getTime() + 30 * 86_400_000);
  return {
    source: "template",
    template: "spend_x_get_coupon",
    window: { startsAt: isoMinute(start), endsAt: isoMinute(end) },
    controlPercent: 10,
    parameters: { currency: "CNY", mccs: [] },
    trigger: { type: "event", eventType: "CardTransactionPosted", currency: "CNY", mccs: [], pattern: "" },
    audience: { tagsAny: [], tagsAll: [], tiers: [], segments: [], branchIds: [], birthdayToday: false, requireProfile: true },
    variants: [{ variantId: "main", weightPercent: 100, actions: [{ type: "issue_coupon", costMinor: 0 }] }],
    budget: { unit: "rewards", total: 1000 },
    frequencyCaps: { lifetime: 1 },
    quietHoursOn: false,
    quietHours: { start: "22:00", end: "08:00" },
  };
}

/** Drops what the operator left empty (undefined, ""), so that the API's defaults apply. */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.filter((item) => item !== undefined).map(compact) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Loose)
        .filter(([, inner]) => inner !== undefined && inner !== "")
        .map(([key, inner]) => [key, compact(inner)]),
    ) as T;
  }
  return typeof value === "string" ? (value.trim() as T) : value;
}

/** The JSON the pattern editor holds, as the body's object; the text unchanged when it is not JSON (the schema then says so). */
export function parsePattern(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The fields each kind of trigger and action has: switching kinds leaves the other kind's fields behind in the form, not in the body. */
export const TRIGGER_FIELDS: Record<string, string[]> = {
  event: ["type", "eventType", "pattern", "minAmountMinor", "currency", "mccs", "target", "streakDays"],
  schedule: ["type", "expression", "timezone"],
  manual: ["type"],
  referral: ["type", "minAmountMinor", "currency", "withinDays", "inviterActions"],
};

export const ACTION_FIELDS: Record<string, string[]> = {
  issue_coupon: ["type", "templateId", "costMinor"],
  award_points: ["type", "points", "costCentre", "validityDays", "costMinor"],
  notify: ["type", "channel", "templateId", "variables"],
};

function pick(object: Loose, fields: string[] | undefined): Loose {
  if (!fields) return object;
  return Object.fromEntries(Object.entries(object).filter(([key]) => fields.includes(key)));
}

export function actionBody(action: Loose): Loose {
  return pick(action, ACTION_FIELDS[String(action.type)]);
}

function triggerBody(trigger: BuilderValues["trigger"]): Loose | undefined {
  if (!trigger) return undefined;
  const { pattern, ...rest } = trigger;
  const body: Loose = pick(rest, TRIGGER_FIELDS[String(rest.type)]);
  if (rest.type === "event") {
    const parsed = parsePattern(pattern);
    if (parsed !== undefined) body.pattern = parsed;
    // An empty target (neither field given) is no target.
    const target = body.target as Loose | undefined | null;
    if (target && target.count === undefined && target.withinDays === undefined) delete body.target;
  }
  if (Array.isArray(body.inviterActions)) body.inviterActions = (body.inviterActions as Loose[]).map(actionBody);
  return body;
}

function budgetBody(budget: BuilderValues["budget"]): Loose | undefined {
  if (!budget) return undefined;
  const body: Loose = { ...budget };
  // A budget in rewards names no currency; one in money must (the API's rule, kept by the form).
  if (body.unit !== "minor") delete body.currency;
  for (const period of ["daily", "weekly", "monthly"]) if (body[period] === null) delete body[period];
  return body;
}

function capsBody(caps: BuilderValues["frequencyCaps"]): Loose | undefined {
  if (!caps) return undefined;
  return Object.fromEntries(Object.entries(caps).filter(([, v]) => v !== null && v !== undefined && v !== ""));
}

/** A campaign written step by step (source "blank"): the body of POST /v1/admin/campaigns and PUT. */
export function toCampaignRequest(values: BuilderValues): CampaignRequest {
  const body = {
    campaignId: values.campaignId,
    name: values.name,
    window: values.window,
    trigger: triggerBody(values.trigger),
    audience: values.audience,
    variants: values.variants?.map((variant) => ({ ...variant, actions: variant.actions?.map(actionBody) })),
    controlPercent: values.controlPercent,
    budget: budgetBody(values.budget),
    frequencyCaps: capsBody(values.frequencyCaps),
    quietHours: values.quietHoursOn ? values.quietHours : null,
    fundingCostCentre: values.fundingCostCentre,
  };
  return compact(body) as unknown as CampaignRequest;
}

/** A campaign from a ready-made template: the body of POST /v1/admin/campaign-templates/{template}/campaigns. */
export function toFromTemplate(values: BuilderValues): FromTemplate {
  const body = {
    campaignId: values.campaignId,
    name: values.name,
    window: values.window,
    budget: budgetBody(values.budget),
    fundingCostCentre: values.fundingCostCentre,
    controlPercent: values.controlPercent,
    parameters: values.parameters ?? {},
  };
  return compact(body) as unknown as FromTemplate;
}

export function toBody(values: BuilderValues): CampaignRequest | FromTemplate {
  return values.source === "template" ? toFromTemplate(values) : toCampaignRequest(values);
}

/** The template's own parameters: the API's schema leaves them free, the template's code does not. */
export function parameterProblems(values: BuilderValues): Problem[] {
  const given = values.parameters ?? {};
  const problems: Problem[] = [];
  for (const parameter of parametersOf(values.template)) {
    const value = given[parameter.name];
    const path = ["parameters", parameter.name];
    const empty = value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
    if (empty) {
      if (parameter.required) problems.push({ path, keyword: "required", params: {} });
      continue;
    }
    if (typeof value === "number") {
      if (parameter.min !== undefined && value < parameter.min) problems.push({ path, keyword: "minimum", params: { limit: parameter.min } });
      if (parameter.max !== undefined && value > parameter.max) problems.push({ path, keyword: "maximum", params: { limit: parameter.max } });
    }
    if (parameter.kind === "mccs" && Array.isArray(value) && value.some((code) => !/^[0-9]{4}$/.test(String(code)))) {
      problems.push({ path, keyword: "mcc", params: {} });
    }
  }
  return problems;
}

/** Everything wrong with the values now: the schema's problems, and the rules the console can tell early. */
export function builderProblems(values: BuilderValues, validator: SchemaValidator): Problem[] {
  if (values.source === "template") {
    const problems = validator.validate("FromTemplate", toFromTemplate(values));
    if (!values.template) problems.push({ path: ["template"], keyword: "required", params: {} });
    return [...problems, ...parameterProblems(values)];
  }
  const body = toCampaignRequest(values);
  const problems = validator.validate("CampaignRequest", body);
  const pattern = parsePattern(values.trigger?.pattern);
  if (typeof pattern === "string") {
    // Not JSON at all: the schema's "must be an object" would say less than this.
    return [...problems.filter((p) => p.path.join(".") !== "trigger.pattern"), { path: ["trigger", "pattern"], keyword: "json", params: {} }];
  }
  const weights = (values.variants ?? []).reduce((sum, v) => sum + (v.weightPercent ?? 0), 0);
  if ((values.variants ?? []).length > 0 && weights !== 100) problems.push({ path: ["variants"], keyword: "weightsSum", params: { sum: weights } });
  return problems;
}

/** A saved campaign (a draft being edited) as the builder's values. */
export function valuesFromCampaign(campaign: Campaign): BuilderValues {
  const trigger = { ...(campaign.trigger as Loose) };
  const pattern = trigger.pattern as Loose | undefined;
  return {
    source: "blank",
    campaignId: campaign.campaignId,
    name: campaign.name,
    window: { ...campaign.window },
    fundingCostCentre: campaign.fundingCostCentre,
    controlPercent: campaign.controlPercent ?? 0,
    trigger: { ...trigger, pattern: pattern && Object.keys(pattern).length ? JSON.stringify(pattern, null, 2) : "" },
    audience: { ...(campaign.audience ?? {}) },
    variants: campaign.variants.map((variant) => ({ ...variant, actions: variant.actions.map((a) => ({ ...a })) })),
    budget: { ...campaign.budget },
    frequencyCaps: { ...(campaign.frequencyCaps ?? {}) },
    quietHoursOn: !!campaign.quietHours,
    quietHours: campaign.quietHours ?? { start: "22:00", end: "08:00" },
  };
}

/** The draft in sessionStorage: it outlives an expired sign-in and a reload, not the tab. */
export interface StoredDraft {
  values: BuilderValues;
  step: number;
  /** The Idempotency-Key of the save in progress: a save retried after signing in again is the same save. */
  key: string;
  editing: string | null;
}

export const DRAFT_KEY = "console.campaignDraft";

export function saveDraft(draft: StoredDraft, storage: Storage = sessionStorage): void {
  storage.setItem(DRAFT_KEY, JSON.stringify(draft));
}

export function loadDraft(editing: string | null, storage: Storage = sessionStorage): StoredDraft | null {
  const raw = storage.getItem(DRAFT_KEY);
  if (!raw) return null;
  try {
    const draft = JSON.parse(raw) as StoredDraft;
    return draft.editing === editing ? draft : null;
  } catch {
    return null;
  }
}

export function clearDraft(storage: Storage = sessionStorage): void {
  storage.removeItem(DRAFT_KEY);
}
