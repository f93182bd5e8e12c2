/**
 * MOT's pure helpers (key customer moments, 客户关键时刻): a rule's request from its form, the
 * trigger's and the goal's patterns parsed with the reason one is refused, a rule paused or
 * activated as a new version, the report's rates, and what a relationship manager may do with a task.
 */
import type { Schema } from "../../api/client";
import { formatPercent } from "../../lib/format";

export type MotRule = Schema<"MotRuleView">;
export type MotRuleRequest = Schema<"MotRuleRequest">;
export type MotRuleChange = Schema<"MotRuleChangeRequest">;
export type MotReport = Schema<"MotRuleReport">;
export type MotReportRow = Schema<"MotReportRow">;
export type Task = Schema<"TaskRecord">;
export type TaskState = Task["state"];
export type Outcome = NonNullable<Task["outcome"]>;
export type BookCustomer = Schema<"BookCustomer">;
export type MomentType = Schema<"Moment">["eventType"];
export type Trigger = MotRule["trigger"];
export type Channel = NonNullable<Schema<"Message">["channel"]>;
export type RuleStatus = NonNullable<MotRule["status"]>;
export type Scope = MotReportRow["scope"];
export type Pattern = Record<string, unknown>;

/** The moments a rule may be triggered by (and count as its goal). */
export const MOMENT_TYPES: readonly MomentType[] = [
  "LargeBalanceMovement",
  "DepositBalanceChanged",
  "DepositMaturing",
  "SalaryCredited",
  "ApplicationAbandoned",
  "TierChanged",
  "PointsExpiringSoon",
  "ScoreChanged",
];
export const CHANNELS: readonly Channel[] = ["wecom", "sms", "push"];
export const OUTCOMES: readonly Outcome[] = ["contacted", "interested", "converted", "unreachable", "declined"];
export const TASK_STATES: readonly TaskState[] = ["open", "in_progress", "done", "expired", "reassigned"];
export const SCOPES: readonly Scope[] = ["rule", "relationship_manager", "org_unit"];
/** Why a task sits in a branch's queue (or came back to it), as the API names it. */
export const WHY_CODES = ["NO_RELATIONSHIP_MANAGER", "RM_AT_CAPACITY", "OVERDUE"] as const;

/**
 * The bank's time zone, which business dates and due times are read in: the engine's default
 * (`-c bankTimeZone`, docs/operations.md). The API does not tell it; a bank that deploys in
 * another zone changes this too.
 */
export const BANK_TIME_ZONE = "Asia/Shanghai";

/** The most fields a pattern may test (the API's `maxProperties`). */
export const MAX_PATTERN_FIELDS = 10;

// ---- patterns -------------------------------------------------------------------------------------

/** Why a pattern is refused: a key of `mot.patternProblem` in the translations, where, and what JSON said. */
export interface PatternProblem {
  code: "json" | "object" | "tooMany" | "list" | "matcher";
  path: string;
  detail?: string;
}

const NUMERIC_OPS = new Set(["<", "<=", "=", ">", ">="]);

function matcherProblem(matcher: unknown, path: string): PatternProblem | null {
  if (matcher === null || ["string", "number", "boolean"].includes(typeof matcher)) return null;
  if (typeof matcher === "object" && !Array.isArray(matcher)) {
    const entries = Object.entries(matcher);
    if (entries.length === 1) {
      const [kind, arg] = entries[0]!;
      if (kind === "prefix" && typeof arg === "string") return null;
      if (kind === "exists" && typeof arg === "boolean") return null;
      if (kind === "numeric" && Array.isArray(arg) && arg.length > 0 && arg.length % 2 === 0) {
        const pairs = arg.flatMap((value, i) => (i % 2 === 0 ? [[value, arg[i + 1]] as const] : []));
        if (pairs.every(([op, n]) => typeof op === "string" && NUMERIC_OPS.has(op) && typeof n === "number" && Number.isFinite(n))) return null;
      }
    }
  }
  return { code: "matcher", path, detail: JSON.stringify(matcher) };
}

/**
 * Whether a pattern is one the engine matches (loyalty/core/patterns.py): an object whose fields
 * are each a non-empty list of values or matchers (`{"prefix": …}`, `{"numeric": [op, n, …]}`,
 * `{"exists": bool}`), or a nested pattern. The API checks again, and that the fields are the event's.
 */
