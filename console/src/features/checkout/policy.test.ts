import { describe, expect, it } from "vitest";

import type { StackingPolicy } from "../../lib/types";
import { groupRows, parsePolicy } from "./policy";

describe("stacking policy helpers", () => {
  it("lists each group with its rules and the templates in it", () => {
    const policy = { groups: { default: { combinesWith: ["*"] }, vip: { exclusive: true } }, templateGroups: { "t-2": "vip", "t-1": "vip" } } as unknown as StackingPolicy;
    expect(groupRows(policy)).toEqual([
      { name: "default", exclusive: false, maxPerOrder: 1, combinesWith: ["*"], templates: [] },
      { name: "vip", exclusive: true, maxPerOrder: 1, combinesWith: [], templates: ["t-1", "t-2"] },
    ]);
  });

  it("takes an object and says why anything else is not one", () => {
    expect(parsePolicy('{"maxCoupons": 2}')).toEqual({ policy: { maxCoupons: 2 }, problem: null });
    expect(parsePolicy("[1]").problem).toBe("not an object");
    expect(parsePolicy("{").policy).toBeNull();
  });
});
