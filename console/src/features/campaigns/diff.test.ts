import { describe, expect, it } from "vitest";

import type { AuditEntry } from "../../lib/types";
import { diffCampaigns, lastApproved } from "./diff";

const approved = { campaignId: "c", name: "Old", status: "approved", version: 2, budget: { unit: "rewards", total: 100 }, variants: [{ variantId: "main", weightPercent: 100 }] };
const submitted = { campaignId: "c", name: "New", status: "pending_approval", version: 3, budget: { unit: "rewards", total: 150 }, variants: [{ variantId: "main", weightPercent: 100 }], quietHours: { start: "22:00", end: "08:00" } };

function entry(route: string, phase: AuditEntry["phase"], after: unknown): AuditEntry {
  return { actionId: "a", phase, at: "2026-12-07T00:00:00Z", who: "op-bob", route, resource: "campaigns/c", after: JSON.stringify(after) };
}

describe("the diff an approver reviews", () => {
  it("lists each changed field, ignoring the bookkeeping of versions and statuses", () => {
    expect(diffCampaigns(approved, submitted)).toEqual([
      { path: "budget.total", before: 100, after: 150 },
      { path: "name", before: "Old", after: "New" },
      { path: "quietHours.end", before: undefined, after: "08:00" },
      { path: "quietHours.start", before: undefined, after: "22:00" },
    ]);
  });

  it("finds the last approved version in the audit log (newest first), skipping refusals and other routes", () => {
    const entries = [
      entry("POST /v1/admin/campaigns/{campaignId}/submit", "completed", submitted),
      entry("POST /v1/admin/campaigns/{campaignId}/approve", "refused", { error: {} }),
      entry("POST /v1/admin/campaigns/{campaignId}/approve", "completed", approved),
      entry("POST /v1/admin/campaigns/{campaignId}/approve", "completed", { ...approved, version: 1 }),
    ];
    expect(lastApproved(entries)?.version).toBe(2);
    expect(lastApproved(entries.slice(0, 2))).toBeNull();
  });
});
