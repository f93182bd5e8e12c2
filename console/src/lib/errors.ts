/**
 * An error as an operator reads it: a sentence for the code (the translations' `errors.codes`),
 * else one for the status, and the code itself beside it so support can find it in the logs.
 */
import { ApiError } from "../api/client";

export interface ErrorDescription {
  /** i18n key of the sentence, and its fallback key. */
  key: string;
  fallbackKey: string;
  /** VALIDATION_ERROR, COUPON_OUT_OF_STOCK, NETWORK... */
  code: string;
  status: number | null;
  /** What the API said, in its own (English) words. */
  apiMessage: string | null;
  correlationId: string | null;
}

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof ApiError) {
    return {
      key: `errors.codes.${error.code}`,
      fallbackKey: `errors.status.${statusFamily(error.status)}`,
      code: error.code,
      status: error.status,
      apiMessage: error.body.error.message,
      correlationId: error.response.headers.get("X-Correlation-Id"),
    };
  }
  if (error instanceof TypeError) {
    return { key: "errors.network", fallbackKey: "errors.network", code: "NETWORK", status: null, apiMessage: null, correlationId: null };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { key: "errors.unexpected", fallbackKey: "errors.unexpected", code: "UNEXPECTED", status: null, apiMessage: message, correlationId: null };
}

/** The statuses the translations have a sentence for; any other falls back to its class. */
export function statusFamily(status: number): string {
  if ([400, 401, 403, 404, 409, 413, 415, 422, 429].includes(status)) return String(status);
  return status >= 500 ? "5xx" : "4xx";
}
