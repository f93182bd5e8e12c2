import type { Liability } from "../../lib/types";

/** Outstanding points by expiry month, one series per cost centre (the liability chart's data). */
export function liabilityByMonth(liability: Liability): { months: string[]; series: { costCentre: string; points: number[] }[] } {
  const months = [...new Set(liability.rows.map((r) => r.expiryMonth))].sort();
  const centres = [...new Set(liability.rows.map((r) => r.costCentre))].sort();
  const series = centres.map((costCentre) => ({
    costCentre,
    points: months.map((month) => liability.rows.filter((r) => r.costCentre === costCentre && r.expiryMonth === month).reduce((sum, r) => sum + r.points, 0)),
  }));
  return { months, series };
}
