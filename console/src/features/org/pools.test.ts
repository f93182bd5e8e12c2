import { describe, expect, it } from "vitest";

import type { OrgPoolRollup } from "../../lib/types";
import { pacingSeries, poolAmount, usedShare } from "./pools";

const POOL: OrgPoolRollup["pool"] = {
  poolId: "2027-Q1.CNY", unitId: "sh", period: "2027-Q1", measure: "CNY", allocation: 300_000, allocatedOnward: 100_000, spent: 50_000,
  left: 150_000, plan: { granularity: "month", shape: "even", weights: [], tolerancePercent: 10 }, planToDate: 66_666, allowance: 73_333,
};

function node(unitId: string, allocation: number, allocatedOnward: number, spent: number): OrgPoolRollup["units"][number] {
  return { unitId, parentId: null, kind: "branch", name: unitId, depth: 1, hasPool: true, allocation, allocatedOnward, committed: 0, spent,
           subtreeSpent: spent, left: allocation - allocatedOnward - spent };
}

describe("pools", () => {
  it("shows minor units in major units and reward units as they are", () => {
    expect(poolAmount("CNY", 12_345)).toBe(123.45);
    expect(poolAmount("rewards", 7)).toBe(7);
  });

  it("draws the plan and the allowance slice by slice, with the spend so far", () => {
    const rollup: OrgPoolRollup = {
      pool: POOL,
      units: [],
      pacing: [
        { startsOn: "2027-01-01", planned: 66_666, allowance: 73_333 },
        { startsOn: "2027-02-01", planned: 133_333, allowance: 146_666 },
      ],
    };
    expect(pacingSeries(rollup)).toEqual({
      days: ["2027-01-01", "2027-02-01"], planned: [666.66, 1333.33], allowance: [733.33, 1466.66], spent: [500, 500],
    });
  });

  it("says how much of each node's allocation is used", () => {
    expect(usedShare(node("bj", 200, 50, 50))).toBe(0.5);
    expect(usedShare(node("empty", 0, 0, 0))).toBe(0);
  });
});
