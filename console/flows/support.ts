/** What every flow shares: its clients, unique ids, and checks that throw on a mismatch. */
import { isDeepStrictEqual } from "node:util";

import { type ApiAnswer, type ApiClient, ApiError, ok } from "../src/api/client.js";

export interface FlowContext {
  /** A bank employee in `operators`. */
  operator: ApiClient;
  /** Another employee, in `operators` and `approvers`: the checker of maker-checker. */
  approver: ApiClient;
  /** The customer `customerId`, with their own token. */
  customer: ApiClient;
  customerId: string;
  /** Different on every run: ids made from it never collide with an earlier run's. */
  run: string;
}

export interface Flow {
  name: string;
  /** Resolves with a one-line summary of what it saw; throws on the first mismatch. */
  run: (context: FlowContext) => Promise<string>;
}

export class FlowMismatch extends Error {
  override readonly name = "FlowMismatch";
}

export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new FlowMismatch(what);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new FlowMismatch(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Polls `probe` until it returns something other than undefined, or fails at the deadline. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new FlowMismatch(`${what}: not seen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The first item of a cursor listing that `wanted` accepts, reading at most `maxPages` pages. */
export async function findInPages<Item>(
  page: (cursor: string | undefined) => Promise<{ items: Item[]; nextCursor: string | null }>,
  wanted: (item: Item) => boolean,
  maxPages = 50,
): Promise<Item | undefined> {
  let cursor: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const { items, nextCursor } = await page(cursor);
    const found = items.find(wanted);
    if (found !== undefined || nextCursor === null) return found;
    cursor = nextCursor;
  }
  return undefined;
}

/** An instant as the API writes it (UTC, seconds), `days` from now. */
export function daysFromNow(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The ApiError the API answers `call` with, checked against the status and code expected. */
export async function refused(call: Promise<ApiAnswer<unknown>>, status: number, code: string, what: string): Promise<ApiError> {
  try {
    await ok(call);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    equal([error.status, error.code], [status, code], what);
    return error;
  }
  throw new FlowMismatch(`${what}: succeeded, expected ${status} ${code}`);
}
