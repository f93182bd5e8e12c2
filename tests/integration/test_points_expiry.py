"""Expiry (the `points-expiry` scheduled function) and the liability report.

A lot is valid through its date in the bank's time zone; the daily run expires the lots whose date
has passed. A rule with a `fixed_date` validity dates its lots that day, so a rule dated yesterday
makes lots that are due.
"""

from __future__ import annotations

from datetime import timedelta

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.points import (
    LIABILITY,
    OPERATOR,
    accrue,
    adjust,
    all_balances_available,
    balance,
    bank_today,
    card_transaction,
    create_rule,
    history,
    known_customer,
    new_customer,
    posted,
    rule_body,
    run_expiry,
    seed_lot,
    stored,
    unique,
    yesterday,
)


def test_the_expiry_run_expires_lapsed_lots_once_and_keeps_the_rest(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 128 points in a lot dated yesterday, 10 in a lot dated today, and 50 valid a year
    customer, merchant = known_customer(cloud), unique("m")
    lapsing_cc = unique("cc")
    create_rule(api, rule_body(unique("r"), merchant, validity={"type": "fixed_date", "date": yesterday()}, cost_centre=lapsing_cc))
    create_rule(api, rule_body(unique("r"), merchant, award={"mode": "fixed", "points": 10},
                               validity={"type": "fixed_date", "date": bank_today().isoformat()}))
    accrue(cloud, posted(card_transaction(customer, merchant, 128_800)))
    assert adjust(api, customer, 50).status_code == 201
    dynamodb = cloud.clients.dynamodb
    before = stored(dynamodb, customer)
    assert before.available == 188 and len(before.lots) == 3
    # When the daily schedule runs
    result = run_expiry(cloud)
    # Then the lapsed lot is gone, the balance dropped by its 128 points, and an expire entry records it
    assert result["lotsExpired"] >= 1
    after = stored(dynamodb, customer)
    assert after.available == 60
    assert sorted(lot["expiresOn"] for lot in after.lots) == sorted(lot["expiresOn"] for lot in before.lots if lot["expiresOn"] != yesterday())
    (expired,) = history(api, customer, kind="expire")
    assert expired["points"] == -128 and expired["costCentre"] == lapsing_cc
    assert expired["source"]["lotId"].startswith(f"{yesterday()}#{lapsing_cc}#")
    after.check_invariants()
    # And running it again changes nothing
    run_expiry(cloud)
    assert stored(dynamodb, customer) == after


def test_the_schedule_fired_through_the_local_cloud_expires_too(cloud: LocalCloud, api: Api) -> None:
    # Given a lapsed lot
    customer, merchant = new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant, validity={"type": "fixed_date", "date": yesterday()}))
    accrue(cloud, posted(card_transaction(customer, merchant, 20_000)))
    # When the schedule is fired as `make fire SCHEDULE=points-expiry-daily` does
    fired = api.session.post(f"{api.base_url}/_local/schedules/fire?schedule=points-expiry-daily", timeout=60)
    # Then the lot expired
    assert fired.status_code == 200, fired.text
    assert stored(cloud.clients.dynamodb, customer).available == 0


def test_a_lot_written_directly_with_a_past_date_is_expired_by_the_run(cloud: LocalCloud, api: Api) -> None:
    # Given a lot of 30 points dated three days ago, written as the ledger writes one (with its entry and balance)
    customer = new_customer()
    dynamodb = cloud.clients.dynamodb
    three_days_ago = (bank_today() - timedelta(days=3)).isoformat()
    seed_lot(dynamodb, customer, points=30, expires_on=three_days_ago, cost_centre=unique("cc"))
    stored(dynamodb, customer).check_invariants()
    # And before the run the customer is shown none of them to spend, nor as expiring
    shown = balance(api, customer)
    assert shown["available"] == 0 and shown["expiringWithin30Days"] == []
    # When the run comes
    run_expiry(cloud)
    # Then the lot is gone, and so are its points
    after = stored(dynamodb, customer)
    assert after.lots == [] and after.available == 0
    assert [(e["kind"], e["points"]) for e in after.entries] == [("earn", 30), ("expire", -30)]
    after.check_invariants()


def test_a_lot_dated_more_than_a_week_ago_is_still_expired(cloud: LocalCloud) -> None:
    # Given a lot dated ten days ago (the runs of the days since were missed)
    customer = new_customer()
    dynamodb = cloud.clients.dynamodb
    seed_lot(dynamodb, customer, points=30, expires_on=(bank_today() - timedelta(days=10)).isoformat(), cost_centre=unique("cc"))
    # When the run comes
    run_expiry(cloud)
    # Then the lot has expired
    assert stored(dynamodb, customer).available == 0  # actual: 30


def test_the_liability_report_agrees_with_the_balances(cloud: LocalCloud, api: Api) -> None:
    # Given points owed under two cost centres of this test's own
    customer, merchant = known_customer(cloud), unique("m")
    cards_cc, service_cc = unique("cc"), unique("cc")
    create_rule(api, rule_body(unique("r"), merchant, cost_centre=cards_cc, validity={"type": "fixed_date", "date": "2027-06-30"}))
    accrue(cloud, posted(card_transaction(customer, merchant, 128_800)))
    assert adjust(api, customer, 40, cost_centre=service_cc).status_code == 201
    # When an operator reads the liability
    response = api.call("GET", LIABILITY, **OPERATOR)
    # Then the lots' total and the balances' total agree, and the rows add up to every balance there is
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["agrees"] is True
    assert sum(row["points"] for row in report["rows"]) == report["outstanding"] == report["balancesAvailable"]
    assert report["balancesAvailable"] == all_balances_available(cloud.clients.dynamodb)
    # And this customer's points are in their cost centre and expiry month
    mine = {(r["costCentre"], r["expiryMonth"]): r["points"] for r in report["rows"] if r["costCentre"] in (cards_cc, service_cc)}
    lots = stored(cloud.clients.dynamodb, customer).lots
    service_month = next(lot["expiresOn"][:7] for lot in lots if lot["costCentre"] == service_cc)
    assert mine == {(cards_cc, "2027-06"): 128, (service_cc, service_month): 40}
