/** Privacy and audit: an operator exports a customer's data (PIPL) and finds the export in the
 * audit log of that customer. */
import { ok } from "../src/api/client.js";
import { type Flow, check, equal, eventually } from "./support.js";

const EXPORT_ROUTE = "POST /v1/admin/customers/{customerId}/export";

export const privacy: Flow = {
  name: "privacy and audit",
  async run({ operator, customerId }) {
    const since = Date.now() - 5_000; // this machine's clock against the API's: the same machine, or close
    const exported = await ok(operator.POST("/v1/admin/customers/{customerId}/export", { params: { path: { customerId } } }));
    equal(exported.customerId, customerId, "exported customer");
    check(exported.profile !== null && exported.profile["customerId"] === customerId, `the export holds the profile: ${JSON.stringify(exported.profile)}`);
    check(Array.isArray(exported.points.ledger) && Array.isArray(exported.coupons), "the export holds the points ledger and the wallet");

    // The audit log by resource: the export, newest first, without its body (personal data).
    const resource = `customers/${customerId}`;
    const entry = await eventually(`the export in the audit log of ${resource}`, async () => {
      const page = await ok(operator.GET("/v1/admin/audit", { params: { query: { resource, limit: 50 } } }));
      return page.items.find((e) => e.route === EXPORT_ROUTE && e.phase === "completed" && Date.parse(e.at) >= since);
    }, 10_000);
    equal([entry.resource, entry.status, entry.request ?? null, entry.after ?? null], [resource, 200, null, null], "audit entry of the export (no bodies)");

    return `${customerId} exported (${exported.points.ledger.length} ledger entries, ${exported.coupons.length} coupons); audit: ${entry.who} at ${entry.at}`;
  },
};
