"""The coupons issue's done-when: a flash grab never over-issues, never over-serves a customer, and
refuses every losing claim with a clear 409.

2,000 claims from 50 real threads over HTTP, through the local API Gateway into the claim handler,
against the serialized emulator (linearizable, as DynamoDB is per item), so races in our code show.
"""

from __future__ import annotations

import collections
import concurrent.futures
import time
import uuid
from collections.abc import Iterator

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.coupons import (
    active_template,
    claim,
    coupons_of_template,
    forget_template_activity,
    stock_left,
    unique,
    wallet_items,
)

STOCK = 500
LIFETIME_LIMIT = 2
THREADS = 50
CLAIMS_PER_THREAD = 40
# 300 customers, ~6.7 claims each. (With 200, as first sketched, a limit of 2 caps them at 400
# coupons and the stock of 500 never runs out.) 300 can hold 600: the stock runs out first and both
# refusals are plentiful: ~1,150 limit-reached and ~350 out-of-stock. More customers would mean more
# out-of-stock claims, and each of those walks every shard (8 transactions with 8 shards).
CUSTOMERS = 300
REFUSALS = {"COUPON_OUT_OF_STOCK", "COUPON_LIMIT_REACHED"}

pytestmark = pytest.mark.slow


@pytest.fixture()
def cleanup(cloud: LocalCloud) -> Iterator[list[str]]:
    """Template ids whose thousands of coupons are deleted after the test (see forget_template_activity)."""
    template_ids: list[str] = []
    yield template_ids
    for template_id in template_ids:
        forget_template_activity(cloud.clients.dynamodb, template_id)


@pytest.mark.parametrize("shards", [1, 8])
def test_a_flash_grab_issues_exactly_the_stock_and_respects_every_limit(cloud: LocalCloud, cleanup: list[str], shards: int) -> None:
    # Given an active template with 500 in stock over `shards` shards, at most 2 per customer
    template_id = active_template(Api(cloud.api_url), stock=STOCK, shards=shards, lifetime_limit=LIFETIME_LIMIT)
    cleanup.append(template_id)
    run = unique("grab")
    customers = [f"{run}-{n}" for n in range(CUSTOMERS)]

    def grab(thread: int) -> list[tuple[int, str, str]]:
        api = Api(cloud.api_url)  # a session per thread
        outcomes = []
        for i in range(CLAIMS_PER_THREAD):
            customer = customers[(thread * CLAIMS_PER_THREAD + i) % CUSTOMERS]
            response = claim(api, customer, template_id, key=str(uuid.uuid4()))
            body = response.json()
            code = body["couponId"] if response.status_code == 201 else body.get("error", {}).get("code", "")
            outcomes.append((response.status_code, code, customer))
        return outcomes

    # When 50 threads make 40 claims each, every one with a fresh Idempotency-Key
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for batch in pool.map(grab, range(THREADS)) for o in batch]
    elapsed = time.monotonic() - started
    statuses = collections.Counter(status for status, _, _ in outcomes)
    refusals = collections.Counter(code for status, code, _ in outcomes if status != 201)
    print(f"\n{len(outcomes)} claims, {shards} shard(s): {elapsed:.1f}s ({len(outcomes) / elapsed:.0f}/s) {dict(refusals)}")

    # Then exactly the stock was issued: 500 answers were 201, each a distinct coupon
    assert len(outcomes) == THREADS * CLAIMS_PER_THREAD
    issued = [(coupon, customer) for status, coupon, customer in outcomes if status == 201]
    assert statuses[201] == STOCK, statuses
    assert len({coupon for coupon, _ in issued}) == STOCK
    # And every other answer was a 409 out-of-stock or limit-reached: no 5xx, nothing else
    assert set(statuses) <= {201, 409}, statuses
    assert set(refusals) <= REFUSALS, refusals
    assert refusals["COUPON_OUT_OF_STOCK"] > 0 and refusals["COUPON_LIMIT_REACHED"] > 0
    # And no stock is left
    api = Api(cloud.api_url)
    assert stock_left(api, template_id) == 0
    # And the table holds exactly the 500 coupons answered, no customer more than 2
    stored = coupons_of_template(cloud.clients.dynamodb, template_id)
    assert len(stored) == STOCK
    assert {item["pk"]["S"].removeprefix("CPN#") for item in stored} == {coupon for coupon, _ in issued}
    held = collections.Counter(item["customer_id"]["S"] for item in stored)
    assert max(held.values()) <= LIFETIME_LIMIT
    assert held == collections.Counter(customer for _, customer in issued)
    # And the wallet API shows the same coupons, for a sample of customers
    for customer in customers[:5]:
        assert len(wallet_items(api, customer)) == held[customer]
