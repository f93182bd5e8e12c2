import { describe, expect, it } from "vitest";

import { asApiDetails, placeDetails, resolveField } from "./apiDetails";
import { fieldsFor } from "./fieldMatch";

const body = {
  window: { startsAt: "2027-02-01T00:00:00Z", endsAt: "2027-01-01T00:00:00Z" },
  trigger: { type: "event", eventType: "CardTransactionPosted", minAmountMinor: "a" },
  variants: [{ variantId: "main", actions: [{ type: "issue_coupon" }] }],
};

describe("the API's validation details on the form's fields", () => {
  it("skips the branch tag pydantic puts in a union's location", () => {
    expect(resolveField("trigger.event.minAmountMinor", body)).toEqual(["trigger", "minAmountMinor"]);
    expect(resolveField("variants.0.actions.0.issue_coupon.templateId", body)).toEqual(["variants", 0, "actions", 0, "templateId"]);
  });

  it("keeps a plain field, and the body as a whole is no field", () => {
    expect(resolveField("window", body)).toEqual(["window"]);
    expect(resolveField("(body)", body)).toBeNull();
    expect(resolveField("variants.x", body)).toBeNull();
  });

  it("splits details into those on known fields and the rest", () => {
    const details = asApiDetails([
      { field: "window", in: "body", problem: "Value error, the window must end after it starts" },
      { field: "trigger.event.minAmountMinor", in: "body", problem: "Input should be a valid integer" },
      { field: "(body)", in: "body", problem: "Field required" },
      { field: "idempotency-key", in: "header", problem: "missing" },
      "not a detail",
    ]);
    const fields = [["window", "startsAt"], ["window", "endsAt"], ["trigger", "minAmountMinor"]];
    const placed = placeDetails(details, body, (path) => fieldsFor(path, fields).length > 0);
    expect(placed.fields).toEqual([
      { path: ["window"], messages: ["Value error, the window must end after it starts"] },
      { path: ["trigger", "minAmountMinor"], messages: ["Input should be a valid integer"] },
    ]);
    expect(placed.general).toEqual(["Field required", "idempotency-key: missing"]);
  });

  it("puts a problem about an object on the fields inside it, and a deep one on the nearest field", () => {
    const fields = [["window", "startsAt"], ["window", "endsAt"], ["trigger", "pattern"]];
    expect(fieldsFor(["window"], fields)).toEqual([["window", "startsAt"], ["window", "endsAt"]]);
    expect(fieldsFor(["trigger", "pattern", "merchantId"], fields)).toEqual([["trigger", "pattern"]]);
    expect(fieldsFor(["budget"], fields)).toEqual([]);
  });
});
