/** Campaigns: an operator creates a campaign from a ready-made template and submits it; another
 * operator, an approver, approves it (maker-checker); the author reads it back and its report. */
import { ok } from "../src/api/client.js";
import { createActiveTemplate } from "./coupons.js";
import { type Flow, check, daysFromNow, equal, refused } from "./support.js";

const TEMPLATE = "spend_x_get_coupon";

export const campaigns: Flow = {
  name: "campaigns",
  async run({ operator, approver, run }) {
    const templates = await ok(operator.GET("/v1/admin/campaign-templates"));
    check(templates.items.some((t) => t.template === TEMPLATE), `${TEMPLATE} is not among ${templates.items.map((t) => t.template).join(", ")}`);

    // Its reward: a coupon template of this run.
    const couponTemplateId = `console-camp-${run}`;
    await createActiveTemplate(operator, couponTemplateId, 5_000);

    // A window that opens in 30 days: approved, the campaign is scheduled and rewards nothing yet,
    // whatever else runs on this system meanwhile.
    const campaignId = `console-${run}`;
    const window = { startsAt: daysFromNow(30), endsAt: daysFromNow(60) };
    const created = await ok(operator.POST("/v1/admin/campaign-templates/{template}/campaigns", {
      params: { path: { template: TEMPLATE } },
      body: {
        campaignId,
        name: "Console flow: spend 1000 at hotels, get 50 off",
        window,
        budget: { unit: "rewards", total: 100 },
        fundingCostCentre: "cc-console-flows",
        controlPercent: 10,
        parameters: { minAmountMinor: 100_000, mccs: ["7011"], couponTemplateId },
      },
    }));
    equal([created.campaignId, created.status, created.version], [campaignId, "draft", 1], "created campaign");
    equal(created.trigger.type, "event", "the template's trigger");

    const path = { campaignId };
    const submitted = await ok(operator.POST("/v1/admin/campaigns/{campaignId}/submit", { params: { path }, body: { note: "Ready for review" } }));
    equal(submitted.status, "pending_approval", "status after submission");

    // The maker cannot approve: approving takes the approvers group.
    await refused(operator.POST("/v1/admin/campaigns/{campaignId}/approve", { params: { path }, body: {} }), 403, "APPROVER_REQUIRED",
      "the author approving");
    const approved = await ok(approver.POST("/v1/admin/campaigns/{campaignId}/approve", { params: { path }, body: { note: "Terms checked" } }));
    equal([approved.status, approved.effectiveStatus], ["approved", "scheduled"], "status after approval");
    check(!!approved.approvedBy && approved.approvedBy !== approved.author, `approved by someone else than ${approved.author}: ${approved.approvedBy}`);

    const read = await ok(operator.GET("/v1/admin/campaigns/{campaignId}", { params: { path } }));
    equal([read.status, read.effectiveStatus, read.version, read.approvedBy], ["approved", "scheduled", approved.version, approved.approvedBy],
      "campaign read back");
    equal(read.window, created.window, "window read back");

    const report = await ok(operator.GET("/v1/admin/campaigns/{campaignId}/report", { params: { path } }));
    equal([report.campaignId, report.status, report.budgetUnit], [campaignId, "scheduled", "rewards"], "report");
    equal(report.arms.map((arm) => [arm.arm, arm.targeted, arm.granted]), [["control", 0, 0], ["main", 0, 0]], "report arms");
    equal(report.budget.total, { limit: 100, spent: 0, left: 100 }, "report's total budget");

    return `${campaignId} from ${TEMPLATE}: submitted by ${approved.author}, approved by ${approved.approvedBy}, scheduled; report read`;
  },
};
