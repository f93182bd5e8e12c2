import { describe, expect, it } from "vitest";

import type { CampaignReport } from "../../../lib/types";
import { armRows, burnDown, nearExhaustion, periodRows, uplift } from "./reportMath";

const window = { startsAt: "2026-12-01T00:00:00Z", endsAt: "2026-12-31T00:00:00Z" };

function report(overrides: Partial<CampaignReport> = {}): CampaignReport {
  return {
    campaignId: "camp-1",
    status: "active",
    metric: "card_spend",
    budgetUnit: "rewards",
    currency: null,
    spendCurrency: "CNY",
    arms: [
      { arm: "control", targeted: 10, granted: 0, notified: 0, notificationsDelivered: 0, notificationsFailed: 0, redeemed: 0, cancelled: 0, compensating: 0, compensated: 0, partlyDelivered: 0, cost: 0, spendPerTargetedMinor: 10000, upliftVsControl: null },
      { arm: "main", targeted: 90, granted: 80, notified: 70, notificationsDelivered: 65, notificationsFailed: 3, redeemed: 20, cancelled: 0, compensating: 0, compensated: 1, partlyDelivered: 1, cost: 80, spendPerTargetedMinor: 12500, upliftVsControl: 0.25 },
    ],
    budget: { total: { limit: 100, spent: 60, left: 40 }, daily: { limit: 10, spent: 5, left: 5 } },
    forecast: { burnPerDay: 10, exhaustsAt: "2026-12-11T00:00:00Z", lastsTheWindow: false },
    ...overrides,
  };
}

describe("the budget burn-down", () => {
  it("draws the average burn since the window opened on to the day the budget runs out", () => {
    const burn = burnDown({ limit: 100, spent: 60, left: 40 }, window, new Date("2026-12-07T00:00:00Z"));
    expect(burn.burnPerDay).toBe(10);
    expect(burn.exhaustsAt).toBe("2026-12-11T00:00:00Z");
    expect(burn.lastsTheWindow).toBe(false);
    expect(burn.actual).toEqual([["2026-12-01T00:00:00Z", 100], ["2026-12-07T00:00:00Z", 40]]);
    expect(burn.forecast).toEqual([["2026-12-07T00:00:00Z", 40], ["2026-12-11T00:00:00Z", 0]]);
    expect(burn.pace).toEqual([["2026-12-01T00:00:00Z", 100], ["2026-12-31T00:00:00Z", 0]]);
  });

  it("stops the forecast at the window's end when the budget lasts", () => {
    const burn = burnDown({ limit: 100, spent: 12, left: 88 }, window, new Date("2026-12-07T00:00:00Z"));
    expect(burn.burnPerDay).toBe(2);
    expect(burn.lastsTheWindow).toBe(true);
    expect(burn.forecast.at(-1)).toEqual(["2026-12-31T00:00:00Z", 40]);
  });

  it("has no forecast before anything is spent or before the window opens", () => {
    expect(burnDown({ limit: 100, spent: 0, left: 100 }, window, new Date("2026-12-07T00:00:00Z"))).toMatchObject({ forecast: [], exhaustsAt: null, lastsTheWindow: true, burnPerDay: 0 });
    expect(burnDown({ limit: 100, spent: 0, left: 100 }, window, new Date("2026-11-07T00:00:00Z")).actual).toEqual([["2026-12-01T00:00:00Z", 100]]);
  });
});

describe("uplift and the arms", () => {
  it("computes the uplift as the API does: (spend − control's) / control's", () => {
    expect(uplift(12500, 10000)).toBe(0.25);
    expect(uplift(12500, 0)).toBeNull();
    expect(uplift(null, 10000)).toBeNull();
  });

  it("adds the redemption rate, the incremental spend and the cost per grant", () => {
    const [control, main] = armRows(report());
    expect(control).toMatchObject({ uplift: null, incrementalSpendMinor: null, redemptionRate: null });
    expect(main).toMatchObject({ uplift: 0.25, incrementalSpendMinor: 2500, redemptionRate: 0.25, costPerGrant: 1 });
  });

  it("fills in an uplift the API left out", () => {
    const rows = armRows(report({ arms: [report().arms[0]!, { ...report().arms[1]!, upliftVsControl: null, spendPerTargetedMinor: 15000 }] }));
    expect(rows[1]?.uplift).toBe(0.5);
  });
});

describe("the budget per period", () => {
  it("lists the periods the campaign has, with the share used", () => {
    expect(periodRows(report())).toEqual([
      { period: "total", limit: 100, spent: 60, left: 40, usedRatio: 0.6 },
      { period: "daily", limit: 10, spent: 5, left: 5, usedRatio: 0.5 },
    ]);
  });

  it("calls a budget close to exhaustion at 80% used, or when it runs out before the window ends", () => {
    expect(nearExhaustion(report(), window)).toBe(true);
    const comfortable = report({ budget: { total: { limit: 100, spent: 10, left: 90 } }, forecast: { burnPerDay: 1, exhaustsAt: "2027-03-01T00:00:00Z", lastsTheWindow: true } });
    expect(nearExhaustion(comfortable, window)).toBe(false);
  });
});
