/** The branch league table's pure helpers (docs/org-units.md, "Branch league table"). */
import type { Schema } from "../../api/client";

export type LeagueTable = Schema<"LeagueTable">;
export type UnitKpis = Schema<"UnitKpis">;
export type RankBy = LeagueTable["rankBy"];

export const RANK_BY: RankBy[] = ["activeCustomers", "newCustomers", "aumGrowthMinor", "grants", "grantCostMinor", "redemptionRate", "upliftPercent"];
export const UNASSIGNED = "~unassigned";

/** The months (newest first) and quarters a user may pick, from `today` back `count` months. */
export function periodOptions(today: Date, count = 13): string[] {
  const months: string[] = [];
  const quarters: string[] = [];
  for (let i = 0; i < count; i++) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - i, 1));
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    months.push(`${year}-${String(month).padStart(2, "0")}`);
    const quarter = `${year}-Q${Math.floor((month - 1) / 3) + 1}`;
    if (!quarters.includes(quarter)) quarters.push(quarter);
  }
  return [...months, ...quarters];
}

/** The value a row is ranked by (null: no rate). */
export function rankValue(row: UnitKpis, rankBy: RankBy): number | null {
  return row[rankBy] ?? null;
}

/** The chart's bars: units in rank order, each with its ranked value (0 where there is none). */
export function leagueSeries(table: LeagueTable, label: (row: UnitKpis) => string): { names: string[]; values: number[] } {
  return {
    names: table.units.map(label),
    values: table.units.map((row) => rankValue(row, table.rankBy) ?? 0),
  };
}
