"""Refunds: CardTransactionRefunded takes back what the original transaction earned, in proportion
to the amount refunded, cumulatively over partial refunds; what was already spent becomes a debt.
"""

from __future__ import annotations

import json

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.points import (
    ACCRUAL_DLQ,
    ACCRUAL_QUEUE,
    accrue,
    adjust,
    balance,
    card_refund,
    card_transaction,
    create_rule,
    dlq_bodies,
    envelope,
    history,
    invoke_accrual,
    known_customer,
    posted,
    refunded,
    rule_body,
    stored,
    unique,
)


class Shop:
    """A customer, a merchant and a rule of 1 point per 10 yuan there."""

    def __init__(self, cloud: LocalCloud, api: Api):
        self.cloud, self.api = cloud, api
        self.customer, self.merchant, self.rule_id = known_customer(cloud), unique("m"), unique("r")
        create_rule(api, rule_body(self.rule_id, self.merchant))

    def buy(self, amount_minor: int) -> str:
        tx = card_transaction(self.customer, self.merchant, amount_minor)
        accrue(self.cloud, posted(tx))
        return str(tx["transactionId"])

    def refund(self, transaction_id: str, amount_minor: int) -> None:
        accrue(self.cloud, refunded(card_refund(self.customer, transaction_id, amount_minor)))

    def reversals(self) -> list[int]:
        return [e["points"] for e in reversed(history(self.api, self.customer, kind="reverse"))]

    def available(self) -> int:
        return int(balance(self.api, self.customer)["available"])


def test_partial_refunds_reverse_in_proportion_and_the_last_one_the_exact_remainder(cloud: LocalCloud, api: Api) -> None:
    # Given 1288 yuan that earned 128 points
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    # When half is refunded
    shop.refund(tx, 64_400)
    # Then half the points are reversed
    assert shop.available() == 64 and shop.reversals() == [-64]
    # And when the rest is refunded, the remainder is reversed, to the point
    shop.refund(tx, 64_400)
    assert shop.available() == 0 and shop.reversals() == [-64, -64]
    (reversal, _) = history(api, shop.customer, kind="reverse")
    assert reversal["source"]["ruleId"] == shop.rule_id and reversal["source"]["originalTransactionId"] == tx
    stored(cloud.clients.dynamodb, shop.customer).check_invariants()


def test_partial_refunds_in_awkward_amounts_add_up_to_exactly_what_was_earned(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned, and refunds of 333.33, 333.33 and 621.34 yuan (1288 in all)
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    # When each is refunded in turn
    for amount in (33_333, 33_333, 62_134):
        shop.refund(tx, amount)
    # Then each reversal is the cumulative share less what was reversed before: no rounding drift
    assert shop.reversals() == [-33, -33, -62]
    assert shop.available() == 0


def test_a_small_partial_refund_still_counts_towards_the_cumulative_total(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned on 1288 yuan
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    # When 10 yuan is refunded (0.99 of a point: nothing to reverse yet), then the remaining 1278 yuan
    shop.refund(tx, 1_000)
    shop.refund(tx, 127_800)
    # Then, the whole transaction having been refunded, every point it earned is reversed
    assert shop.available() == 0  # actual: 1 (127 reversed: the 10 yuan refund was forgotten)


def test_a_refund_after_the_points_were_spent_creates_a_debt_that_later_earnings_repay(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned, 100 of them then spent (an operator adjustment of -100)
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    assert adjust(api, shop.customer, -100).status_code == 201
    # When the whole transaction is refunded
    shop.refund(tx, 128_800)
    # Then the 28 left are taken back and the 100 already spent become a debt
    after_refund = balance(api, shop.customer)
    assert after_refund["available"] == 0 and after_refund["debt"] == 100
    (reversal,) = history(api, shop.customer, kind="reverse")
    assert reversal["points"] == -128 and reversal["debtChange"] == 100
    # And a later earning of 50 repays the debt first, none of it becomes available
    shop.buy(50_000)
    partly = balance(api, shop.customer)
    assert partly["available"] == 0 and partly["debt"] == 50
    # And the next earning of 150 repays the rest of the debt, and 100 become available
    shop.buy(150_000)
    repaid = balance(api, shop.customer)
    assert repaid["available"] == 100 and repaid["debt"] == 0
    assert sorted(e["debtChange"] for e in history(api, shop.customer, kind="earn")) == [-50, -50, 0]
    stored(cloud.clients.dynamodb, shop.customer).check_invariants()


def test_a_refund_beyond_the_original_changes_nothing_and_fails_alone(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned on 1288 yuan, of which 1000 yuan were refunded already (99 points)
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    shop.refund(tx, 100_000)
    assert shop.available() == 29
    before = stored(cloud.clients.dynamodb, shop.customer)
    # When a batch holds a refund of 500 yuan more (1500 in all, more than 1288) and a good transaction
    too_much = envelope("CardTransactionRefunded", card_refund(shop.customer, tx, 50_000))
    good = card_transaction(shop.customer, shop.merchant, 20_000)
    result = invoke_accrual(cloud, too_much, envelope("CardTransactionPosted", good))
    # Then only the refund is reported failed, and the good transaction is booked
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    after = stored(cloud.clients.dynamodb, shop.customer)
    assert after.available == 49
    added = [e for e in after.entries if e not in before.entries]
    assert [(e["kind"], e["points"], e["entryId"]) for e in added] == [
        ("earn", 20, f"earn:CardTransactionPosted:{good['transactionId']}:{shop.rule_id}")
    ]


def test_a_refund_in_another_currency_than_the_purchase_is_refused_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned on 1288 yuan
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    before = stored(cloud.clients.dynamodb, shop.customer)
    # When a refund of it arrives in US dollars
    in_dollars = envelope("CardTransactionRefunded", {**card_refund(shop.customer, tx, 10_000), "currency": "USD"})
    result = invoke_accrual(cloud, in_dollars)
    # Then it is reported failed (for the DLQ), and nothing was taken back
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert stored(cloud.clients.dynamodb, shop.customer) == before


def test_a_refund_beyond_the_original_ends_in_the_dlq_and_does_not_block_its_batch(cloud: LocalCloud, api: Api) -> None:
    # Given 128 points earned, 99 of them refunded
    shop = Shop(cloud, api)
    tx = shop.buy(128_800)
    shop.refund(tx, 100_000)
    # When a refund over the original and a good transaction are sent to the accrual queue together
    bad = card_refund(shop.customer, tx, 30_000)
    good = card_transaction(shop.customer, shop.merchant, 10_000)
    sqs = cloud.clients.sqs
    sqs.send_message_batch(
        QueueUrl=cloud.provisioned.queue_urls[ACCRUAL_QUEUE],
        Entries=[
            {"Id": "bad", "MessageBody": envelope("CardTransactionRefunded", bad)},
            {"Id": "good", "MessageBody": envelope("CardTransactionPosted", good)},
        ],
    )
    # Then the good one is booked at once
    eventually(lambda: shop.available() == 39)
    # And the refund reaches the DLQ after its retries, untouched, having changed nothing
    (body,) = eventually(lambda: dlq_bodies(sqs, cloud.provisioned.queue_urls[ACCRUAL_DLQ], bad["refundId"]), timeout_s=30)
    assert json.loads(body)["detail"] == bad
    assert shop.available() == 39 and shop.reversals() == [-99]
