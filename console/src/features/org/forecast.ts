import type { OrgUnitForecast } from "../../lib/types";

export const FORECAST_PARTS = ["campaigns", "coupons", "points"] as const;
export type ForecastPart = (typeof FORECAST_PARTS)[number];

/** The forecast chart's data: the months, and one series per part, in major units (yuan) for the axis. */
export function forecastSeries(forecast: OrgUnitForecast): { months: string[]; series: { part: ForecastPart; amounts: number[] }[] } {
  const months = forecast.months.map((m) => m.month);
  const series = FORECAST_PARTS.map((part) => ({ part, amounts: forecast.months.map((m) => m[part].amountMinor / 100) }));
  return { months, series };
}

export interface RateRow {
  key: string;
  what: "campaign" | "template" | "points";
  id: string;
  rate: number | null; // a redemption rate (templates, points); null for a campaign
  basis: string; // campaigns: burn, plan, none; rates: observed, pooled, assumed
  detail: Record<string, number | string | null>;
}

/** Every rate the forecast used, one row each: campaigns' burns, templates' and points' redemption rates. */
export function rateRows(forecast: OrgUnitForecast): RateRow[] {
  return [
    ...forecast.campaigns.map((c) => ({
      key: `campaign-${c.campaignId}`,
      what: "campaign" as const,
      id: c.campaignId,
      rate: null,
      basis: c.method,
      detail: { burnPerDayMinor: c.burnPerDayMinor, remainingMinor: c.remainingMinor, endsAt: c.endsAt },
    })),
    ...forecast.templates.map((t) => ({
      key: `template-${t.templateId}`,
      what: "template" as const,
      id: t.templateId,
      rate: t.redemptionRate,
      basis: t.rateBasis,
      detail: { valueMinor: t.valueMinor, redeemed: t.redeemed, expired: t.expired, revoked: t.revoked },
    })),
    {
      key: "points",
      what: "points" as const,
      id: "points",
      rate: forecast.points.redemptionRate,
      basis: forecast.points.rateBasis,
      detail: { redeemed: forecast.points.redeemed, expired: forecast.points.expired, pointValueMinor: forecast.points.pointValueMinor },
    },
  ];
}
