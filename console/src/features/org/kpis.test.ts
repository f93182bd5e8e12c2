import { describe, expect, it } from "vitest";

import { leagueSeries, periodOptions, rankValue, type LeagueTable, type UnitKpis } from "./kpis";

function row(unitId: string, fields: Partial<UnitKpis> = {}): UnitKpis {
  return {
    unitId, name: unitId.toUpperCase(), kind: "sub_branch", status: "open", rank: 1, newCustomers: 0, activeCustomers: 0, aumMinor: 0,
    aumPreviousMinor: 0, aumGrowthMinor: 0, aumGrowthPercent: null, grants: 0, controlGrants: 0, grantCostMinor: 0, grantCostRewards: 0,
    couponsIssued: 0, couponsRedeemed: 0, redemptionRate: null, treatedCustomers: 0, controlCustomers: 0, treatedSpendMinor: 0,
    controlSpendMinor: 0, upliftPercent: null, ...fields,
  };
}

describe("league table helpers", () => {
  it("offers the last months, newest first, then their quarters", () => {
    const options = periodOptions(new Date(Date.UTC(2026, 11, 7)), 4);
    expect(options).toEqual(["2026-12", "2026-11", "2026-10", "2026-09", "2026-Q4", "2026-Q3"]);
    expect(periodOptions(new Date(Date.UTC(2026, 0, 15)), 2)).toEqual(["2026-01", "2025-12", "2026-Q1", "2025-Q4"]);
  });

  it("charts the ranked value, a missing rate as 0", () => {
    const table: LeagueTable = {
      unitId: "b", period: "2026-11", aumMonth: "2026-11", aumBaseMonth: "2026-10", rankBy: "redemptionRate", total: row("b"),
      units: [row("s1", { redemptionRate: 0.5 }), row("s2")],
    };
    expect(rankValue(row("s2"), "redemptionRate")).toBeNull();
    expect(leagueSeries(table, (r) => r.name ?? r.unitId)).toEqual({ names: ["S1", "S2"], values: [0.5, 0] });
  });
});

describe("campaign uplift in the league table", () => {
  it("ranks by uplift, a unit without control spend last", () => {
    const table = { rankBy: "upliftPercent", units: [row("a", { upliftPercent: 20 }), row("b")] } as unknown as LeagueTable;
    expect(leagueSeries(table, (r) => r.unitId)).toEqual({ names: ["a", "b"], values: [20, 0] });
    expect(rankValue(row("b"), "upliftPercent")).toBeNull();
  });
});
