"""The branch league table (`GET /v1/admin/org-units/{unitId}/kpis`): counters the org-kpis consumer keeps
from bank and engine events, read one item per unit; once per event and per customer; scoped."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.cloud import LocalCloud
from loyalty.org import kpis
from tests.support import org
from tests.support.api import Api, eventually
from tests.support.org import HQ, error_code, operator, unique

ROOT = "/v1/admin/org-units"
BANK = ZoneInfo("Asia/Shanghai")


def _month() -> str:
    """Last month in the bank's time zone: every event of the test falls in it."""
    return kpis.previous_month(kpis.month_of(datetime.now(BANK).date()))


def _at(month: str, day: int, hour: int = 4) -> str:
    return f"{month}-{day:02d}T{hour:02d}:00:00Z"


def envelope(detail_type: str, detail: dict[str, Any], event_id: str | None = None, source: str = "bank.core") -> str:
    return json.dumps({"version": "0", "id": event_id or str(uuid.uuid4()), "source": source, "detail-type": detail_type,
                       "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "detail": detail})


def consume(cloud: LocalCloud, *bodies: str) -> dict[str, Any]:
    """The org-kpis function, in-process, with one SQS batch."""
    records = [{"messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]
    return dict(cloud.registry.invoke(cloud.topology.function("org-kpis"), {"Records": records}))


def put_profile(cloud: LocalCloud, customer: str, branch_code: str, opened_at: str) -> None:
    """As the bus delivers a profile change to both consumers: customers-ingest stores it, org-kpis counts it."""
    body = envelope("CustomerProfileChanged", {"customerId": customer, "changedAt": _at(_month(), 1, 0), "branchId": branch_code,
                                               "openedAt": opened_at})
    result = cloud.registry.invoke(cloud.topology.function("customers-ingest"), {"Records": [{"messageId": "p", "body": body}]})
    assert result == {"batchItemFailures": []}, result
    assert consume(cloud, body) == {"batchItemFailures": []}


def publish(cloud: LocalCloud, *events: tuple[str, str, dict[str, Any]]) -> None:
    entries = [{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": "loyalty-events"}
               for source, detail_type, detail in events]
    for start in range(0, len(entries), 10):
        result = cloud.clients.events.put_events(Entries=entries[start:start + 10])
        assert result["FailedEntryCount"] == 0, result


def league(api: Api, unit: str, period: str, who: dict[str, Any] | None = None) -> Any:
    return api.call("GET", f"{ROOT}/{unit}/kpis?period={period}", **(who or HQ))


def _grant(customer: str, at: str, cost: int, arm: str = "a") -> dict[str, Any]:
    return {"eventId": unique("ev"), "occurredAt": at, "campaignId": "k-1", "customerId": customer, "arm": arm, "trigger": "t",
            "cost": cost, "budgetUnit": "minor"}


def _coupon(customer: str, at: str, **more: Any) -> dict[str, Any]:
    return {"eventId": unique("ev"), "occurredAt": at, "couponId": unique("cpn"), "templateId": "t-1", "customerId": customer,
            "kind": "fixed_amount", "source": "claim", "cost": {}, "funding": {}, **more}


@pytest.fixture(scope="module")
def tree(api: Api) -> dict[str, str]:
    """A branch of its own with two sub-branches, each mapped to a core-banking branch id."""
    branch = org.branch(api)
    found = {"branch": branch}
    for name in ("s1", "s2"):
        code = unique(f"code-{name}")
        found[name] = str(org.create(api, unique(name), "sub_branch", branch, branchCode=code)["unitId"])
        found[f"{name}-code"] = code
    return found


def test_events_for_customers_of_two_branches_make_the_league_table(cloud: LocalCloud, api: Api, tree: dict[str, str]) -> None:
    month = _month()
    base = kpis.previous_month(month)
    c1, c2, c3 = unique("kc1"), unique("kc2"), unique("kc3")
    # Given three customers: two of sub-branch s1 (one opened this month), one of s2 (opened this month)
    put_profile(cloud, c1, tree["s1-code"], _at(month, 2))
    put_profile(cloud, c2, tree["s1-code"], "2026-01-05T00:00:00Z")
    put_profile(cloud, c3, tree["s2-code"], _at(month, 3))
    # When the bank and the engine publish their events
    card = {"currency": "CNY", "merchantId": "m", "mcc": "5812", "channel": "pos", "amountMinor": 100}
    grants = [_grant(c1, _at(month, 5), 800), _grant(c1, _at(month, 6), 200), _grant(c3, _at(month, 5), 500, arm="control")]
    issued = [_coupon(c1, _at(month, 7)), _coupon(c1, _at(month, 7)), _coupon(c3, _at(month, 8))]
    redeemed = [_coupon(c1, _at(month, 9), couponId=issued[0]["couponId"], orderId="o-1")]
    events: list[tuple[str, str, dict[str, Any]]] = [
        ("bank.core", "CardTransactionPosted", {**card, "transactionId": unique("tx"), "customerId": c1, "postedAt": _at(month, 10)}),
        ("bank.core", "CardTransactionPosted", {**card, "transactionId": unique("tx"), "customerId": c1, "postedAt": _at(month, 11)}),
        ("bank.core", "LoginCompleted", {"customerId": c1, "channel": "app", "loggedInAt": _at(month, 12)}),
        ("bank.core", "LoginCompleted", {"customerId": c2, "channel": "app", "loggedInAt": _at(month, 12)}),
        ("bank.core", "CardTransactionPosted", {**card, "transactionId": unique("tx"), "customerId": c3, "postedAt": _at(month, 13)}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c1, "month": base, "averageAumMinor": 1_000, "currency": "CNY"}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c1, "month": month, "averageAumMinor": 1_500, "currency": "CNY"}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c2, "month": month, "averageAumMinor": 700, "currency": "CNY"}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c2, "month": month, "averageAumMinor": 9, "currency": "USD"}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c3, "month": base, "averageAumMinor": 400, "currency": "CNY"}),
        ("bank.core", "MonthlyAumComputed", {"customerId": c3, "month": month, "averageAumMinor": 300, "currency": "CNY"}),
        *[("loyalty.campaigns", "RewardGranted", g) for g in grants],
        *[("loyalty.coupons", "CouponIssued", c) for c in issued],
        *[("loyalty.coupons", "CouponRedeemed", c) for c in redeemed],
    ]
    publish(cloud, *events)
    # Then the league table is what the events say, computed here on their own
    expected = {
        tree["s1"]: {"newCustomers": 1, "activeCustomers": 2, "aumMinor": 2_200, "aumPreviousMinor": 1_000, "aumGrowthMinor": 1_200,
                     "aumGrowthPercent": 120.0, "grants": 2, "controlGrants": 0, "grantCostMinor": 1_000, "couponsIssued": 2,
                     "couponsRedeemed": 1, "redemptionRate": 0.5, "rank": 1},
        tree["s2"]: {"newCustomers": 1, "activeCustomers": 1, "aumMinor": 300, "aumPreviousMinor": 400, "aumGrowthMinor": -100,
                     "aumGrowthPercent": -25.0, "grants": 0, "controlGrants": 1, "grantCostMinor": 0, "couponsIssued": 1,
                     "couponsRedeemed": 0, "redemptionRate": 0.0, "rank": 2},
    }

    def table_as_expected() -> dict[str, Any] | None:
        body = league(api, tree["branch"], month).json()
        rows = {row["unitId"]: {name: row[name] for name in expected[tree["s1"]]} for row in body["units"]}
        return body if rows == expected else None

    body = eventually(table_as_expected, timeout_s=30)
    assert [row["unitId"] for row in body["units"]] == [tree["s1"], tree["s2"]]
    assert body["total"]["activeCustomers"] == 3 and body["total"]["grantCostMinor"] == 1_000 and body["total"]["aumMinor"] == 2_500
    assert (body["aumMonth"], body["aumBaseMonth"]) == (month, base)
    # the quarter holds the month: the same customers, each counted once
    quarter = kpis.quarter_of(kpis.period(month).first)
    by_quarter = {row["unitId"]: row for row in league(api, tree["branch"], quarter).json()["units"]}
    assert by_quarter[tree["s1"]]["activeCustomers"] == 2 and by_quarter[tree["s1"]]["grants"] == 2
    # and every unit above counts them too: the head office's total has at least these
    head = league(api, "hq", month).json()
    assert head["total"]["activeCustomers"] >= 3
    assert any(row["unitId"] == tree["branch"] and row["activeCustomers"] >= 3 for row in head["units"])

    # When events are delivered again: the same envelopes, and an engine event re-published under a new envelope id
    before = league(api, tree["branch"], month).json()
    bodies = [envelope(detail_type, detail, source=source) for source, detail_type, detail in events]
    assert consume(cloud, *bodies) == {"batchItemFailures": []}
    assert consume(cloud, bodies[0], bodies[-1], envelope("RewardGranted", grants[0], source="loyalty.campaigns")) == \
        {"batchItemFailures": []}
    # Then nothing changes
    assert league(api, tree["branch"], month).json() == before


