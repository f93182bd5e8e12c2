"""The points API: the quote (积分试算), history paging, who may call what, and what is refused —
over HTTP, and malformed bank events on the accrual queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.dynamo import encode_cursor
from tests.support.api import Api, eventually
from tests.support.points import (
    ACCRUAL_DLQ,
    LIABILITY,
    OPERATOR,
    QUOTE,
    RULES,
    accrue,
    adjust,
    available,
    card_transaction,
    create_rule,
    dlq_bodies,
    envelope,
    error_code,
    give_profile,
    history,
    history_page,
    invoke_accrual,
    known_customer,
    new_customer,
    posted,
    publish,
    quote,
    rule_body,
    stored,
    unique,
)

# ---- the quote -----------------------------------------------------------------------------------


def test_a_quote_shows_each_rules_points_and_caps_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given two rules at one merchant: 1 point per 10 yuan, and a fixed 10 points capped at 5 a day
    customer, merchant = new_customer(), unique("m")
    per_amount, fixed = unique("r"), unique("r")
    create_rule(api, rule_body(per_amount, merchant))
    create_rule(api, rule_body(fixed, merchant, award={"mode": "fixed", "points": 10}, caps={"perCustomerDaily": 5}, priority=900))
    # When the customer asks what a 1288 yuan transaction there would earn
    response = quote(api, customer, card_transaction(customer, merchant, 128_800))
    # Then each rule's award is shown, with its caps and what is used of them
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customerId"] == customer and body["total"] == 133 and body["growth"] == 0
    by_rule = {r["ruleId"]: r for r in body["rules"]}
    assert by_rule[per_amount] == {"ruleId": per_amount, "version": 1, "category": "transaction", "points": 128,
                                   "beforeCaps": 128, "caps": {}}
    assert by_rule[fixed]["points"] == 5 and by_rule[fixed]["beforeCaps"] == 10
    assert by_rule[fixed]["caps"] == {"daily": {"cap": 5, "used": 0}}
    # And it changed nothing: no balance, no entries, no cap counters
    assert available(api, customer) == 0
    assert history(api, customer) == []
    nothing = stored(cloud.clients.dynamodb, customer)
    assert nothing.balance == {} and nothing.lots == [] and nothing.entries == []
    assert cloud.clients.dynamodb.query(
        TableName="points", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"ACCT#{customer}"}}
    )["Items"] == []


def test_an_operator_may_quote_for_a_customer_but_a_customer_only_for_themselves(api: Api) -> None:
    customer, other, merchant = new_customer(), new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    detail = card_transaction(customer, merchant, 10_000)
    as_operator = api.call("POST", QUOTE, body={"eventType": "CardTransactionPosted", "detail": detail}, idempotency_key=None, **OPERATOR)
    assert as_operator.status_code == 200 and as_operator.json()["total"] == 10
    as_other = api.call("POST", QUOTE, as_=other, body={"eventType": "CardTransactionPosted", "detail": detail}, idempotency_key=None)
    assert as_other.status_code == 403 and error_code(as_other) == "NOT_RESOURCE_OWNER"


TX = "CardTransactionPosted"


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda c: {"eventType": TX, "detail": {"amountMinor": 100}}, "VALIDATION_ERROR"),
        (lambda c: {"eventType": TX, "detail": card_transaction(c, "m-any", 100, amountMinor=12.5)}, "VALIDATION_ERROR"),
        (lambda c: {"eventType": TX, "detail": card_transaction(c, "m-any", 100, currency="XXX")}, "VALIDATION_ERROR"),
        (lambda c: {"eventType": "CardTransactionRefunded", "detail": {}}, "VALIDATION_ERROR"),
        (lambda c: {"eventType": TX}, "VALIDATION_ERROR"),
        (lambda c: {"eventType": TX, "detail": card_transaction(c, "m-any", 100), "extra": 1}, "VALIDATION_ERROR"),
        (lambda c: "{not json", "MALFORMED_JSON"),
    ],
    ids=["missing-fields", "fractional-amount", "unknown-currency", "not-an-earn-event", "no-detail", "unknown-field", "not-json"],
)
def test_a_malformed_quote_is_a_400(api: Api, build: Callable[[str], object], code: str) -> None:
    customer = new_customer()
    body = build(customer)
    response = api.call("POST", QUOTE, as_=customer, raw=body if isinstance(body, str) else json.dumps(body), idempotency_key=None)
    assert response.status_code == 400, response.text
    assert error_code(response) == code


# ---- history -------------------------------------------------------------------------------------


def _earns_and_an_adjustment(cloud: LocalCloud, api: Api) -> tuple[str, list[str]]:
    """A customer whose history, oldest first, is: earn, earn, adjust, earn. Returns the earn subjects."""
    customer, merchant = known_customer(cloud), unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    txs = [card_transaction(customer, merchant, amount) for amount in (10_000, 20_000, 30_000)]
    accrue(cloud, posted(txs[0]), posted(txs[1]))
    assert adjust(api, customer, 7).status_code == 201
    accrue(cloud, posted(txs[2]))
    return customer, [str(t["transactionId"]) for t in txs]


def test_history_pages_newest_first_and_filters_by_kind(cloud: LocalCloud, api: Api) -> None:
    # Given earn, earn, adjust, earn
    customer, _ = _earns_and_an_adjustment(cloud, api)
    # When the customer reads it two at a time
    first = history_page(api, customer, limit=2).json()
    # Then the pages hold every entry once, newest first
    assert [e["points"] for e in first["items"]] == [30, 7] and first["nextCursor"]
    assert [(e["kind"], e["points"]) for e in history(api, customer, limit=2)] == [("earn", 30), ("adjust", 7), ("earn", 20), ("earn", 10)]
    # And a kind filter in one page shows only that kind
    assert [e["points"] for e in history_page(api, customer, kind="earn", limit=10).json()["items"]] == [30, 20, 10]
    assert [e["kind"] for e in history(api, customer, kind="adjust")] == ["adjust"]


def test_history_filtered_by_kind_pages_through_every_entry(cloud: LocalCloud, api: Api) -> None:
    # Given earn(10), earn(20), adjust, earn(30): newest first earn(30), adjust, earn(20), earn(10)
    customer, _ = _earns_and_an_adjustment(cloud, api)
    # When the earn entries are read two at a time (the first query page holds earn(30) and the adjustment)
    earns = history(api, customer, kind="earn", limit=2)
    # Then all three are there
    assert [e["points"] for e in earns] == [30, 20, 10]  # actual: [30, 20], earn(10) skipped


@pytest.mark.parametrize(
    "query",
    # the cursor's own alphabet (base64url) is part of the parameter's contract
    [{"kind": "bonus"}, {"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "not-base64!"}],
)
def test_a_malformed_history_query_is_a_400_naming_the_parameter(api: Api, query: dict[str, str]) -> None:
    # Given a query parameter outside its contract; when the history is read with it
    response = history_page(api, new_customer(), **query)
    # Then it is refused before anything is read, naming the parameter
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR"
    (name,) = query
    assert [(d["field"], d["in"]) for d in response.json()["error"]["details"]] == [(name, "query")]


@pytest.mark.parametrize(
    "cursor",
    # a well-formed key of the wrong shape, and another customer's history
    [encode_cursor({"a": {"S": "1"}}),
     encode_cursor({"pk": {"S": "x"}, "sk": {"S": "y"}, "gsi1pk": {"S": "HIST#someone-else"}, "gsi1sk": {"S": "z"}})],
)
def test_a_cursor_this_listing_did_not_return_is_a_400(api: Api, cursor: str) -> None:
    response = history_page(api, new_customer(), cursor=cursor)
    assert response.status_code == 400 and error_code(response) == "INVALID_CURSOR"


# ---- who may call what ---------------------------------------------------------------------------


def test_a_customer_reads_only_their_own_points(cloud: LocalCloud, api: Api) -> None:
    a, b = new_customer(), known_customer(cloud)
    assert adjust(api, b, 10).status_code == 201
    for path in (f"/v1/customers/{b}/points", f"/v1/customers/{b}/points/history"):
        response = api.call("GET", path, as_=a)
        assert response.status_code == 403 and error_code(response) == "NOT_RESOURCE_OWNER"
        assert api.call("GET", path).status_code == 401
        assert api.call("GET", path, as_=b).status_code == 200
        assert api.call("GET", path, **OPERATOR).status_code == 200


def test_admin_routes_need_an_operator(api: Api) -> None:
    customer, rule_id = new_customer(), unique("r")
    body = rule_body(rule_id, unique("m"))
    calls = [
        ("POST", RULES, body),
        ("GET", RULES, None),
        ("GET", f"{RULES}/{rule_id}", None),
        ("PUT", f"{RULES}/{rule_id}", body),
        ("POST", f"/v1/admin/customers/{customer}/points/adjustments", {"points": 100, "reason": "self-service", "costCentre": "cc"}),
        ("GET", LIABILITY, None),
    ]
    for method, path, payload in calls:
        response = api.call(method, path, as_=customer, body=payload)
        assert response.status_code == 403, (method, path, response.text)
        assert error_code(response) == "OPERATOR_REQUIRED"
    # And nothing was created
    assert api.call("GET", f"{RULES}/{rule_id}", **OPERATOR).status_code == 404
    assert available(api, customer) == 0


# ---- refused input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"caps": {"perCustomerDaily": -1}},
        {"caps": {"perCustomerMonthly": 10, "perWeek": 5}},
        {"colour": "red"},
        {"conditions": {"merchantIds": ["m"], "shoeSize": 42}},
        {"award": {"mode": "per_amount", "points": 0, "perAmountMinor": 1000}},
        {"award": {"mode": "per_amount", "points": 1, "perAmountMinor": 1000, "rounding": "sideways"}},
        {"award": {"mode": "tiered", "tiers": [{"fromAmountMinor": 100, "points": 1}, {"fromAmountMinor": 50, "points": 2}]}},
        {"eventType": "CheckInCompleted"},
        {"validity": {"type": "days", "days": 0}},
        {"conditions": {"currency": "XXX"}},
        {"ruleId": "has space"},
    ],
    ids=["negative-cap", "unknown-cap", "unknown-field", "unknown-condition", "zero-points", "bad-rounding",
         "tiers-not-ascending", "amount-award-without-amount", "zero-days", "unknown-currency", "bad-rule-id"],
)
def test_an_invalid_rule_is_a_400_and_is_not_saved(api: Api, change: dict[str, object]) -> None:
    rule_id = unique("r")
    body = {**rule_body(rule_id, unique("m")), **change}
    response = api.call("POST", RULES, body=body, **OPERATOR)
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION_ERROR" and response.json()["error"]["details"]
    assert api.call("GET", f"{RULES}/{rule_id}", **OPERATOR).status_code == 404


def test_an_adjustment_taking_more_than_the_balance_is_refused_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 50 points
    customer = known_customer(cloud)
    assert adjust(api, customer, 50).status_code == 201
    before = stored(cloud.clients.dynamodb, customer)
    # When an operator takes 51
    response = adjust(api, customer, -51)
    # Then it is refused, and nothing changed
    assert response.status_code == 422 and error_code(response) == "INSUFFICIENT_POINTS"
    assert stored(cloud.clients.dynamodb, customer) == before
    assert available(api, customer) == 50
    # And taking exactly the balance is fine
    taken = adjust(api, customer, -50)
    assert taken.status_code == 201 and taken.json()["available"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"points": 0, "reason": "nothing", "costCentre": "cc"},
        {"points": 1.5, "reason": "fraction", "costCentre": "cc"},
        {"points": 10, "reason": "", "costCentre": "cc"},
        {"points": 10, "reason": "no cost centre"},
        {"points": 10, "reason": "extra", "costCentre": "cc", "expiresOn": "2030-01-01"},
        {"points": 10, "reason": "two\nlines", "costCentre": "cc"},
        {"points": 10, "reason": "blank cost centre", "costCentre": "   "},
        {"points": 10, "reason": "control character", "costCentre": "cc\u0007"},
    ],
    ids=["zero", "fraction", "empty-reason", "no-cost-centre", "unknown-field", "multi-line-reason", "blank-cost-centre",
         "control-character"],
)
def test_an_invalid_adjustment_is_a_400(cloud: LocalCloud, api: Api, body: dict[str, object]) -> None:
    customer = new_customer()
    response = api.call("POST", f"/v1/admin/customers/{customer}/points/adjustments", body=body, **OPERATOR)
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR"
    assert stored(cloud.clients.dynamodb, customer).entries == []


def test_an_adjustment_for_a_customer_the_engine_has_never_seen_is_a_404_and_opens_no_account(cloud: LocalCloud, api: Api) -> None:
    # Given a customer id with no profile
    customer, key = new_customer(), unique("k")
    # When an operator adjusts their points
    response = adjust(api, customer, 100, key=key)
    # Then it is refused, and no points account was opened
    assert response.status_code == 404 and error_code(response) == "CUSTOMER_NOT_FOUND", response.text
    nothing = stored(cloud.clients.dynamodb, customer)
    assert nothing.balance == {} and nothing.lots == [] and nothing.entries == []
    # And once core banking's profile arrives, the same call (same key) books it
    give_profile(cloud, customer)
    retried = adjust(api, customer, 100, key=key)
    assert retried.status_code == 201 and retried.json()["available"] == 100, retried.text


def test_an_adjustment_needs_an_idempotency_key(api: Api) -> None:
    customer = new_customer()
    response = api.call("POST", f"/v1/admin/customers/{customer}/points/adjustments",
                        body={"points": 5, "reason": "no key", "costCentre": "cc"}, idempotency_key=None, **OPERATOR)
    assert response.status_code == 400
    assert available(api, customer) == 0


# ---- malformed bank events -----------------------------------------------------------------------


def test_malformed_events_fail_alone_and_reach_the_dlq_after_their_retries(cloud: LocalCloud, api: Api) -> None:
    # Given a rule, and transactions that break the contract: no customerId, 12.5 minor units, an unknown currency
    customer, merchant = new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    no_customer = card_transaction(customer, merchant, 10_000)
    del no_customer["customerId"]
    fractional = card_transaction(customer, merchant, 10_000, amountMinor=12.5)
    unknown_currency = card_transaction(customer, merchant, 10_000, currency="XXX")
    good = card_transaction(customer, merchant, 10_000)
    bad = [no_customer, fractional, unknown_currency]
    # When a batch holds them and a good one, the accrual reports exactly the bad ones
    result = invoke_accrual(cloud, *(envelope("CardTransactionPosted", d) for d in [*bad, good]))
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m-0", "m-1", "m-2"]
    assert available(api, customer) == 10
    # And when core banking publishes them on the bus, each lands in the DLQ after its retries, untouched
    publish(cloud.clients.events, *(posted(d) for d in bad))
    dlq = cloud.provisioned.queue_urls[ACCRUAL_DLQ]
    for detail in bad:
        (body,) = eventually(partial(dlq_bodies, cloud.clients.sqs, dlq, str(detail["transactionId"])), timeout_s=30)
        assert json.loads(body)["detail"] == detail
    # And none of them earned anything
    assert available(api, customer) == 10
    assert len(history(api, customer)) == 1
