"""Task targets and check-in streaks on the local cloud: progress per customer, the reward once the
target is met, redeliveries counted once, and the customer's task centre."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.campaigns import STANDING, card_spend, coupon_campaign, grants_of, iso, launch, trigger, unique
from tests.support.coupons import active_template, wallet_items

OK: dict[str, list[object]] = {"batchItemFailures": []}


def task_campaign(template_id: str, count: int = 3, within_days: int = 30) -> dict[str, Any]:
    """3 restaurant transactions of at least 200 yuan within 30 days, at this campaign's merchant."""
    body = coupon_campaign(template_id, min_amount=20_000)
    body["trigger"] = {**body["trigger"], "target": {"count": count, "withinDays": within_days}}
    return body


def streak_campaign(template_id: str, customer: str, days: int = 3) -> dict[str, Any]:
    body = coupon_campaign(template_id, audience={"customerIds": [customer], "requireProfile": False})
    body["trigger"] = {"type": "event", "eventType": "CheckInCompleted", "streakDays": days}
    body["frequencyCaps"] = {"monthly": 4}
    return body


def check_in(customer: str, day: date) -> dict[str, Any]:
    return {"customerId": customer, "businessDate": day.isoformat(), "checkedInAt": iso(datetime.now(UTC))}


def spend_at(customer: str, campaign_id: str, days_ago: int, transaction_id: str | None = None) -> dict[str, Any]:
    detail = card_spend(customer, 25_000, transaction_id=transaction_id, merchant=campaign_id)
    return {**detail, "postedAt": iso(datetime.now(UTC) - timedelta(days=days_ago))}


def test_the_third_qualifying_transaction_pays_the_task_once_however_often_the_events_are_replayed(cloud: LocalCloud, api: Api) -> None:
    # Given an active task: 3 qualifying transactions within 30 days earn a coupon
    template_id = active_template(api)
    campaign_id = launch(api, task_campaign(template_id))
    customer = unique("task")
    first, second = spend_at(customer, campaign_id, 20), spend_at(customer, campaign_id, 10)
    # When two arrive, each delivered twice, and a small one
    for detail in (first, first, second, second):
        assert trigger(cloud, "CardTransactionPosted", detail) == OK
    assert trigger(cloud, "CardTransactionPosted", {**card_spend(customer, 19_999, merchant=campaign_id)}) == OK
    # Then nothing is granted yet, and the task centre shows 2 of 3
    assert grants_of(cloud.clients.dynamodb, campaign_id, customer) == []
    centre = api.call("GET", f"/v1/customers/{customer}/tasks", as_=customer)
    assert centre.status_code == 200, centre.text
    mine = next(t for t in centre.json()["tasks"] if t["campaignId"] == campaign_id)
    assert (mine["kind"], mine["done"], mine["target"], mine["completed"]) == ("target", 2, 3, 0)
    # When the third arrives, three times
    third = spend_at(customer, campaign_id, 0)
    for _ in range(3):
        assert trigger(cloud, "CardTransactionPosted", third) == OK
    # Then one grant for the task's first cycle, and one coupon in the wallet
    (grant,) = grants_of(cloud.clients.dynamodb, campaign_id, customer)
    assert grant["sk"] == "task:0" and grant["status"] in STANDING
    (coupon,) = eventually(lambda: wallet_items(api, customer), timeout_s=60)
    assert coupon["campaignId"] == campaign_id
    # And the task centre shows it completed once, counting again from zero
    after = next(t for t in api.call("GET", f"/v1/customers/{customer}/tasks", as_=customer).json()["tasks"] if t["campaignId"] == campaign_id)
    assert (after["done"], after["completed"]) == (0, 1)


def test_transactions_further_apart_than_the_window_do_not_complete_the_task(cloud: LocalCloud, api: Api) -> None:
    campaign_id = launch(api, task_campaign(active_template(api)))
    customer = unique("task")
    for days_ago in (60, 31, 0):  # no three within 30 days of each other
        assert trigger(cloud, "CardTransactionPosted", spend_at(customer, campaign_id, days_ago)) == OK
    assert grants_of(cloud.clients.dynamodb, campaign_id, customer) == []


