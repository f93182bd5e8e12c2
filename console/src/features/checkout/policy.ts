/** The stacking policy's pure helpers (docs/checkout.md, "The policy model"). */
import type { StackingPolicy } from "../../lib/types";

export interface GroupRow {
  name: string;
  exclusive: boolean;
  maxPerOrder: number;
  combinesWith: string[];
  templates: string[];
}

/** One row per group, with the templates the policy puts in it (`default` also takes every template it does not name). */
export function groupRows(policy: StackingPolicy): GroupRow[] {
  const templates = Object.entries(policy.templateGroups ?? {});
  return Object.entries(policy.groups ?? {}).map(([name, rule]) => ({
    name,
    exclusive: rule.exclusive ?? false,
    maxPerOrder: rule.maxPerOrder ?? 1,
    combinesWith: rule.combinesWith ?? [],
    templates: templates.filter(([, group]) => group === name).map(([template]) => template).sort(),
  }));
}

/** The policy an operator typed: an object, or the reason it is not one (the API checks the rest). */
export function parsePolicy(text: string): { policy: StackingPolicy | null; problem: string | null } {
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { policy: null, problem: "not an object" };
    return { policy: value as StackingPolicy, problem: null };
  } catch (error) {
    return { policy: null, problem: error instanceof Error ? error.message : String(error) };
  }
}
