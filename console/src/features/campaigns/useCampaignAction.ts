import { useQueryClient } from "@tanstack/react-query";

import { ok, withIdempotencyKey } from "../../api/client";
import { useApi } from "../../lib/api";
import { keys } from "../../lib/queries";
import type { Campaign } from "../../lib/types";
import { useSave } from "../../lib/useSave";

export type Transition = "submit" | "approve" | "reject" | "pause" | "resume" | "end";

/** A lifecycle transition (maker-checker, the kill switch), saved with one key across retries. */
export function useCampaignAction(campaignId: string, onDone?: (campaign: Campaign) => void) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useSave<{ action: Transition; note: string }, Campaign>({
    save: ({ action, note }, key) => {
      const options = { params: { path: { campaignId } }, body: note.trim() ? { note: note.trim() } : {}, ...withIdempotencyKey(key) };
      switch (action) {
        case "submit":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/submit", options));
        case "approve":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/approve", options));
        case "reject":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/reject", options));
        case "pause":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/pause", options));
        case "resume":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/resume", options));
        case "end":
          return ok(api.POST("/v1/admin/campaigns/{campaignId}/end", options));
      }
    },
    onSuccess: (campaign) => {
      queryClient.setQueryData(keys.campaign(campaignId), campaign);
      void queryClient.invalidateQueries({ queryKey: ["campaigns"] });
      void queryClient.invalidateQueries({ queryKey: keys.campaignAudit(campaignId) });
      onDone?.(campaign);
    },
  });
}
