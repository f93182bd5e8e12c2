import { describe, expect, it } from "vitest";

import {
  NEW_RULE,
  birthdayDays,
  triggerLabel,
  triggerMoment,
  canComplete,
  canMessage,
  canOffer,
  canStart,
  conversionRate,
  formatBankTime,
  formatRate,
  formatUplift,
  isOverdue,
  outcomeCounts,
  parsePattern,
  patternText,
  ruleRequest,
  rowName,
  rowsByScope,
  statusChange,
  statusOf,
  taskLabels,
  toggled,
  upliftTone,
  whyKey,
  withinSlaRate,
  type MotReportRow,
  type MotRule,
  type Task,
} from "./mot";

/** The OpenAPI document's example rule, as the API answers it. */
const RULE: MotRule = {
  ruleId: "mot-1",
  version: 3,
  name: "Large outflow: call within a day",
  orgUnitId: "sh",
  trigger: { eventType: "LargeBalanceMovement", pattern: { deltaMinor: [{ numeric: ["<=", -5_000_000] }] } },
  audience: { minAumMinor: 10_000_000 },
  task: { priority: 1, slaHours: 24, talkingPoints: "{customerId} moved {deltaMinor}", offer: { templateId: "tpl-deposit-bonus" } },
  goal: { moment: { eventType: "LargeBalanceMovement", pattern: { deltaMinor: [{ numeric: [">", 0] }] } }, withinDays: 14 },
  holdoutPercent: 10,
  status: "active",
  createdAt: "2026-12-01T00:00:00Z",
  updatedAt: "2026-12-02T00:00:00Z",
  updatedBy: "op-alice",
};

const TASK: Task = {
  taskId: "t-1",
  ruleId: "mot-1",
  ruleVersion: 3,
  customerId: "c-001",
  assignee: "rm-sh-pudong-1",
  state: "open",
  priority: 1,
  customerValueMinor: 80_000_000,
  talkingPoints: "c-001 moved -3000000",
  offer: { templateId: "tpl-deposit-bonus" },
  message: { channel: "wecom", content: "您好" },
  moment: "ev-1",
  createdAt: "2026-12-07T03:00:00Z",
  dueAt: "2026-12-08T03:00:00Z",
  expiresAt: "2026-12-15T03:00:00Z",
};

function row(scope: MotReportRow["scope"], id: string, fields: Partial<MotReportRow> = {}): MotReportRow {
  return { scope, id, created: 0, done: 0, doneWithinSla: 0, contacted: 0, conversions: 0, offers: 0, messages: 0, escalated: 0, expired: 0, outcomes: {}, ...fields };
}

