import schemas from "virtual:openapi-schemas";
import { describe, expect, it } from "vitest";

import { SchemaValidator } from "./schemaValidator";

const validator = new SchemaValidator(schemas);

const campaign = {
  campaignId: "camp-1",
  name: "Spend 1000 get 50",
  window: { startsAt: "2027-01-01T00:00:00Z", endsAt: "2027-02-01T00:00:00Z" },
  trigger: { type: "event", eventType: "CardTransactionPosted", minAmountMinor: 100000 },
  variants: [{ variantId: "main", weightPercent: 100, actions: [{ type: "issue_coupon", templateId: "tpl-1" }] }],
  budget: { unit: "rewards", total: 100 },
  fundingCostCentre: "cc-marketing",
};

const paths = (value: unknown, name = "CampaignRequest") => validator.validate(name, value).map((p) => `${p.path.join(".")}:${p.keyword}`);

describe("the schema validator, on the document's own schemas", () => {
  it("accepts a valid campaign", () => {
    expect(validator.validate("CampaignRequest", campaign)).toEqual([]);
  });

  it("names each missing required field", () => {
    const { name: _name, fundingCostCentre: _cc, ...rest } = campaign;
    expect(paths(rest)).toEqual(["name:required", "fundingCostCentre:required"]);
  });

  it("reports an empty required string as required, with the schema's bounds otherwise", () => {
    expect(paths({ ...campaign, name: "" })).toContain("name:required");
    expect(paths({ ...campaign, campaignId: "x".repeat(65) })).toContain("campaignId:maxLength");
    expect(paths({ ...campaign, campaignId: "bad id" })).toContain("campaignId:pattern");
  });

  it("follows the discriminator to the one branch of a union", () => {
    const problems = validator.validate("CampaignRequest", { ...campaign, trigger: { type: "event", eventType: "Nope" } });
    expect(problems).toEqual([{ path: ["trigger", "eventType"], keyword: "enum", params: expect.objectContaining({ allowed: expect.arrayContaining(["CardTransactionPosted"]) }) }]);
    expect(paths({ ...campaign, trigger: { type: "telepathy" } })).toEqual(["trigger.type:enum"]);
    expect(paths({ ...campaign, trigger: { type: "schedule" } })).toEqual(["trigger.expression:required"]);
  });

  it("checks array items and refuses fields the schema does not have", () => {
    const variants = [{ variantId: "main", weightPercent: 0, actions: [{ type: "issue_coupon", templateId: "t", colour: "red" }] }];
    expect(paths({ ...campaign, variants })).toEqual(["variants.0.weightPercent:minimum", "variants.0.actions.0.colour:additionalProperties"]);
    expect(paths({ ...campaign, variants: [] })).toEqual(["variants:minItems"]);
  });

  it("takes null where the schema allows it, and says what the other branch wants otherwise", () => {
    expect(paths({ ...campaign, quietHours: null })).toEqual([]);
    expect(paths({ ...campaign, quietHours: { start: "22:00" } })).toEqual(["quietHours.end:required"]);
    expect(paths({ ...campaign, quietHours: { start: "late", end: "08:00" } })).toEqual(["quietHours.start:format"]);
  });

  it("checks formats and integer types", () => {
    expect(paths({ ...campaign, window: { startsAt: "tomorrow", endsAt: "2027-02-01T00:00:00Z" } })).toEqual(["window.startsAt:format"]);
    expect(paths({ ...campaign, controlPercent: 12.5 })).toEqual(["controlPercent:type"]);
    expect(paths({ ...campaign, controlPercent: 101 })).toEqual(["controlPercent:maximum"]);
  });

  it("reports an anyOf of required fields by its closest branch (a payer for the funding)", () => {
    const template = {
      templateId: "tpl-1",
      name: "20 off 100",
      benefit: { kind: "threshold", thresholdMinor: 10000, amountMinor: 2000, currency: "CNY" },
      totalStock: 100,
      validity: { type: "days_after_claim", days: 30 },
      funding: { unitCostMinor: 2000, currency: "CNY" },
    };
    expect(paths(template, "TemplateCreate")).toEqual(["funding.costCentre:required"]);
    expect(paths({ ...template, funding: { ...template.funding, merchantId: "m-1" } }, "TemplateCreate")).toEqual([]);
    const funded = { ...template, funding: { ...template.funding, costCentre: "cc" } };
    expect(paths({ ...funded, benefit: { kind: "threshold", amountMinor: 0, currency: "CNY" } }, "TemplateCreate")).toEqual([
      "benefit.thresholdMinor:required",
      "benefit.amountMinor:exclusiveMinimum",
    ]);
  });

  it("applies `not` (a points adjustment of zero)", () => {
    expect(paths({ points: 0, reason: "x", costCentre: "cc" }, "AdjustmentRequest")).toEqual(["points:not"]);
  });
});