def test_concurrent_transactions_toward_one_target_all_count_and_pay_once(cloud: LocalCloud, api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # Given a task of 3, and 6 qualifying transactions of one customer processed on 6 threads
    campaign_id = launch(api, task_campaign(active_template(api)))
    customer = unique("task")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: trigger(cloud, "CardTransactionPosted", spend_at(customer, campaign_id, n)), range(6)))
    # Then every message was handled, and with a lifetime cap of 1 exactly one reward was paid
    assert all(r == OK for r in results)
    assert [g["status"] in STANDING for g in grants_of(cloud.clients.dynamodb, campaign_id, customer)] == [True]


def test_concurrent_transactions_completing_two_cycles_pay_both(cloud: LocalCloud, api: Api) -> None:
    from concurrent.futures import ThreadPoolExecutor

    # Given a task of 3 that may be completed twice, and 6 qualifying transactions processed on 6 threads
    body = task_campaign(active_template(api))
    body["frequencyCaps"] = {"lifetime": 2}
    campaign_id = launch(api, body)
    customer = unique("task")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: trigger(cloud, "CardTransactionPosted", spend_at(customer, campaign_id, n)), range(6)))
    # Then none was used up by the first cycle while it was being paid: both cycles were rewarded, once each
    assert all(r == OK for r in results)
    assert sorted(g["sk"] for g in grants_of(cloud.clients.dynamodb, campaign_id, customer)) == ["task:0", "task:1"]


def test_every_third_consecutive_check_in_earns_the_streak_reward_and_a_missed_day_restarts(cloud: LocalCloud, api: Api) -> None:
    # Given a check-in streak of 3 days for one customer
    customer = unique("streak")
    campaign_id = launch(api, streak_campaign(active_template(api), customer))
    start = date.today() - timedelta(days=10)
    # When they check in on days 0, 1 (twice), then miss day 2, then check in on days 3, 4 and 5
    for offset in (0, 1, 1, 3, 4, 5):
        assert trigger(cloud, "CheckInCompleted", check_in(customer, start + timedelta(days=offset))) == OK
    # Then only the run that started on day 3 reached 3 days: one grant, keyed by that run
    (grant,) = grants_of(cloud.clients.dynamodb, campaign_id, customer)
    assert grant["sk"] == f"streak:{(start + timedelta(days=3)).isoformat()}:3"
    # And a redelivered check-in of day 5 pays nothing more
    assert trigger(cloud, "CheckInCompleted", check_in(customer, start + timedelta(days=5))) == OK
    assert len(grants_of(cloud.clients.dynamodb, campaign_id, customer)) == 1


def test_a_check_in_redriven_late_still_completes_the_streak_once(cloud: LocalCloud, api: Api) -> None:
    # Given a check-in streak of 3 days, and check-ins on days 0 and 2 (day 1's went to the DLQ)
    customer = unique("streak")
    campaign_id = launch(api, streak_campaign(active_template(api), customer))
    start = date.today() - timedelta(days=5)
    for offset in (0, 2):
        assert trigger(cloud, "CheckInCompleted", check_in(customer, start + timedelta(days=offset))) == OK
    assert grants_of(cloud.clients.dynamodb, campaign_id, customer) == []
    # When day 1 is redriven, twice
    for _ in range(2):
        assert trigger(cloud, "CheckInCompleted", check_in(customer, start + timedelta(days=1))) == OK
    # Then the three days are one streak, rewarded once
    (grant,) = grants_of(cloud.clients.dynamodb, campaign_id, customer)
    assert grant["sk"] == f"streak:{start.isoformat()}:3"


def test_a_customer_sees_only_their_own_task_centre(api: Api) -> None:
    customer, other = unique("task"), unique("task")
    response = api.call("GET", f"/v1/customers/{other}/tasks", as_=customer)
    assert response.status_code == 403 and response.json()["error"]["code"] == "NOT_RESOURCE_OWNER"
