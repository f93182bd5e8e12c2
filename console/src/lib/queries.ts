/** The reads several screens share, with one cache key each (a save invalidates by these keys). */
import { useQuery } from "@tanstack/react-query";

import { ok } from "../api/client";
import type { CampaignStatus } from "./types";
import { useApi } from "./api";

export const keys = {
  campaigns: (status?: CampaignStatus) => ["campaigns", status ?? "all"] as const,
  campaign: (id: string) => ["campaign", id] as const,
  campaignAudit: (id: string) => ["campaign", id, "audit"] as const,
  report: (id: string) => ["campaign", id, "report"] as const,
  couponTemplates: ["coupon-templates"] as const,
  couponTemplate: (id: string) => ["coupon-template", id] as const,
  segments: ["segments"] as const,
  campaignTemplates: ["campaign-templates"] as const,
};

export function useCampaigns(status?: CampaignStatus) {
  const api = useApi();
  return useQuery({
    queryKey: keys.campaigns(status),
    queryFn: () => ok(api.GET("/v1/admin/campaigns", { params: { query: status ? { status } : {} } })),
  });
}

export function useCampaign(campaignId: string | undefined) {
  const api = useApi();
  return useQuery({
    queryKey: keys.campaign(campaignId ?? ""),
    enabled: !!campaignId,
    queryFn: () => ok(api.GET("/v1/admin/campaigns/{campaignId}", { params: { path: { campaignId: campaignId ?? "" } } })),
  });
}

export function useCampaignTemplates() {
  const api = useApi();
  return useQuery({ queryKey: keys.campaignTemplates, queryFn: () => ok(api.GET("/v1/admin/campaign-templates")), staleTime: 300_000 });
}

/** The first 200 coupon templates: enough for a picker (the full list pages on the Coupons screen). */
export function useCouponTemplates() {
  const api = useApi();
  return useQuery({
    queryKey: keys.couponTemplates,
    queryFn: async () => {
      const first = await ok(api.GET("/v1/admin/coupon-templates", { params: { query: { limit: 100 } } }));
      if (!first.nextCursor) return first.items;
      const second = await ok(api.GET("/v1/admin/coupon-templates", { params: { query: { limit: 100, cursor: first.nextCursor } } }));
      return [...first.items, ...second.items];
    },
  });
}

export function useSegments() {
  const api = useApi();
  return useQuery({
    queryKey: keys.segments,
    queryFn: async () => (await ok(api.GET("/v1/admin/segments", { params: { query: { limit: 100 } } }))).items,
  });
}
