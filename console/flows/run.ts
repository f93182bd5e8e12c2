/**
 * Runs one scripted flow per capability through the typed client against a running system
 * (`make run`), one line per flow; exits non-zero on the first failure.
 *
 *   API_URL=http://127.0.0.1:3000 OPERATOR_TOKEN=... APPROVER_TOKEN=... CUSTOMER_TOKEN=... CUSTOMER_ID=c-001 npm run flows
 *
 * OPERATOR_TOKEN: groups operators; APPROVER_TOKEN: another subject, groups operators and approvers;
 * CUSTOMER_TOKEN: the customer CUSTOMER_ID's own. FLOWS=coupons,points runs only those.
 * FLOWS_RECORD=<file> writes every answer received (JSON lines) for checking against the document.
 */
import { writeFileSync } from "node:fs";

import type { Middleware } from "openapi-fetch";

import { type ApiClient, ApiError, createApiClient, ok } from "../src/api/client.js";
import { campaigns } from "./campaigns.js";
import { coupons } from "./coupons.js";
import { customers } from "./customers.js";
import { points } from "./points.js";
import { privacy } from "./privacy.js";
import { scoring } from "./scoring.js";
import { type Flow, type FlowContext, FlowMismatch, eventually } from "./support.js";

const FLOWS: Flow[] = [customers, coupons, points, campaigns, scoring, privacy];

interface Exchange {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see flows/run.ts)`);
  return value;
}

function recorder(into: Exchange[]): Middleware {
  return {
    async onResponse({ request, response, schemaPath }) {
      const text = await response.clone().text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the check against the document reports it
      }
      into.push({ method: request.method.toLowerCase(), path: schemaPath, status: response.status, body });
    },
  };
}

/** The customer's profile, once core banking's is in (the demo bank is seeded on the bus: a moment after start). */
async function profileOf({ customer, customerId }: FlowContext): Promise<void> {
  await eventually(`the profile of ${customerId}`, async () => {
    try {
      return await ok(customer.GET("/v1/customers/{customerId}", { params: { path: { customerId } } }));
    } catch (error) {
      if (error instanceof ApiError && error.code === "CUSTOMER_NOT_FOUND") return undefined;
      throw error;
    }
  }, 20_000);
}

async function main(): Promise<number> {
  const baseUrl = required("API_URL");
  const exchanges: Exchange[] = [];
  const record = process.env["FLOWS_RECORD"];
  const client = (token: string): ApiClient => {
    const api = createApiClient({ baseUrl, token: () => token });
    if (record) api.use(recorder(exchanges));
    return api;
  };
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const context: FlowContext = {
    operator: client(required("OPERATOR_TOKEN")),
    approver: client(required("APPROVER_TOKEN")),
    customer: client(required("CUSTOMER_TOKEN")),
    customerId: required("CUSTOMER_ID"),
    run,
  };
  const only = process.env["FLOWS"]?.split(",").map((name) => name.trim());
  const chosen = only ? FLOWS.filter((flow) => only.includes(flow.name) || only.includes(flow.name.split(" ")[0] ?? "")) : FLOWS;
  if (chosen.length === 0) throw new Error(`no flow is named ${only?.join(", ")}: ${FLOWS.map((f) => f.name).join(", ")}`);

  console.log(`flows against ${baseUrl}, run ${run}`);
  try {
    await profileOf(context);
    for (const flow of chosen) {
      const started = performance.now();
      const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1).padStart(5);
      try {
        const summary = await flow.run(context);
        console.log(`ok   ${flow.name.padEnd(18)}${seconds()} s  ${summary}`);
      } catch (error) {
        console.log(`FAIL ${flow.name.padEnd(18)}${seconds()} s  ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        if (error instanceof Error && !(error instanceof FlowMismatch) && error.stack) console.error(error.stack);
        return 1;
      }
    }
    console.log(`all ${chosen.length} flows passed`);
    return 0;
  } finally {
    if (record) writeFileSync(record, exchanges.map((e) => JSON.stringify(e)).join("\n") + "\n");
  }
}

process.exitCode = await main();
