import { compact } from "../campaigns/builder/builderModel";
import type { SegmentDefinition } from "../../lib/types";

type Loose = Record<string, unknown>;

export interface SegmentValues {
  segmentId?: string;
  name?: string;
  active?: boolean;
  rule?: Loose & { aumMinor?: { min?: number | null; max?: number | null } | null; scores?: Record<string, { min?: number | null; max?: number | null }> };
}

function bound(value: { min?: number | null; max?: number | null } | null | undefined): Loose | undefined {
  if (!value) return undefined;
  const out: Loose = {};
  if (value.min !== null && value.min !== undefined) out.min = value.min;
  if (value.max !== null && value.max !== undefined) out.max = value.max;
  return Object.keys(out).length ? out : undefined;
}

/** The body of POST/PUT segments: bounds the operator left empty are no bounds at all. */
export function segmentBody(values: SegmentValues): SegmentDefinition {
  const rule: Loose = { ...(values.rule ?? {}) };
  const aum = bound(values.rule?.aumMinor);
  if (aum) rule.aumMinor = aum;
  else delete rule.aumMinor;
  const scores = Object.fromEntries(
    Object.entries(values.rule?.scores ?? {})
      .map(([name, range]) => [name, bound(range)] as const)
      .filter(([, range]) => range !== undefined),
  );
  if (Object.keys(scores).length) rule.scores = scores;
  else delete rule.scores;
  return compact({ segmentId: values.segmentId, name: values.name, active: values.active, rule }) as unknown as SegmentDefinition;
}
