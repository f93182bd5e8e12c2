/** Customers: an operator tags a customer; the customer reads their profile and sees the tags. */
import { newIdempotencyKey, ok, okWithResponse, withIdempotencyKey } from "../src/api/client.js";
import { type Flow, check, equal, refused } from "./support.js";

export const customers: Flow = {
  name: "customers",
  async run({ operator, customer, customerId, run }) {
    const tags = ["wealth-prospect", `console-${run}`];
    const path = { customerId };

    // The operator sets the engine's own tags; the answer is the operator's view of the profile.
    const key = newIdempotencyKey();
    const tagged = await ok(operator.PUT("/v1/admin/customers/{customerId}/tags", { params: { path }, body: { tags }, ...withIdempotencyKey(key) }));
    equal(tagged.customerId, customerId, "tagged customer");
    equal([...tagged.operatorTags].sort(), [...tags].sort(), "operator tags after the PUT");

    // The same request again (a retry) is answered from the first, and changes nothing.
    const again = await okWithResponse(operator.PUT("/v1/admin/customers/{customerId}/tags", { params: { path }, body: { tags }, ...withIdempotencyKey(key) }));
    equal(again.response.headers.get("Idempotent-Replayed"), "true", "a retry with the same key is a replay");
    equal(again.data.operatorTags, tagged.operatorTags, "the replayed answer");

    // The customer reads their own profile and sees them.
    const profile = await ok(customer.GET("/v1/customers/{customerId}", { params: { path } }));
    equal(profile.customerId, customerId, "profile's customer");
    for (const tag of tags) check(profile.operatorTags.includes(tag), `the customer's profile lacks the tag ${tag}: ${JSON.stringify(profile.operatorTags)}`);
    check(!("segments" in profile), "a customer's profile shows no operator-only fields (segments)");

    // Nor anyone else's: ownership is the token's subject.
    const other = customerId === "c-002" ? "c-001" : "c-002";
    await refused(customer.GET("/v1/customers/{customerId}", { params: { path: { customerId: other } } }), 403, "NOT_RESOURCE_OWNER", "another's profile");

    return `${customerId} tagged ${tags.join(", ")}; the customer sees them; a retry was replayed`;
  },
};
