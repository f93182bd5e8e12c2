import { describe, expect, it } from "vitest";

import type { OrgUnitForecast } from "../../lib/types";
import { forecastSeries, rateRows } from "./forecast";

function month(label: string, campaigns: number, coupons: number, points: number): OrgUnitForecast["months"][number] {
  return {
    month: label,
    campaigns: { amountMinor: campaigns, byCampaign: [] },
    coupons: { amountMinor: coupons, outstanding: 0, byTemplate: [] },
    points: { amountMinor: points, expiringPoints: 0, expectedPoints: 0, redemptionRate: 0.75, pointValueMinor: 1 },
    totalMinor: campaigns + coupons + points,
  };
}

const FORECAST: OrgUnitForecast = {
  unitId: "sh",
  currency: "CNY",
  asOf: "2026-12-07T00:00:00.000000Z",
  months: [month("2026-12", 10_000, 250, 75), month("2027-01", 0, 1_200, 0)],
  totalMinor: 11_525,
  campaigns: [
    { campaignId: "c-1", orgUnitId: "sh", totalMinor: 20_000, spentMinor: 10_000, remainingMinor: 10_000, method: "burn", burnPerDayMinor: 500,
      startsAt: "", endsAt: "2026-12-31T00:00:00Z", afterHorizonMinor: 0 },
  ],
  templates: [
    { templateId: "t-1", valueMinor: 500, valueBasis: "face", redeemed: 30, expired: 10, revoked: 0, redemptionRate: 0.75, rateBasis: "observed",
      outstandingAfterHorizon: 0 },
  ],
  points: { redeemed: 750, expired: 250, redemptionRate: 0.75, rateBasis: "observed", pointValueMinor: 1, expiringAfterHorizon: 0 },
  leftOut: { campaigns: [], templates: [] },
};

describe("the cash-need forecast", () => {
  it("charts each part by month in major units", () => {
    expect(forecastSeries(FORECAST)).toEqual({
      months: ["2026-12", "2027-01"],
      series: [
        { part: "campaigns", amounts: [100, 0] },
        { part: "coupons", amounts: [2.5, 12] },
        { part: "points", amounts: [0.75, 0] },
      ],
    });
  });

  it("lists every rate it used: campaigns' burns, templates' and points' redemption rates", () => {
    const rows = rateRows(FORECAST);
    expect(rows.map((r) => [r.what, r.id, r.rate, r.basis])).toEqual([
      ["campaign", "c-1", null, "burn"],
      ["template", "t-1", 0.75, "observed"],
      ["points", "points", 0.75, "observed"],
    ]);
  });
});
