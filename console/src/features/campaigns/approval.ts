import type { Session } from "../../auth/session";
import { APPROVERS } from "../../auth/session";
import type { Campaign } from "../../lib/types";

/** Why this person may not approve (an i18n key), or null: maker-checker, as the API enforces it. */
export function approvalBlock(campaign: Campaign, session: Session | null): string | null {
  if (!session || !session.groups.includes(APPROVERS)) return "approvals.notApprover";
  if (campaign.author === session.subject) return "approvals.ownCampaign";
  if (campaign.status !== "pending_approval") return "approvals.notPending";
  return null;
}