def test_a_customer_without_a_mapped_branch_counts_under_the_head_offices_unassigned_bucket(cloud: LocalCloud, api: Api) -> None:
    month = _month()
    for _ in range(4):  # a month no other test's events fall in
        month = kpis.previous_month(month)
    before = {row["unitId"]: row for row in league(api, "hq", month).json()["units"]}.get(kpis.UNASSIGNED, {"activeCustomers": 0})
    # a customer with no profile at all logs in
    login = envelope("LoginCompleted", {"customerId": unique("nobody"), "channel": "app", "loggedInAt": _at(month, 12)})
    assert consume(cloud, login, login) == {"batchItemFailures": []}
    rows = {row["unitId"]: row for row in league(api, "hq", month).json()["units"]}
    assert rows[kpis.UNASSIGNED]["activeCustomers"] == before["activeCustomers"] + 1
    assert rows[kpis.UNASSIGNED]["name"] is None


def test_an_operator_of_a_branch_cannot_read_another_branchs_kpis(api: Api, tree: dict[str, str]) -> None:
    month = _month()
    of_s1 = operator(tree["s1"])
    assert league(api, tree["s1"], month, of_s1).status_code == 200
    for other in (tree["s2"], tree["branch"], "hq"):
        response = league(api, other, month, of_s1)
        assert response.status_code == 404 and error_code(response) == "ORG_UNIT_NOT_FOUND", response.text
    assert league(api, tree["s1"], month, operator(None)).status_code == 403
    assert league(api, tree["branch"], "2026-13").status_code == 400


