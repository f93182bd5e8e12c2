"""The mixed workload of `make chaos`, sent as a bank's systems send it: operators and customers call
the public API with dev tokens, core banking puts its events on the bus.

- Set up without faults (an operator's set-up is not what is under test): three coupon templates
  (a flash grab's, a campaign's and the points catalogue's), an earn rule, an event campaign whose
  variant issues a coupon and awards points, a catalogue item, the customers' profiles, and a quarter
  of the customers already at the campaign coupon's per-customer limit, so that their grants are
  refused and compensated.
- Then, with faults: a flash grab (every customer claims at once, half the stock there is; winners
  pay with their coupon), card payments on the bus (each accrues points and triggers the campaign),
  points redemptions for a catalogue coupon once the customer has the points, and a known number of
  poison events (contract violations) mixed among the payments.

Every call is retried as the bank's systems retry (`infra.local.demo.Client`: throttling, 5xx, a key
still in progress); an answer outside what the workload expects is counted as unexpected.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from infra.local.demo import OPERATOR, Client, DemoError, Seeder, customer
from tests.support import campaigns, coupons, points

CAMPAIGN_POINTS = 100
CARD_AMOUNT_MINOR = 150_000  # 150 points with the earn rule (1 per 10 yuan), and over the campaign's 1,000 yuan
PAYMENTS_PER_CUSTOMER = 2
ITEM_POINTS = 200  # the catalogue coupon's price: a customer can pay it once both payments have accrued
GRAB_THREADS = 16


@dataclass
class Plan:
    """Who does what; ids are fixed, as every run starts on an empty local cloud."""

    size: int
    poison: int
    customers: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.customers = [f"chaos-c-{i:04d}" for i in range(1, self.size + 1)]

    @property
    def grab_stock(self) -> int:
        return max(1, self.size // 2)

    @property
    def at_limit(self) -> list[str]:
        """Customers who claimed the campaign's coupon before the campaign: its grant to them is refused."""
        return self.customers[::4]

    @property
    def redeemers(self) -> list[str]:
        return self.customers[1::2]


@dataclass
class Setup:
    grab_template: str
    campaign_template: str
    mall_template: str
    mall_item: str
    campaign_id: str
    rule_id: str


@dataclass
class Tally:
    """What the workload did, by kind, and every unexpected answer."""

    counts: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    redemptions: list[tuple[str, str]] = field(default_factory=list)  # (customer, points redemption id)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    def redeemed(self, customer_id: str, redemption_id: str) -> None:
        with self._lock:
            self.redemptions.append((customer_id, redemption_id))
            self.counts["points redemptions"] += 1

    def guard(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # reported in the summary; the run goes on
            with self._lock:
                self.unexpected.append(f"{what}: {error}")


# ---- set-up (no faults) ----------------------------------------------------------------------------


def set_up(plan: Plan, api_url: str, seeder: Seeder) -> Setup:
    from tests.support.api import Api, eventually
    from tests.support.org import ensure_head_office

    api = Api(api_url)
    ensure_head_office(api)  # every operator route's org scope needs the tree's head office (hq)
    grab = coupons.active_template(api, template_id="chaos-grab", stock=plan.grab_stock, shards=2, lifetime_limit=1)
    campaign_coupon = coupons.active_template(api, template_id="chaos-campaign-coupon", stock=plan.size * 4, lifetime_limit=1)
    mall = coupons.active_template(api, template_id="chaos-mall-coupon", stock=plan.size * 4)
    actions = [{"type": "issue_coupon", "templateId": campaign_coupon},
               {"type": "award_points", "points": CAMPAIGN_POINTS, "costCentre": "cc-marketing"}]
    body = campaigns.coupon_campaign(campaign_coupon, min_amount=CARD_AMOUNT_MINOR, budget_total=plan.size * 4,
                                     variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}])
    campaign_id = campaigns.launch(api, body)
    rule_id = "chaos-card-spend"
    points.create_rule(api, points.rule_body(rule_id, campaign_id))  # the campaign's merchant: each payment does both
    item = "chaos-mall-coupon"
    seeder.client.call("PUT", f"/v1/admin/points/catalogue/{item}", OPERATOR,
                       {"itemId": item, "kind": "coupon", "name": "Chaos coupon", "points": ITEM_POINTS, "templateId": mall}, key="chaos-item")
    seeder.put_events([("CustomerProfileChanged", {"customerId": c, "changedAt": points.now_iso()}) for c in plan.customers])
    for c in plan.customers:
        eventually(partial(profile_stored, api, c), timeout_s=60, interval_s=0.2)
    for c in plan.at_limit:
        coupons.claimed(api, c, campaign_coupon)
    return Setup(grab, campaign_coupon, mall, item, campaign_id, rule_id)


