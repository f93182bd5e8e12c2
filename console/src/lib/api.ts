/**
 * The typed client (src/api/client.ts) as the screens use it: the session's token, a 401 sends the
 * person back to sign in, and TanStack Query's retries only for what a retry can fix.
 */
import { QueryClient } from "@tanstack/react-query";
import { useMemo } from "react";

import { ApiError, createApiClient, isTransient, type ApiClient } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { reportUnauthorized } from "./unauthorized";
import { useConfig } from "./ConfigContext";

async function watchedFetch(request: Request): Promise<Response> {
  const response = await fetch(request);
  if (response.status === 401) reportUnauthorized();
  return response;
}

export function useApi(): ApiClient {
  const { apiUrl } = useConfig();
  const { session } = useAuth();
  const token = session?.token ?? "";
  return useMemo(() => createApiClient({ baseUrl: apiUrl, token: () => token, fetch: watchedFetch }), [apiUrl, token]);
}

export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A read is repeated only when the failure may pass (network, 429, 5xx): a 4xx will not.
        retry: (failures, error) => failures < 2 && isTransient(error),
        staleTime: 15_000,
        refetchOnWindowFocus: false,
      },
      // Saves go through `retrying` (one Idempotency-Key across attempts) instead.
      mutations: { retry: false },
    },
  });
}

export { ApiError };
