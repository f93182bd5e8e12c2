"""The daily reconciliation on the local cloud, through its API: books the engine wrote agree (a saga
compensated, a grant delivered, claims), a ledger entry written behind the engine's back is found with
the customer's id and announced, a day still to come is refused, and a date never run is a 404.

The session's cloud is shared with every other test file of this worker, some of which write items
by hand on purpose: assertions here are about this test's own ids, not the whole bank's total (the
chaos run, on a cloud of its own, asserts the total: docs/chaos.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.integration.test_campaigns_sagas import OK, coupon_and_points, settled
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.campaigns import card_spend, launch, trigger, unique
from tests.support.coupons import active_template, claimed, error_code
from tests.support.points import bank_today

OPERATOR: dict[str, Any] = {"as_": "op-finance", "groups": ["operators"]}
ROOT = "/v1/admin/reconciliation"


@pytest.fixture
def tap(cloud: LocalCloud) -> Iterator[BusTap]:
    listening = BusTap(cloud, unique("reconciliation-tap"), ["loyalty.reconciliation"])
    yield listening
    listening.close()


def reconciled(api: Api, day: str) -> dict[str, Any]:
    """Asks for a run of `day` and waits for its report."""
    started = api.call("POST", f"{ROOT}/{day}", **OPERATOR)
    assert started.status_code == 202, started.text
    run_id = started.json()["runId"]

    def done() -> dict[str, Any] | None:
        report = api.call("GET", f"{ROOT}/{day}", **OPERATOR).json()
        return report if report["runId"] == run_id and report["status"] == "done" else None

    return eventually(done, timeout_s=120, interval_s=0.5)


def findings_about(report: dict[str, Any], *ids: str) -> list[dict[str, Any]]:
    return [f for check in report["checks"] for f in check["findings"] if set(ids) & {str(v) for v in f.values()}]


def test_the_books_of_a_saga_a_delivered_grant_and_claims_agree(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign of a coupon and points: one customer's grant compensated (their coupon refused),
    # another's delivered, and claims of the template
    template_id = active_template(api, lifetime_limit=1)
    campaign_id = launch(api, coupon_and_points(template_id, budget_total=10))
    refused, rewarded = unique("recon-refused"), unique("recon-rewarded")
    claimed(api, refused, template_id)
    for customer in (refused, rewarded):
        assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    settled(cloud, campaign_id, refused)
    settled(cloud, campaign_id, rewarded, "delivered")
    # When today is reconciled
    report = reconciled(api, bank_today().isoformat())
    # Then nothing about this campaign, its template or its customers disagrees
    assert findings_about(report, campaign_id, template_id, refused, rewarded) == []
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == {"campaign_costs", "template_stock", "points_ledger", "redemption_coupons", "issue_commands", "checkout_sessions"}
    # And it examined them: the two grants today, the coupons, the accounts
    assert checks["campaign_costs"]["ofTheDay"] >= 2 and checks["template_stock"]["examined"] >= 2
    assert checks["points_ledger"]["counts"]["accounts"] >= 1 and checks["issue_commands"]["examined"] >= 2
    assert report["requestedBy"] == OPERATOR["as_"] and report["finishedAt"] >= report["startedAt"]


def test_a_ledger_entry_written_behind_the_engines_back_is_found_and_announced(cloud: LocalCloud, api: Api, tap: BusTap) -> None:
    # Given a customer whose points the engine booked, and an entry someone wrote straight into the table
    template_id = active_template(api)
    campaign_id = launch(api, coupon_and_points(template_id))
    customer = unique("recon-tampered")
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    settled(cloud, campaign_id, customer, "delivered")
    cloud.clients.dynamodb.put_item(TableName="points", Item={
        "pk": {"S": f"LEDGER#{customer}"}, "sk": {"S": "ENTRY#manual-fix"}, "entryId": {"S": "manual-fix"},
        "kind": {"S": "adjust"}, "points": {"N": "7"}, "at": {"S": "2026-01-01T00:00:00.000000Z"}})
    # When today is reconciled
    report = reconciled(api, bank_today().isoformat())
    # Then the account is reported with what repairs it: the ledger says 7 more than the balance
    (finding,) = findings_about(report, customer)
    assert finding == {"code": "LEDGER_NOT_BALANCE", "customerId": customer, "entries": 207, "balance": 200}
    assert report["discrepancies"] >= 1
    # And ReconciliationFailed is on the bus for this run
    announced = eventually(lambda: [e for e in tap.drain() if e["detail"].get("runId") == report["runId"]], timeout_s=30)
    assert announced[0]["detail-type"] == "ReconciliationFailed" and announced[0]["detail"]["byCheck"]["points_ledger"] >= 1


def test_a_business_date_still_to_come_is_refused_and_changes_nothing(api: Api) -> None:
    tomorrow = (bank_today() + timedelta(days=1)).isoformat()
    refused = api.call("POST", f"{ROOT}/{tomorrow}", **OPERATOR)
    assert refused.status_code == 422 and error_code(refused) == "BUSINESS_DATE_IN_FUTURE"
    assert error_code(api.call("GET", f"{ROOT}/{tomorrow}", **OPERATOR)) == "BUSINESS_DATE_IN_FUTURE"


def test_a_date_never_reconciled_is_not_found_and_a_malformed_one_is_a_400(api: Api) -> None:
    assert error_code(api.call("GET", f"{ROOT}/2001-01-01", **OPERATOR)) == "RECONCILIATION_NOT_FOUND"
    assert api.call("GET", f"{ROOT}/2001-1-1", **OPERATOR).status_code == 400


def test_a_quiet_day_reports_zeros_for_the_day(api: Api) -> None:
    # Given a day long gone, with no activity in the books
    # When it is reconciled
    report = reconciled(api, "2001-01-02")
    # Then every check reports nothing of that day
    assert report["status"] == "done" and all(c["ofTheDay"] == 0 for c in report["checks"])


def test_a_customer_cannot_reconcile(api: Api) -> None:
    denied = api.call("POST", f"{ROOT}/{bank_today().isoformat()}", as_=f"c-{uuid.uuid4().hex[:8]}")
    assert denied.status_code == 403