def profile_stored(api: Any, customer_id: str) -> bool:
    return bool(api.call("GET", f"/v1/customers/{customer_id}", as_=customer_id).status_code == 200)


# ---- the workload (faults on) ------------------------------------------------------------------------


def poison_events(n: int) -> list[tuple[str, dict[str, Any]]]:
    """Card payments that break the contract (EVENTS.md): an amount that is not an integer of minor units."""
    return [("CardTransactionPosted", {**points.card_transaction("chaos-c-0001", "m-poison", 0, transaction_id=f"chaos-poison-{i}"),
                                       "amountMinor": "12.50"}) for i in range(n)]


def run_workload(plan: Plan, setup: Setup, seeder: Seeder) -> Tally:
    tally = Tally()
    client = seeder.client
    with ThreadPoolExecutor(GRAB_THREADS, thread_name_prefix="chaos-grab") as grab, \
            ThreadPoolExecutor(4, thread_name_prefix="chaos-customer") as shoppers:
        bank = grab.submit(tally.guard, "card payments", partial(publish_payments, plan, setup, seeder, tally))
        for c in plan.customers:
            grab.submit(tally.guard, f"claim by {c}", partial(claim_and_pay, client, setup, c, tally))
        for c in plan.redeemers:
            shoppers.submit(tally.guard, f"points redemption by {c}", partial(redeem_points, client, setup, c, tally))
        bank.result()
    return tally


def publish_payments(plan: Plan, setup: Setup, seeder: Seeder, tally: Tally) -> None:
    payments = [points.posted(points.card_transaction(c, setup.campaign_id, CARD_AMOUNT_MINOR, transaction_id=f"chaos-tx-{c}-{n}"))
                for n in range(PAYMENTS_PER_CUSTOMER) for c in plan.customers]
    poison = poison_events(plan.poison)
    # The poison goes out among the payments, not after them: its batches are the payments' batches.
    spacing = max(1, len(payments) // (len(poison) + 1))
    events = list(payments)
    for i, event in enumerate(poison):
        events.insert((i + 1) * spacing + i, event)
    for start in range(0, len(events), 10):
        seeder.put_events(events[start:start + 10])
    tally.add("card payments", len(payments))
    tally.add("poison events", len(poison))


def claim_and_pay(client: Client, setup: Setup, customer_id: str, tally: Tally) -> None:
    answer = client.call("POST", "/v1/coupons/claims", customer(customer_id), {"templateId": setup.grab_template},
                         key=f"chaos-claim-{customer_id}", tolerate=["COUPON_OUT_OF_STOCK"])
    if answer.status != 201:
        tally.add("grab: out of stock")
        return
    tally.add("grab: won")
    order = f"chaos-order-{customer_id}"
    client.call("POST", f"/v1/coupons/{answer.body['couponId']}/redeem", customer(customer_id),
                {"orderId": order, "order": coupons.order(merchant="m-chaos-shop")}, key=f"chaos-redeem-{order}")
    tally.add("coupon redemptions")


def redeem_points(client: Client, setup: Setup, customer_id: str, tally: Tally, timeout_s: float = 240) -> None:
    """Once the customer's payments have earned the item's price, they spend it."""
    deadline = time.monotonic() + timeout_s
    while client.get(f"/v1/customers/{customer_id}/points", customer(customer_id)).body["available"] < ITEM_POINTS:
        if time.monotonic() > deadline:
            raise DemoError(f"{customer_id} never had {ITEM_POINTS} points to spend")
        time.sleep(1.0)
    answer = client.call("POST", "/v1/points/redemptions", customer(customer_id), {"itemId": setup.mall_item},
                         key=f"chaos-points-{customer_id}")
    tally.redeemed(customer_id, str(answer.body["redemptionId"]))