describe("MOT patterns", () => {
  it("takes a blank pattern as every event of the type, and an object of lists and matchers", () => {
    expect(parsePattern("")).toEqual({ pattern: {}, problem: null });
    expect(parsePattern("  \n")).toEqual({ pattern: {}, problem: null });
    const typed = '{"accountId": ["a-1"], "deltaMinor": [{"numeric": ["<=", -1000000, ">", -9e9]}], "detail": {"kind": [{"prefix": "x"}]}, "memo": [{"exists": false}]}';
    expect(parsePattern(typed).problem).toBeNull();
    expect(parsePattern(typed).pattern).toEqual(JSON.parse(typed));
  });

  it("says why a pattern is refused, and where", () => {
    expect(parsePattern("{").problem).toMatchObject({ code: "json", path: "pattern" });
    expect(parsePattern("[1]").problem).toEqual({ code: "object", path: "pattern" });
    expect(parsePattern('"a"').problem).toEqual({ code: "object", path: "pattern" });
    expect(parsePattern('{"accountId": "a-1"}').problem).toEqual({ code: "list", path: "pattern.accountId" });
    expect(parsePattern('{"accountId": []}').problem).toEqual({ code: "list", path: "pattern.accountId" });
    expect(parsePattern('{"d": {"x": [{"numeric": ["<>", 1]}]}}').problem).toEqual({ code: "matcher", path: "pattern.d.x", detail: '{"numeric":["<>",1]}' });
    expect(parsePattern('{"x": [{"numeric": [">"]}]}').problem?.code).toBe("matcher");
    expect(parsePattern('{"x": [{"prefix": 1}]}').problem?.code).toBe("matcher");
    expect(parsePattern('{"x": [{"prefix": "a", "exists": true}]}').problem?.code).toBe("matcher");
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, [i]]));
    expect(parsePattern(JSON.stringify(eleven)).problem).toEqual({ code: "tooMany", path: "pattern", detail: "10" });
    expect(parsePattern("{", "goal.pattern").problem?.path).toBe("goal.pattern");
  });

  it("shows a pattern as indented JSON, and none as blank", () => {
    expect(patternText({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(patternText({})).toBe("");
    expect(patternText(undefined)).toBe("");
  });
});

describe("MOT rule requests", () => {
  it("builds the least request from the new-rule form: the API's defaults for what is left blank", () => {
    const { body, problems } = ruleRequest({ eventType: "DepositMaturing", name: "  Maturing  ", talkingPoints: " Call {customerId} ", pattern: "" });
    expect(problems).toEqual([]);
    expect(body).toEqual({ name: "Maturing", trigger: { eventType: "DepositMaturing" }, task: { talkingPoints: "Call {customerId}" } });
  });

  it("builds the whole request: audience, offer, message, goal and holdout", () => {
    const { body } = ruleRequest({
      ...NEW_RULE,
      name: "Large outflow",
      orgUnitId: "sh",
      pattern: '{"accountId": ["a-1"]}',
      tiers: ["gold"],
      segments: [],
      minAumMinor: 10_000_000,
      priority: 1,
      slaHours: 24,
      talkingPoints: "Ask what they need",
      offerTemplateId: " tpl-1 ",
      messageChannel: "sms",
      messageContent: "您好",
      goalEventType: "LargeBalanceMovement",
      goalPattern: '{"deltaMinor": [{"numeric": [">", 0]}]}',
      goalWithinDays: 7,
      holdoutPercent: 0,
    });
    expect(body).toEqual({
      name: "Large outflow",
      orgUnitId: "sh",
      trigger: { eventType: "LargeBalanceMovement", pattern: { accountId: ["a-1"] } },
      audience: { tiers: ["gold"], minAumMinor: 10_000_000 },
      task: { priority: 1, slaHours: 24, talkingPoints: "Ask what they need", offer: { templateId: "tpl-1" }, message: { channel: "sms", content: "您好" } },
      goal: { moment: { eventType: "LargeBalanceMovement", pattern: { deltaMinor: [{ numeric: [">", 0] }] } }, withinDays: 7 },
      holdoutPercent: 0,
      status: "active",
    });
  });

  it("leaves the offer without a template, the message without its text and the goal without its moment", () => {
    const { body } = ruleRequest({ ...NEW_RULE, name: "n", talkingPoints: "t", offerTemplateId: "  ", messageContent: "", goalPattern: "{" });
    expect(body?.task).toEqual({ priority: 3, slaHours: 48, talkingPoints: "t" });
    expect(body && "goal" in body).toBe(false);
  });

  it("refuses the request while a pattern is not one, naming the field", () => {
    const { body, problems } = ruleRequest({ ...NEW_RULE, pattern: '{"a": 1}', goalEventType: "SalaryCredited", goalPattern: "nope" });
    expect(body).toBeNull();
    expect(problems.map((p) => [p.field, p.problem.code, p.problem.path])).toEqual([
      ["pattern", "list", "pattern.a"],
      ["goalPattern", "json", "goal.pattern"],
    ]);
  });

  it("pauses and activates a rule as a new version of the whole definition", () => {
    expect(statusChange(RULE, "paused")).toEqual({
      name: RULE.name,
      orgUnitId: "sh",
      trigger: RULE.trigger,
      audience: RULE.audience,
      task: RULE.task,
      goal: RULE.goal,
      holdoutPercent: 10,
      status: "paused",
      version: 3,
    });
    const bare = statusChange({ ...RULE, orgUnitId: null, goal: null, audience: undefined, holdoutPercent: undefined, status: undefined }, "active");
    expect(Object.keys(bare).sort()).toEqual(["name", "status", "task", "trigger", "version"]);
    expect(statusOf({})).toBe("active");
    expect([toggled("active"), toggled("paused")]).toEqual(["paused", "active"]);
  });
});

describe("MOT report", () => {
  it("formats rates and the uplift in percentage points", () => {
    expect(formatRate(0.25, "en")).toBe("25%");
    expect(formatRate(1 / 3, "zh-CN")).toBe("33.3%");
    expect(formatRate(null, "en")).toBe("—");
    expect(formatUplift(0.125, "en")).toBe("+12.5");
    expect(formatUplift(-0.03, "en")).toBe("-3");
    expect(formatUplift(0, "en")).toBe("0");
    expect(formatUplift(null, "en")).toBe("—");
    expect([0.1, -0.1, 0, null].map(upliftTone)).toEqual(["better", "worse", "same", "unknown"]);
  });

  it("tells the SLA and conversion shares, none before anything is done", () => {
    expect(withinSlaRate(row("rule", "mot-1", { done: 4, doneWithinSla: 3 }))).toBe(0.75);
    expect(withinSlaRate(row("rule", "mot-1"))).toBeNull();
    expect(conversionRate(row("rule", "mot-1", { contacted: 4, conversions: 1 }))).toBe(0.25);
    expect(conversionRate(row("rule", "mot-1"))).toBeNull();
  });

  it("groups the rows by scope, each in id order", () => {
    const grouped = rowsByScope({ rows: [row("org_unit", "sh"), row("relationship_manager", "rm-2"), row("rule", "mot-1"), row("relationship_manager", "branch:sh"), row("org_unit", "bj")] });
    expect(grouped.rule.map((r) => r.id)).toEqual(["mot-1"]);
    expect(grouped.relationship_manager.map((r) => r.id)).toEqual(["branch:sh", "rm-2"]);
    expect(grouped.org_unit.map((r) => r.id)).toEqual(["bj", "sh"]);
  });

  it("names the rule's totals and a branch's queue in words, an RM and a unit by their id", () => {
    expect(rowName(row("rule", "all"))).toEqual({ key: "mot.allTasks", values: {} });
    expect(rowName(row("relationship_manager", "branch:sh-pudong"))).toEqual({ key: "mot.branchQueueOf", values: { unit: "sh-pudong" } });
    expect(rowName(row("relationship_manager", "rm-1"))).toBeNull();
    expect(rowName(row("org_unit", "sh"))).toBeNull();
  });

  it("lists the outcomes that happened, in the usual order", () => {
    expect(outcomeCounts(row("rule", "x", { outcomes: { declined: 1, contacted: 2, converted: 0, other: 1 } }))).toEqual([
      ["contacted", 2],
      ["declined", 1],
      ["other", 1],
    ]);
  });
});

describe("MOT tasks", () => {
  const now = new Date("2026-12-07T12:00:00Z");

  it("says what an RM may do with a task in each state", () => {
    const states = ["open", "in_progress", "done", "expired", "reassigned"] as const;
    expect(states.filter((state) => canStart({ state }))).toEqual(["open", "reassigned"]);
    expect(states.filter((state) => canComplete({ state }))).toEqual(["open", "in_progress", "reassigned"]);
    expect(states.filter((state) => canOffer({ ...TASK, state }))).toEqual(["open", "in_progress", "reassigned"]);
    expect(canOffer({ ...TASK, offer: null })).toBe(false);
    expect(canOffer({ ...TASK, offerCouponId: "cpn-1" })).toBe(false);
    expect(canMessage(TASK)).toBe(true);
    expect(canMessage({ ...TASK, message: null })).toBe(false);
    expect(canMessage({ ...TASK, messageId: "mot-t-1" })).toBe(false);
    expect(canMessage({ ...TASK, state: "done" })).toBe(false);
  });

  it("labels a task by its state, and overdue while still to do", () => {
    expect(taskLabels(TASK, now)).toEqual(["mot.taskState.open"]);
    const late = new Date("2026-12-08T03:00:00Z");
    expect(isOverdue(TASK, late)).toBe(true);
    expect(taskLabels({ ...TASK, state: "in_progress" }, late)).toEqual(["mot.taskState.in_progress", "mot.overdue"]);
    expect(taskLabels({ ...TASK, state: "done" }, late)).toEqual(["mot.taskState.done"]);
  });

  it("names the known reasons a task is in a queue", () => {
    expect(whyKey("RM_AT_CAPACITY")).toBe("mot.why.RM_AT_CAPACITY");
    expect(whyKey("SOMETHING_NEW")).toBeNull();
    expect(whyKey(null)).toBeNull();
  });

  it("shows due times in the bank's time zone, whatever the browser's", () => {
    // 03:00 UTC is 11:00 in Shanghai
    expect(formatBankTime("2026-12-08T03:00:00Z", "en")).toMatch(/Dec 8, 2026.*11:00\sAM/);
    expect(formatBankTime("2026-12-07T20:00:00Z", "zh-CN")).toContain("2026年12月8日");
    expect(formatBankTime("2026-12-07T20:00:00Z", "en", "UTC")).toMatch(/Dec 7, 2026.*8:00\sPM/);
    expect(formatBankTime(null, "en")).toBe("—");
    expect(formatBankTime("not a time", "en")).toBe("not a time");
  });
});

describe("a rule's trigger", () => {
  const t = (key: string, options?: Record<string, unknown>) => (options?.days !== undefined ? `${key}:${options.days}` : key);

  it("names a moment by its event, and a schedule by the days before the birthday", () => {
    expect(triggerLabel(t, { eventType: "DepositMaturing", pattern: {} })).toBe("events.DepositMaturing");
    expect(triggerLabel(t, { schedule: "birthday", daysAhead: 5 })).toBe("mot.birthday:5");
    expect(birthdayDays({ schedule: "birthday" })).toBe(3);
    expect(triggerMoment({ schedule: "birthday", daysAhead: 1 })).toBeNull();
  });
});