export function checkPattern(pattern: unknown, path = "pattern"): PatternProblem | null {
  if (pattern === null || typeof pattern !== "object" || Array.isArray(pattern)) return { code: "object", path };
  for (const [key, value] of Object.entries(pattern)) {
    const where = `${path}.${key}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const inner = checkPattern(value, where);
      if (inner) return inner;
    } else if (!Array.isArray(value) || value.length === 0) {
      return { code: "list", path: where };
    } else {
      for (const matcher of value) {
        const problem = matcherProblem(matcher, where);
        if (problem) return problem;
      }
    }
  }
  return null;
}

/** The pattern an operator typed (blank: every event of the type), or why it is refused. */
export function parsePattern(text: string | undefined, path = "pattern"): { pattern: Pattern | null; problem: PatternProblem | null } {
  const trimmed = (text ?? "").trim();
  if (!trimmed) return { pattern: {}, problem: null };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    return { pattern: null, problem: { code: "json", path, detail: error instanceof Error ? error.message : String(error) } };
  }
  const problem = checkPattern(value, path);
  if (problem) return { pattern: null, problem };
  if (Object.keys(value as Pattern).length > MAX_PATTERN_FIELDS) return { pattern: null, problem: { code: "tooMany", path, detail: String(MAX_PATTERN_FIELDS) } };
  return { pattern: value as Pattern, problem: null };
}

/** A pattern as the form shows it: indented JSON, blank for none. */
export function patternText(pattern: Pattern | undefined | null): string {
  return pattern && Object.keys(pattern).length ? JSON.stringify(pattern, null, 2) : "";
}

// ---- rules ----------------------------------------------------------------------------------------

/** The new-rule form's values (flat: the request nests them). */
export interface RuleValues {
  name?: string;
  orgUnitId?: string;
  eventType?: MomentType;
  pattern?: string;
  tiers?: string[];
  segments?: string[];
  minAumMinor?: number | null;
  priority?: number | null;
  slaHours?: number | null;
  talkingPoints?: string;
  offerTemplateId?: string;
  messageChannel?: Channel;
  messageContent?: string;
  goalEventType?: MomentType | null;
  goalPattern?: string;
  goalWithinDays?: number | null;
  holdoutPercent?: number | null;
  status?: RuleStatus;
}

export const NEW_RULE: RuleValues = {
  eventType: "LargeBalanceMovement",
  pattern: "",
  priority: 3,
  slaHours: 48,
  messageChannel: "wecom",
  goalWithinDays: 14,
  holdoutPercent: 10,
  status: "active",
};

/** A form field and why its value is refused. */
export interface FieldProblem {
  field: "pattern" | "goalPattern";
  problem: PatternProblem;
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function given<T>(value: T | null | undefined): value is T {
  return value !== null && value !== undefined;
}

function moment(eventType: MomentType, pattern: Pattern): Schema<"Moment"> {
  return Object.keys(pattern).length ? { eventType, pattern } : { eventType };
}

/**
 * The request of the new-rule form: blanks left out (the API's defaults apply), the offer only with
 * a template, the message only with its text, the goal only with its moment. Null, with the
 * problems, when a pattern is not one.
 */
export function ruleRequest(values: RuleValues): { body: MotRuleRequest | null; problems: FieldProblem[] } {
  const trigger = parsePattern(values.pattern, "pattern");
  const goal = values.goalEventType ? parsePattern(values.goalPattern, "goal.pattern") : { pattern: {}, problem: null };
  const problems: FieldProblem[] = [
    ...(trigger.problem ? [{ field: "pattern" as const, problem: trigger.problem }] : []),
    ...(goal.problem ? [{ field: "goalPattern" as const, problem: goal.problem }] : []),
  ];
  if (problems.length || !trigger.pattern || !goal.pattern) return { body: null, problems };
  const audience: Schema<"MotAudience"> = {
    ...(values.tiers?.length ? { tiers: values.tiers } : {}),
    ...(values.segments?.length ? { segments: values.segments } : {}),
    ...(given(values.minAumMinor) ? { minAumMinor: values.minAumMinor } : {}),
  };
  const templateId = text(values.offerTemplateId);
  const content = text(values.messageContent);
  const orgUnitId = text(values.orgUnitId);
  const body: MotRuleRequest = {
    name: text(values.name) ?? "",
    ...(orgUnitId ? { orgUnitId } : {}),
    trigger: moment(values.eventType ?? "LargeBalanceMovement", trigger.pattern),
    ...(Object.keys(audience).length ? { audience } : {}),
    task: {
      ...(given(values.priority) ? { priority: values.priority } : {}),
      ...(given(values.slaHours) ? { slaHours: values.slaHours } : {}),
      talkingPoints: text(values.talkingPoints) ?? "",
      ...(templateId ? { offer: { templateId } } : {}),
      ...(content ? { message: { channel: values.messageChannel ?? "wecom", content } } : {}),
    },
    ...(values.goalEventType
      ? { goal: { moment: moment(values.goalEventType, goal.pattern), ...(given(values.goalWithinDays) ? { withinDays: values.goalWithinDays } : {}) } }
      : {}),
    ...(given(values.holdoutPercent) ? { holdoutPercent: values.holdoutPercent } : {}),
    ...(values.status ? { status: values.status } : {}),
  };
  return { body, problems: [] };
}

/**
 * The rule again as a new version with another status (paused, or active again): the whole
 * definition as it stands, with the version it replaces (409 RULE_VERSION_CONFLICT when another
 * change came first).
 */
export function statusChange(rule: MotRule, status: RuleStatus): MotRuleChange {
  return {
    name: rule.name,
    ...(rule.orgUnitId ? { orgUnitId: rule.orgUnitId } : {}),
    trigger: rule.trigger,
    ...(rule.audience ? { audience: rule.audience } : {}),
    task: rule.task,
    ...(rule.goal ? { goal: rule.goal } : {}),
    ...(given(rule.holdoutPercent) ? { holdoutPercent: rule.holdoutPercent } : {}),
    status,
    version: rule.version,
  };
}

/** A trigger's moment, or null for a schedule (a birthday N days ahead: `birthdayDays`). */
export function triggerMoment(trigger: Trigger): Schema<"Moment"> | null {
  return "eventType" in trigger ? trigger : null;
}

/** How many days ahead of the birthday a schedule trigger fires (null: not a schedule). */
export function birthdayDays(trigger: Trigger): number | null {
  return "schedule" in trigger ? (trigger.daysAhead ?? 3) : null;
}

/** A trigger as an operator reads it: the moment's name, or "birthday in N days". */
export function triggerLabel(t: (key: string, options?: Record<string, unknown>) => string, trigger: Trigger): string {
  const moment = triggerMoment(trigger);
  return moment ? t(`events.${moment.eventType}`, { defaultValue: moment.eventType }) : t("mot.birthday", { days: birthdayDays(trigger) });
}

/** A rule's status as the API means it: active unless paused. */
export function statusOf(rule: Pick<MotRule, "status">): RuleStatus {
  return rule.status ?? "active";
}

/** The other status: what the pause/activate button does. */
export function toggled(status: RuleStatus): RuleStatus {
  return status === "active" ? "paused" : "active";
}

// ---- the report -----------------------------------------------------------------------------------

/** A rate (0.25) as a percentage in the person's language; "—" when there is none yet. */
export function formatRate(rate: number | null | undefined, language: string): string {
  return formatPercent(rate, language, 1);
}

/** The uplift (a difference of two rates) in percentage points, signed: "+12.5" / "-3" / "0"; "—" without both groups. */
export function formatUplift(uplift: number | null | undefined, language: string): string {
  if (uplift === null || uplift === undefined || Number.isNaN(uplift)) return "—";
  return new Intl.NumberFormat(language, { maximumFractionDigits: 1, signDisplay: "exceptZero" }).format(Math.round(uplift * 1000) / 10);
}

/** Whether contacting did better than holding out, worse, the same, or cannot be told yet. */
export function upliftTone(uplift: number | null | undefined): "better" | "worse" | "same" | "unknown" {
  if (uplift === null || uplift === undefined || Number.isNaN(uplift)) return "unknown";
  return uplift > 0 ? "better" : uplift < 0 ? "worse" : "same";
}

/** Of the tasks done, the share done within their SLA; null before any is done. */
export function withinSlaRate(row: Pick<MotReportRow, "done" | "doneWithinSla">): number | null {
  return row.done ? row.doneWithinSla / row.done : null;
}

/** Of the customers contacted, the share converted; null before any contact. */
export function conversionRate(row: Pick<MotReportRow, "contacted" | "conversions">): number | null {
  return row.contacted ? row.conversions / row.contacted : null;
}

/** The report's rows by scope (the rule's totals, each RM or branch queue, each branch), each in id order. */
export function rowsByScope(report: Pick<MotReport, "rows">): Record<Scope, MotReportRow[]> {
  const grouped: Record<Scope, MotReportRow[]> = { rule: [], relationship_manager: [], org_unit: [] };
  for (const row of report.rows) grouped[row.scope]?.push(row);
  for (const scope of SCOPES) grouped[scope].sort((a, b) => a.id.localeCompare(b.id));
  return grouped;
}

/**
 * How a row is named: the rule's totals (the API's id `all`) and a branch's queue (`branch:<unit>`)
 * in words, as a translation key and its values; null for an RM or a unit, shown by their id.
 */
export function rowName(row: Pick<MotReportRow, "scope" | "id">): { key: string; values: Record<string, string> } | null {
  if (row.scope === "rule") return { key: "mot.allTasks", values: {} };
  if (row.scope === "relationship_manager" && row.id.startsWith("branch:")) return { key: "mot.branchQueueOf", values: { unit: row.id.slice("branch:".length) } };
  return null;
}

/** A row's outcomes in the usual order, those that happened only. */
export function outcomeCounts(row: Pick<MotReportRow, "outcomes">): [Outcome | string, number][] {
  const known = OUTCOMES.filter((o) => (row.outcomes[o] ?? 0) > 0).map((o): [string, number] => [o, row.outcomes[o] ?? 0]);
  const others = Object.entries(row.outcomes).filter(([o, n]) => !(OUTCOMES as readonly string[]).includes(o) && n > 0);
  return [...known, ...others.sort(([a], [b]) => a.localeCompare(b))];
}

// ---- tasks ----------------------------------------------------------------------------------------

/** Done or expired: nothing more can be done with it. */
export function isClosed(state: TaskState): boolean {
  return state === "done" || state === "expired";
}

/** Open (or come back to the RM): starting it puts it in progress. */
export function canStart(task: Pick<Task, "state">): boolean {
  return task.state === "open" || task.state === "reassigned";
}

export function canComplete(task: Pick<Task, "state">): boolean {
  return !isClosed(task.state);
}

/** The rule suggests a coupon, and it has not gone out. */
export function canOffer(task: Pick<Task, "state" | "offer" | "offerCouponId">): boolean {
  return !isClosed(task.state) && !!task.offer && !task.offerCouponId;
}

/** The rule suggests a message, and it has not gone out. */
export function canMessage(task: Pick<Task, "state" | "message" | "messageId">): boolean {
  return !isClosed(task.state) && !!task.message && !task.messageId;
}

/** Still to do and past its due time (the sweep hands it to the branch's queue). */
export function isOverdue(task: Pick<Task, "state" | "dueAt">, now: Date): boolean {
  return !isClosed(task.state) && Date.parse(task.dueAt) <= now.getTime();
}

/** The translation keys of a task's state tags: its state, and `overdue` when it is. */
export function taskLabels(task: Pick<Task, "state" | "dueAt">, now: Date): string[] {
  return [`mot.taskState.${task.state}`, ...(isOverdue(task, now) ? ["mot.overdue"] : [])];
}

/** Why a task is where it is, as a translation key; null when it gives no reason (a raw code is shown as it is). */
export function whyKey(why: string | null | undefined): string | null {
  return why && (WHY_CODES as readonly string[]).includes(why) ? `mot.why.${why}` : null;
}

/** An instant in the bank's time zone, date and time, in the person's language. */
export function formatBankTime(iso: string | null | undefined, language: string, timeZone = BANK_TIME_ZONE): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}
