/** Coupons: an operator creates, activates and stocks a template; the customer claims a coupon,
 * finds it in their wallet, and the payment flow quotes, locks and redeems it. */
import { type ApiClient, type Schema, ok, retrying, withIdempotencyKey } from "../src/api/client.js";
import { type Flow, check, equal, findInPages, refused } from "./support.js";

type CouponStatus = Schema<"CouponView">["status"];

export const coupons: Flow = {
  name: "coupons",
  async run({ operator, customer, customerId, run }) {
    const templateId = `console-${run}`;
    const template = await createActiveTemplate(operator, templateId, 1_500);

    // Stock is added to a live template.
    const stocked = await ok(operator.POST("/v1/admin/coupon-templates/{templateId}/stock", {
      params: { path: { templateId } }, body: { add: 5 },
    }));
    equal(stocked.stockAdded, template.stockAdded + 5, "stock allotted after adding 5");
    const readBack = await ok(operator.GET("/v1/admin/coupon-templates/{templateId}", { params: { path: { templateId } } }));
    equal([readBack.status, readBack.stockAdded, readBack.version], ["active", stocked.stockAdded, stocked.version], "template read back");

    // The customer claims one (the claim's key names the coupon: a retry must not claim two).
    const claimed = await retrying((key) => ok(customer.POST("/v1/coupons/claims", { body: { templateId, channel: "mobile-app" }, ...withIdempotencyKey(key) })));
    check("couponId" in claimed, `a single template's claim answers a coupon, not a bundle: ${JSON.stringify(claimed)}`);
    const { couponId } = claimed;
    equal([claimed.templateId, claimed.customerId, claimed.status], [templateId, customerId, "available"], "claimed coupon");

    // It is in their wallet.
    const inWallet = await walletCoupon(customer, customerId, couponId, "available");
    equal(inWallet.templateId, templateId, "wallet coupon's template");

    // The payment flow: a quote (changes nothing), then lock and redeem against one order.
    const order = { orderAmountMinor: 15_000, currency: "CNY" as const, merchantId: `m-${run}`, channel: "mobile-app" };
    const quote = await ok(customer.POST("/v1/coupons/{couponId}/quote", { params: { path: { couponId } }, body: order }));
    equal([quote.applicable, quote.discountMinor, quote.payableMinor, quote.currency], [true, 1_500, 13_500, "CNY"], "quote for 150.00");

    const orderId = `ord-${run}`;
    const locked = await ok(customer.POST("/v1/coupons/{couponId}/lock", { params: { path: { couponId } }, body: { orderId, order, ttlSeconds: 300 } }));
    equal([locked.status, locked.lock?.orderId], ["locked", orderId], "locked coupon");
    const redeemed = await ok(customer.POST("/v1/coupons/{couponId}/redeem", { params: { path: { couponId } }, body: { orderId } }));
    equal([redeemed.status, redeemed.redemption?.orderId, redeemed.redemption?.discountMinor], ["redeemed", orderId, 1_500], "redeemed coupon");
    await walletCoupon(customer, customerId, couponId, "redeemed");

    // The template's limit of one per customer holds.
    await refused(customer.POST("/v1/coupons/claims", { body: { templateId } }), 409, "COUPON_LIMIT_REACHED", "a second claim");

    return `template ${templateId} created, active, +5 stock; ${couponId} claimed, in the wallet, quoted 15.00 off, locked and redeemed`;
  },
};

/** A fixed-amount template, activated; its stock is its creation's. */
export async function createActiveTemplate(operator: ApiClient, templateId: string, amountMinor: number): Promise<Schema<"TemplateView">> {
  const created = await ok(operator.POST("/v1/admin/coupon-templates", {
    body: {
      templateId,
      name: `Console flow: ${amountMinor / 100} CNY off`,
      benefit: { kind: "fixed_amount", amountMinor, currency: "CNY" },
      totalStock: 10,
      validity: { type: "days_after_claim", days: 30 },
      limits: { perCustomerLifetime: 1 },
      funding: { costCentre: "cc-console-flows", unitCostMinor: amountMinor, currency: "CNY" },
    },
  }));
  equal([created.templateId, created.status], [templateId, "draft"], "created template");
  const active = await ok(operator.PUT("/v1/admin/coupon-templates/{templateId}/status", {
    params: { path: { templateId } }, body: { status: "active" },
  }));
  equal(active.status, "active", "template status after activation");
  return active;
}

async function walletCoupon(customer: ApiClient, customerId: string, couponId: string, status: CouponStatus): Promise<Schema<"CouponView">> {
  const found = await findInPages(
    (cursor) => ok(customer.GET("/v1/customers/{customerId}/coupons", { params: { path: { customerId }, query: { status, limit: 100, cursor } } })),
    (coupon) => coupon.couponId === couponId,
  );
  check(found !== undefined, `coupon ${couponId} is not among the wallet's ${status} coupons`);
  equal(found.status, status, "wallet coupon's status");
  return found;
}
