/** Scoring: an operator defines a segment by a tag, tags a customer, and reads the segment's
 * members (the customer, once re-scored) and its size estimate. */
import { ok } from "../src/api/client.js";
import { type Flow, check, equal, eventually, findInPages } from "./support.js";

export const scoring: Flow = {
  name: "scoring",
  async run({ operator, customerId, run }) {
    const tag = `console-seg-${run}`;
    const segmentId = `console-${run}`;
    const created = await ok(operator.POST("/v1/admin/segments", {
      body: { segmentId, name: `Console flow ${run}`, description: "Customers an operator tagged in a console flow.", rule: { tagsAny: [tag] } },
    }));
    equal([created.segmentId, created.version, created.rule.tagsAny], [segmentId, 1, [tag]], "created segment");
    const read = await ok(operator.GET("/v1/admin/segments/{segmentId}", { params: { path: { segmentId } } }));
    equal([read.segmentId, read.version, read.rule], [segmentId, 1, created.rule], "segment read back");

    // Tagging re-scores the customer (CustomerTagsChanged on the bus), which puts them in the segment.
    await ok(operator.PUT("/v1/admin/customers/{customerId}/tags", { params: { path: { customerId } }, body: { tags: [tag] } }));
    const member = await eventually(`${customerId} in ${segmentId}`, () =>
      findInPages(
        (cursor) => ok(operator.GET("/v1/admin/segments/{segmentId}/members", { params: { path: { segmentId }, query: { limit: 500, cursor } } })),
        (m) => m.customerId === customerId,
      ),
    );
    check(!Number.isNaN(Date.parse(member.since)), `a member's since is an instant: ${member.since}`);

    const estimate = await ok(operator.GET("/v1/admin/segments/{segmentId}/estimate", { params: { path: { segmentId } } }));
    equal([estimate.segmentId, estimate.version], [segmentId, 1], "estimate's segment");
    check(estimate.matched >= 1 && estimate.estimatedMembers >= 1 && estimate.sampled >= estimate.matched,
      `the estimate counts the member: ${JSON.stringify(estimate)}`);

    return `${segmentId} (tag ${tag}): ${customerId} a member since ${member.since}; estimate ${estimate.estimatedMembers} of ${estimate.sampled} sampled`;
  },
};
