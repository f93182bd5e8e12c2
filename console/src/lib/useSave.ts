/**
 * A save as the API wants it: one Idempotency-Key per operation, kept across automatic retries
 * (network failures, 5xx, 429) and across the operator's own retry after a failure that may have
 * reached the API, so a save is made at most once. The key is renewed after a success, and after a
 * refusal (4xx): the refused operation did not happen, and the corrected one is a new operation.
 */
import { useMutation } from "@tanstack/react-query";
import { useRef } from "react";

import { isTransient, newIdempotencyKey, retrying } from "../api/client";

export interface SaveOptions<Vars, Result> {
  save: (vars: Vars, key: string) => Promise<Result>;
  onSuccess?: (result: Result, vars: Vars) => void;
  /** Where the key lives when it must outlive the screen (a draft kept through a new sign-in). */
  initialKey?: string;
  onKeyChange?: (key: string) => void;
}

export function useSave<Vars, Result>({ save, onSuccess, initialKey, onKeyChange }: SaveOptions<Vars, Result>) {
  const key = useRef(initialKey ?? newIdempotencyKey());
  const renew = () => {
    key.current = newIdempotencyKey();
    onKeyChange?.(key.current);
  };
  return useMutation<Result, unknown, Vars>({
    mutationFn: (vars) => retrying((k) => save(vars, k), { key: key.current }),
    onSuccess: (result, vars) => {
      renew();
      onSuccess?.(result, vars);
    },
    onError: (error) => {
      if (!isTransient(error)) renew();
    },
  });
}
