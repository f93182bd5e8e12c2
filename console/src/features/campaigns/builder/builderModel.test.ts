import schemas from "virtual:openapi-schemas";
import { describe, expect, it } from "vitest";

import { SchemaValidator } from "../../../forms/schemaValidator";
import type { Campaign } from "../../../lib/types";
import { MemoryStorage } from "../../../test/storage";
import {
  blankValues,
  builderProblems,
  loadDraft,
  saveDraft,
  stepOf,
  stepsFor,
  toCampaignRequest,
  toFromTemplate,
  valuesFromCampaign,
  type BuilderValues,
} from "./builderModel";

const validator = new SchemaValidator(schemas);
const NOW = new Date("2026-12-07T06:20:00Z");

function fromTemplate(overrides: Partial<BuilderValues> = {}): BuilderValues {
  return {
    ...blankValues(NOW),
    campaignId: "camp-1",
    name: "Dinner for a coupon",
    fundingCostCentre: "cc-marketing",
    parameters: { minAmountMinor: 100000, mccs: ["5812"], couponTemplateId: "tpl-1", currency: "CNY" },
    ...overrides,
  };
}

function blank(overrides: Partial<BuilderValues> = {}): BuilderValues {
  return {
    ...blankValues(NOW),
    source: "blank",
    campaignId: "camp-2",
    name: "Hand-written",
    fundingCostCentre: "cc-marketing",
    variants: [{ variantId: "main", weightPercent: 100, actions: [{ type: "issue_coupon", templateId: "tpl-1", costMinor: 0 }] }],
    ...overrides,
  };
}

describe("the campaign builder's body", () => {
  it("from a template: the FromTemplate fields and the template's parameters, nothing else", () => {
    const body = toFromTemplate(fromTemplate());
    expect(body).toEqual({
      campaignId: "camp-1",
      name: "Dinner for a coupon",
      window: { startsAt: "2026-12-07T07:00:00Z", endsAt: "2027-01-06T07:00:00Z" },
      budget: { unit: "rewards", total: 1000 },
      fundingCostCentre: "cc-marketing",
      controlPercent: 10,
      parameters: { minAmountMinor: 100000, mccs: ["5812"], couponTemplateId: "tpl-1", currency: "CNY" },
    });
    expect(builderProblems(fromTemplate(), validator)).toEqual([]);
  });

  it("from a template: a required parameter missing is on its field", () => {
    const values = fromTemplate({ parameters: { couponTemplateId: "tpl-1" } });
    expect(builderProblems(values, validator).map((p) => p.path.join("."))).toEqual(["parameters.minAmountMinor"]);
    expect(builderProblems(fromTemplate({ parameters: { minAmountMinor: 1, couponTemplateId: "t", mccs: ["58"] } }), validator).map((p) => p.keyword)).toEqual(["mcc"]);
  });

  it("blank: the pattern editor's JSON becomes the trigger's pattern; bad JSON is a problem on the editor", () => {
    const values = blank({ trigger: { type: "event", eventType: "CardTransactionPosted", currency: "CNY", mccs: [], pattern: '{"channel": ["pos"]}' } });
    expect(toCampaignRequest(values).trigger).toEqual({ type: "event", eventType: "CardTransactionPosted", currency: "CNY", mccs: [], pattern: { channel: ["pos"] } });
    expect(builderProblems(values, validator)).toEqual([]);
    const broken = blank({ trigger: { type: "event", eventType: "CardTransactionPosted", pattern: '{"channel": ' } });
    expect(builderProblems(broken, validator)).toEqual([{ path: ["trigger", "pattern"], keyword: "json", params: {} }]);
  });

  it("blank: switching kinds leaves the other kind's fields out of the body", () => {
    const values = blank({
      trigger: { type: "schedule", eventType: "CardTransactionPosted", minAmountMinor: 5, expression: "cron(0 9 * * ? *)", pattern: "" },
      variants: [{ variantId: "main", weightPercent: 100, actions: [{ type: "award_points", templateId: "left-over", points: 10, costCentre: "cc" }] }],
    });
    const body = toCampaignRequest(values);
    expect(body.trigger).toEqual({ type: "schedule", expression: "cron(0 9 * * ? *)" });
    expect(body.variants[0]?.actions).toEqual([{ type: "award_points", points: 10, costCentre: "cc" }]);
    expect(builderProblems(values, validator)).toEqual([]);
  });

  it("blank: a budget in rewards names no currency; quiet hours only when switched on; empty target dropped", () => {
    const values = blank({ budget: { unit: "rewards", currency: "CNY", total: 10, daily: null }, quietHoursOn: false, trigger: { type: "event", eventType: "CheckInCompleted", target: {}, streakDays: 7 } });
    const body = toCampaignRequest(values);
    expect(body.budget).toEqual({ unit: "rewards", total: 10 });
    expect(body.quietHours).toBeNull();
    expect(body.trigger).toEqual({ type: "event", eventType: "CheckInCompleted", streakDays: 7 });
    expect(toCampaignRequest({ ...values, quietHoursOn: true }).quietHours).toEqual({ start: "22:00", end: "08:00" });
  });

  it("blank: variant weights must add up to 100", () => {
    const values = blank({
      variants: [
        { variantId: "a", weightPercent: 50, actions: [{ type: "issue_coupon", templateId: "t" }] },
        { variantId: "b", weightPercent: 40, actions: [{ type: "issue_coupon", templateId: "t" }] },
      ],
    });
    expect(builderProblems(values, validator)).toEqual([{ path: ["variants"], keyword: "weightsSum", params: { sum: 90 } }]);
  });

  it("says which step a field is on, and which steps a template skips", () => {
    expect(stepOf(["window", "endsAt"])).toBe("basics");
    expect(stepOf(["parameters", "minAmountMinor"])).toBe("trigger");
    expect(stepOf(["variants", 0, "actions", 0, "templateId"])).toBe("variants");
    expect(stepOf(["quietHours", "start"])).toBe("caps");
    expect(stepsFor("template")).toEqual(["source", "basics", "trigger", "variants", "budget", "review"]);
  });

  it("a saved draft reads back as the same request", () => {
    const request = toCampaignRequest(blank({ trigger: { type: "event", eventType: "CardTransactionPosted", mccs: ["5812"], pattern: '{"channel":["pos"]}' } }));
    const saved = { ...request, status: "draft", effectiveStatus: "draft", version: 1, author: "op-alice", updatedAt: "2026-12-07T06:20:00Z" } as Campaign;
    expect(toCampaignRequest(valuesFromCampaign(saved))).toEqual(request);
  });

  it("keeps the draft and its Idempotency-Key in sessionStorage, per campaign", () => {
    const storage = new MemoryStorage();
    saveDraft({ values: fromTemplate(), step: 3, key: "key-1", editing: null }, storage);
    expect(loadDraft(null, storage)?.key).toBe("key-1");
    expect(loadDraft("camp-9", storage)).toBeNull();
  });
});
