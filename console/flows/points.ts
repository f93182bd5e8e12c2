/** Points: an operator writes an earn rule and adjusts a customer's points, through a network
 * that loses the first answer; the customer reads their balance and history and finds the points
 * added once. */
import { ok, okWithResponse, retrying, withIdempotencyKey } from "../src/api/client.js";
import { type Flow, check, equal } from "./support.js";

export const points: Flow = {
  name: "points",
  async run({ operator, customer, customerId, run }) {
    // An earn rule, inactive and limited to a merchant of this run: it must not reward anything else.
    const ruleId = `console-${run}`;
    const rule = await ok(operator.POST("/v1/admin/point-rules", {
      body: {
        ruleId,
        name: "Console flow: 1 point per 10 yuan",
        eventType: "CardTransactionPosted",
        conditions: { merchantIds: [`m-${run}`], currency: "CNY" },
        award: { mode: "per_amount", points: 1, perAmountMinor: 1_000, rounding: "down" },
        validity: { type: "days", days: 365 },
        category: "transaction",
        costCentre: "cc-console-flows",
        active: false,
      },
    }));
    equal([rule.ruleId, rule.version, rule.active], [ruleId, 1, false], "created rule");
    const readRule = await ok(operator.GET("/v1/admin/point-rules/{ruleId}", { params: { path: { ruleId } } }));
    equal([readRule.ruleId, readRule.version, readRule.award], [ruleId, 1, rule.award], "rule read back");

    const path = { customerId };
    const before = await ok(customer.GET("/v1/customers/{customerId}/points", { params: { path } }));

    // A goodwill adjustment whose first answer the network loses: the retry carries the same key,
    // so the API answers it from the first instead of adding the points again.
    const added = 100 + Math.floor(Math.random() * 900);
    const reason = `Console flow ${run}: goodwill`;
    let attempts = 0;
    let usedKey = "";
    const adjusted = await retrying((key) => {
      attempts++;
      usedKey = key;
      return okWithResponse(operator.POST("/v1/admin/customers/{customerId}/points/adjustments", {
        params: { path }, body: { points: added, reason, costCentre: "cc-console-flows" }, ...withIdempotencyKey(key),
        fetch: attempts === 1 ? losingTheAnswer : globalThis.fetch,
      }));
    }, { delayMs: 50 });
    equal(attempts, 2, "attempts to adjust");
    equal(adjusted.response.headers.get("Idempotent-Replayed"), "true", "the retry is answered from the first attempt");
    equal(adjusted.data.available, before.available + added, "available points in the adjustment's answer");

    // The customer sees the points once.
    const after = await ok(customer.GET("/v1/customers/{customerId}/points", { params: { path } }));
    equal(after.available, before.available + added, `available points after adding ${added} to ${before.available}`);
    const history = await ok(customer.GET("/v1/customers/{customerId}/points/history", { params: { path, query: { kind: "adjust", limit: 100 } } }));
    const mine = history.items.filter((entry) => entry.source["reason"] === reason);
    equal(mine.length, 1, "history entries of this adjustment");
    const [entry] = mine;
    check(entry !== undefined, "the adjustment's history entry");
    equal([entry.kind, entry.points, entry.costCentre], ["adjust", added, "cc-console-flows"], "history entry");
    check(entry.entryId.endsWith(usedKey), `the entry is named by the adjustment's key ${usedKey}: ${entry.entryId}`);

    return `rule ${ruleId} created; +${added} points for ${customerId} (first answer lost, retried with its key: added once); balance ${after.available}`;
  },
};

/** A fetch that sends the request and then fails as if the connection dropped before the answer. */
async function losingTheAnswer(request: Request): Promise<Response> {
  const response = await fetch(request);
  await response.body?.cancel();
  throw new TypeError("fetch failed: the connection dropped before the answer (simulated)");
}
