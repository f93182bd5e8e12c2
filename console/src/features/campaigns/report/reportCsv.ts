import type { Cell } from "../../../lib/csv";
import type { CampaignReport } from "../../../lib/types";
import { armRows, periodRows } from "./reportMath";

/** The report as spreadsheet rows: arms, budget per period, budget per attribute, forecast. `label` names the headings. */
export function reportRows(report: CampaignReport, label: (key: string) => string): Cell[][] {
  const rows: Cell[][] = [
    [label("report.csv.campaign"), report.campaignId, label("report.csv.status"), report.status, label("report.csv.budgetUnit"), report.budgetUnit, report.currency ?? ""],
    [],
    [label("report.arm"), label("report.targeted"), label("report.granted"), label("report.notified"), label("report.notificationsDelivered"), label("report.notificationsFailed"), label("report.redeemed"), label("report.cancelled"), label("report.compensated"), label("report.partlyDelivered"), label("report.cost"), label("report.spendPerCustomer"), label("report.uplift")],
    ...armRows(report).map((arm) => [arm.arm, arm.targeted, arm.granted, arm.notified, arm.notificationsDelivered, arm.notificationsFailed, arm.redeemed, arm.cancelled, arm.compensated, arm.partlyDelivered, arm.cost, arm.spendPerTargetedMinor, arm.uplift]),
    [],
    [label("report.period"), label("report.limit"), label("report.spent"), label("report.left")],
    ...periodRows(report).map((row) => [row.period, row.limit, row.spent, row.left]),
  ];
  const shares = report.budget.byAttribute ?? [];
  if (shares.length) {
    rows.push([], [label("report.attribute"), label("report.value"), label("report.limit"), label("report.spent"), label("report.left")]);
    rows.push(...shares.map((share) => [share.attribute, share.value, share.limit, share.spent, share.left]));
  }
  rows.push([], [label("report.burnPerDay"), report.forecast.burnPerDay, label("report.exhaustsAt"), report.forecast.exhaustsAt ?? "", label("report.lastsTheWindow"), report.forecast.lastsTheWindow]);
  return rows;
}