def test_a_contract_violation_goes_to_the_dlq_and_does_not_block_its_batch(cloud: LocalCloud) -> None:
    url = cloud.provisioned.queue_urls["org-kpi-events"]
    dlq = cloud.provisioned.queue_urls["org-kpi-events-dlq"]
    marker = unique("bad")
    cloud.clients.sqs.send_message(QueueUrl=url, MessageBody=envelope("RewardGranted", {"customerId": marker, "cost": "lots"},
                                                                       source="loyalty.campaigns"))

    def in_dlq() -> bool:
        messages = cloud.clients.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                                     MessageAttributeNames=["All"]).get("Messages", [])
        return any(marker in m["Body"] and m["MessageAttributes"]["errorCode"]["StringValue"] == "CONTRACT_VIOLATION" for m in messages)

    eventually(in_dlq, timeout_s=20)
    ok = envelope("LoginCompleted", {"customerId": unique("k"), "channel": "app", "loggedInAt": _at(_month(), 12)})
    result = consume(cloud, ok, "not json")
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] in ([], ["m-1"])  # poison: to the DLQ, or failed alone


def test_a_customers_events_consumed_at_once_count_them_once(cloud: LocalCloud, api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # Given a sub-branch of a branch of its own, and a customer of it
    branch = org.branch(api)
    code = unique("code")
    unit = str(org.create(api, unique("s"), "sub_branch", branch, branchCode=code)["unitId"])
    customer, month = unique("kcc"), _month()
    put_profile(cloud, customer, code, "2026-01-05T00:00:00Z")
    # When four of their activities of the month are consumed at the same time, by four invocations
    logins = [envelope("LoginCompleted", {"customerId": customer, "channel": "app", "loggedInAt": _at(month, day)}) for day in range(3, 7)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda body: consume(cloud, body), logins))
    assert all(result == {"batchItemFailures": []} for result in results), results
    # Then they are one active customer, at the sub-branch and above it
    body = league(api, branch, month).json()
    assert [(row["unitId"], row["activeCustomers"]) for row in body["units"]] == [(unit, 1)]
    assert body["total"]["activeCustomers"] == 1


def test_uplift_compares_the_spend_after_a_grant_of_treated_and_control_customers(cloud: LocalCloud, api: Api) -> None:
    # Given a branch's sub-branch with four customers: two granted a reward this month, one held out, one never targeted
    month = _month()
    code = unique("code-up")
    branch = org.branch(api)
    sub = str(org.create(api, unique("s-up"), "sub_branch", branch, branchCode=code)["unitId"])
    treated, control, untargeted = [unique("kt1"), unique("kt2")], unique("kc"), unique("kn")
    for customer in (*treated, control, untargeted):
        put_profile(cloud, customer, code, "2026-01-05T00:00:00Z")
    card = {"currency": "CNY", "merchantId": "m", "mcc": "5812", "channel": "pos"}

    def spend(customer: str, amount: int, day: int) -> str:
        detail = {**card, "amountMinor": amount, "transactionId": unique("tx"), "customerId": customer, "postedAt": _at(month, day)}
        return envelope("CardTransactionPosted", detail)

    early = spend(treated[0], 9_999, 2)  # seen before the grant: not the campaign's doing
    assert consume(cloud, early) == {"batchItemFailures": []}
    # When the grants are consumed, then each customer's spend after them
    grants = [_grant(treated[0], _at(month, 3), 100), _grant(treated[1], _at(month, 3), 100), _grant(control, _at(month, 3), 100, "control")]
    assert consume(cloud, *[envelope("RewardGranted", g, source="loyalty.campaigns") for g in grants]) == {"batchItemFailures": []}
    after = [spend(treated[0], 3_000, 10), spend(treated[1], 1_000, 11), spend(treated[1], 2_000, 12), spend(control, 2_500, 10),
             spend(untargeted, 50_000, 10)]
    assert consume(cloud, *after) == {"batchItemFailures": []}
    # And everything is delivered again, the early spend included
    assert consume(cloud, early, *after) == {"batchItemFailures": []}
    # Then treated customers spent 3,000 each against the control's 2,500: an uplift of 20%, computed here on its own
    row = next(r for r in league(api, branch, month).json()["units"] if r["unitId"] == sub)
    assert (row["treatedCustomers"], row["treatedSpendMinor"], row["controlCustomers"], row["controlSpendMinor"]) == (2, 6_000, 1, 2_500)
    assert row["upliftPercent"] == round((6_000 / 2) / (2_500 / 1) * 100 - 100, 2) == 20.0
