/**
 * The loyalty engine's API client, typed from the OpenAPI document (schema.d.ts is generated from
 * docs/openapi.json: `npm run generate`). Requests and responses are the document's types: nothing
 * here restates a field.
 *
 *   const api = createApiClient({ baseUrl: "/", token: () => session.idToken });
 *   const template = await ok(api.GET("/v1/admin/coupon-templates/{templateId}", { params: { path: { templateId } } }));
 *   // a save the user may retry: the same Idempotency-Key on every attempt, so it runs at most once
 *   const balance = await retrying((key) => ok(api.POST(path, { params, body, ...withIdempotencyKey(key) })));
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** A schema of the document by name: `Schema<"CampaignView">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];
/** Every 4xx and 5xx answer: `{error: {code, message, details}}`. */
export type ErrorBody = Schema<"Error">;

const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PARAMETER = "idempotency-key";
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The document marks the key as a required header of every mutating operation; the client's
 * middleware sends a fresh one when the caller gives none, so the paths the client accepts make it
 * optional (still typed, when given, from the document's parameter).
 */
type OptionalKey<Operation> = Operation extends { parameters: { header: infer Header } }
  ? Header extends { [KEY_PARAMETER]: unknown }
    ? Omit<Operation, "parameters"> & {
        parameters: Omit<Operation["parameters"], "header"> & {
          header?: Omit<Header, typeof KEY_PARAMETER> & Partial<Pick<Header, typeof KEY_PARAMETER>>;
        };
      }
    : Operation
  : Operation;

/** `paths`, with the Idempotency-Key header left to the client. */
export type ClientPaths = { [Path in keyof paths]: { [Method in keyof paths[Path]]: OptionalKey<paths[Path][Method]> } };

export type ApiClient = Client<ClientPaths, "application/json">;

export interface ApiClientOptions {
  /** Where the API is: the API Gateway stage URL, or "/" behind the console's own host. */
  baseUrl: string;
  /** The caller's bearer token, read before every request (so a refreshed token is used at once). */
  token: () => string | Promise<string>;
  /** Another fetch (tests; a fetch with a timeout). */
  fetch?: (request: Request) => Promise<Response>;
}

export function createApiClient({ baseUrl, token, fetch }: ApiClientOptions): ApiClient {
  const client = createClient<ClientPaths, "application/json">({ baseUrl, ...(fetch ? { fetch } : {}) });
  client.use(bearer(token), idempotencyKeys);
  return client;
}

function bearer(token: ApiClientOptions["token"]): Middleware {
  return {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await token()}`);
      return request;
    },
  };
}

/** A fresh key on every mutating request that carries none: a new request is a new operation. */
const idempotencyKeys: Middleware = {
  onRequest({ request }) {
    if (MUTATING.has(request.method) && !request.headers.has(IDEMPOTENCY_HEADER)) {
      request.headers.set(IDEMPOTENCY_HEADER, newIdempotencyKey());
    }
    return request;
  },
};

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** Request options naming the operation: spread into a call's options (`{ body, ...withIdempotencyKey(key) }`). */
export function withIdempotencyKey(key: string): { headers: { [IDEMPOTENCY_HEADER]: string } } {
  return { headers: { [IDEMPOTENCY_HEADER]: key } };
}

/** An answer of the API that is not a success: its status and the document's error body. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly body: ErrorBody;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const known = asErrorBody(body) ?? {
      // Not this API's error shape (a proxy's page, a gateway's own answer): kept as the message.
      error: { code: `HTTP_${response.status}`, message: typeof body === "string" && body ? body : response.statusText, details: [] },
    };
    super(`${response.status} ${known.error.code}: ${known.error.message}`);
    this.status = response.status;
    this.body = known;
    this.response = response;
  }

  /** What clients branch on: `VALIDATION_ERROR`, `COUPON_OUT_OF_STOCK`... */
  get code(): string {
    return this.body.error.code;
  }

  get details(): Schema<"ErrorInfo">["details"] {
    return this.body.error.details;
  }
}

function asErrorBody(body: unknown): ErrorBody | undefined {
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
  const error: unknown = body.error;
  if (typeof error !== "object" || error === null) return undefined;
  if (!("code" in error) || typeof error.code !== "string" || !("message" in error) || typeof error.message !== "string") return undefined;
  return body as ErrorBody;
}

/** What a call of the client resolves with (openapi-fetch's answer, either data or error). */
export interface ApiAnswer<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/** The data of a successful call; an ApiError for any other answer. */
export async function ok<Data>(call: Promise<ApiAnswer<Data>>): Promise<Data> {
  return (await okWithResponse(call)).data;
}

/** The data and the response (for its headers: `Idempotent-Replayed`...); an ApiError for any other answer. */
export async function okWithResponse<Data>(call: Promise<ApiAnswer<Data>>): Promise<{ data: Data; response: Response }> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response, error);
  return { data: data as Data, response };
}

/** Answers worth another attempt with the same key: the first may still run, or never have arrived. */
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(["IDEMPOTENCY_IN_PROGRESS"]);

export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return TRANSIENT_STATUSES.has(error.status) || TRANSIENT_CODES.has(error.code);
  // fetch rejects with a TypeError when no answer came back (offline, reset, DNS): the request may
  // or may not have reached the API.
  return error instanceof TypeError;
}

export interface RetryOptions {
  /** The key of the operation: given when the caller keeps it (a form kept open after a failure). */
  key?: string;
  attempts?: number;
  /** Before attempt n + 1: delayMs × 2^(n - 1). */
  delayMs?: number;
}

/**
 * Runs `call` with one Idempotency-Key until it succeeds, fails for good, or attempts run out.
 * Every attempt carries the same key, so the API runs the operation at most once and answers a
 * repeat with the first answer: a save the network lost is never made twice.
 */
export async function retrying<T>(call: (key: string) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { key = newIdempotencyKey(), attempts = 3, delayMs = 200 } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(key);
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * 2 ** (attempt - 1)));
    }
  }
}
