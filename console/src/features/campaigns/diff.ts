/**
 * What changed between the version an approver last approved and the one now submitted. The API
 * keeps no campaign versions to read back, but its audit log keeps every approval's answer (the
 * campaign as approved) in `after`: the last completed approval is the approved version.
 */
import type { AuditEntry, Campaign } from "../../lib/types";

export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

/** Bookkeeping that changes with every transition: not what an approver reviews. */
const NOT_REVIEWED = new Set(["status", "effectiveStatus", "version", "author", "updatedAt", "approvedBy", "approvedAt", "pausedReason"]);

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, []);
    value.forEach((item, index) => flatten(item, `${prefix}[${index}]`, out));
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [key, inner] of entries) {
      if (!prefix && NOT_REVIEWED.has(key)) continue;
      flatten(inner, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, value);
  }
}

export function diffCampaigns(before: unknown, after: unknown): Change[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten(before, "", a);
  flatten(after, "", b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((path) => JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path)))
    .map((path) => ({ path, before: a.get(path), after: b.get(path) }));
}

const APPROVE_ROUTE = "POST /v1/admin/campaigns/{campaignId}/approve";

/** The campaign as last approved, from audit entries (newest first), or null when never approved. */
export function lastApproved(entries: AuditEntry[]): Campaign | null {
  for (const entry of entries) {
    if (entry.route !== APPROVE_ROUTE || entry.phase !== "completed" || !entry.after) continue;
    try {
      return JSON.parse(entry.after) as Campaign;
    } catch {
      // Clipped at 16,000 characters by the audit log: too large to compare.
      return null;
    }
  }
  return null;
}
