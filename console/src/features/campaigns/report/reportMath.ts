/**
 * The campaign report's figures, from GET /v1/admin/campaigns/{id}/report: the budget burn-down and
 * its forecast (a straight line at the average burn since the window opened, as the API forecasts),
 * the uplift of each arm against control, and the budget per period.
 */
import type { ArmReport, BudgetUse, CampaignReport } from "../../../lib/types";

const DAY_MS = 86_400_000;

export type Point = [string, number];

export interface BurnDown {
  /** What was left: the limit when the window opened, and now. */
  actual: Point[];
  /** From now, at the average burn, to the day it runs out or the window ends. */
  forecast: Point[];
  /** Even pacing: the limit spread evenly over the window (the line to stay on). */
  pace: Point[];
  burnPerDay: number;
  /** When nothing is left at this burn; null when nothing is burning. */
  exhaustsAt: string | null;
  lastsTheWindow: boolean;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function burnDown(use: BudgetUse, window: { startsAt: string; endsAt: string }, now: Date): BurnDown {
  const start = Date.parse(window.startsAt);
  const end = Date.parse(window.endsAt);
  const at = Math.min(Math.max(now.getTime(), start), end);
  const left = Math.max(use.limit - use.spent, 0);
  const pace: Point[] = [
    [iso(start), use.limit],
    [iso(end), 0],
  ];
  const elapsedDays = (at - start) / DAY_MS;
  if (elapsedDays <= 0 || use.spent <= 0) {
    return { actual: [[iso(start), use.limit], ...(at > start ? [[iso(at), left] as Point] : [])], forecast: [], pace, burnPerDay: 0, exhaustsAt: null, lastsTheWindow: true };
  }
  const burnPerDay = use.spent / elapsedDays;
  const exhausts = at + (left / burnPerDay) * DAY_MS;
  const forecastEnd = Math.min(exhausts, end);
  const leftAtEnd = Math.max(left - burnPerDay * ((forecastEnd - at) / DAY_MS), 0);
  return {
    actual: [
      [iso(start), use.limit],
      [iso(at), left],
    ],
    forecast: forecastEnd > at ? [[iso(at), left], [iso(forecastEnd), Math.round(leftAtEnd * 100) / 100]] : [],
    pace,
    burnPerDay,
    exhaustsAt: iso(exhausts),
    lastsTheWindow: exhausts >= end,
  };
}

/** (spend per targeted − control's) / control's: the API's uplift, for a figure it has not given. */
export function uplift(spendPerTargeted: number | null, controlSpend: number | null): number | null {
  if (spendPerTargeted === null || controlSpend === null || controlSpend === 0) return null;
  return (spendPerTargeted - controlSpend) / controlSpend;
}

export interface ArmRow extends ArmReport {
  redemptionRate: number | null;
  /** Card spend per targeted customer above control's, in minor units. */
  incrementalSpendMinor: number | null;
  costPerGrant: number | null;
  uplift: number | null;
}

export function armRows(report: CampaignReport): ArmRow[] {
  const control = report.arms.find((arm) => arm.arm === "control");
  const controlSpend = control?.spendPerTargetedMinor ?? null;
  return report.arms.map((arm) => ({
    ...arm,
    redemptionRate: arm.granted > 0 ? arm.redeemed / arm.granted : null,
    incrementalSpendMinor: arm.arm !== "control" && arm.spendPerTargetedMinor !== null && controlSpend !== null ? arm.spendPerTargetedMinor - controlSpend : null,
    costPerGrant: arm.granted > 0 ? arm.cost / arm.granted : null,
    uplift: arm.arm === "control" ? null : (arm.upliftVsControl ?? uplift(arm.spendPerTargetedMinor, controlSpend)),
  }));
}

export interface PeriodRow extends BudgetUse {
  period: "total" | "daily" | "weekly" | "monthly";
  usedRatio: number | null;
}

export function periodRows(report: CampaignReport): PeriodRow[] {
  const rows: PeriodRow[] = [];
  for (const period of ["total", "daily", "weekly", "monthly"] as const) {
    const use = report.budget[period];
    if (use) rows.push({ period, ...use, usedRatio: use.limit > 0 ? use.spent / use.limit : null });
  }
  return rows;
}

/** Budgets used up to this share count as close to exhaustion (home screen, report). */
export const NEAR_EXHAUSTION = 0.8;

export function nearExhaustion(report: CampaignReport, window: { endsAt: string }): boolean {
  const total = report.budget.total;
  const used = total.limit > 0 ? total.spent / total.limit : 0;
  const early = report.forecast.exhaustsAt !== null && Date.parse(report.forecast.exhaustsAt) < Date.parse(window.endsAt);
  return used >= NEAR_EXHAUSTION || early;
}
