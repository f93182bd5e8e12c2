import type { OrgPoolRollup } from "../../lib/types";

/** A pool's amount as the screen shows it: minor units of a currency in major units, reward units as they are. */
export function poolAmount(measure: string, amount: number): number {
  return measure === "rewards" ? amount : amount / 100;
}

/** The pacing chart's data: each slice's first day, the plan to date and the running allowance from
 *  it, and the pool's spend so far (a flat line: spend by day is not kept). */
export function pacingSeries(rollup: OrgPoolRollup): { days: string[]; planned: number[]; allowance: number[]; spent: number[] } {
  const { measure, spent } = rollup.pool;
  const days = rollup.pacing.map((p) => p.startsOn);
  return {
    days,
    planned: rollup.pacing.map((p) => poolAmount(measure, p.planned)),
    allowance: rollup.pacing.map((p) => poolAmount(measure, p.allowance)),
    spent: days.map(() => poolAmount(measure, spent)),
  };
}

/** Each node's share of its allocation used (allocated onward or spent), 0 without an allocation. */
export function usedShare(node: OrgPoolRollup["units"][number]): number {
  return node.allocation > 0 ? (node.allocatedOnward + node.spent) / node.allocation : 0;
}
