"""Campaign grants on the local cloud: a trigger grants once, within the budget whatever the
concurrency, never to control customers; a refused coupon gives its budget back; the report counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.campaigns import (
    AUTHOR,
    ROOT,
    STANDING,
    arm,
    card_spend,
    coupon_campaign,
    grants_of,
    launch,
    report,
    trigger,
    unique,
)
from tests.support.coupons import active_template, set_status, wallet_items

OK: dict[str, list[object]] = {"batchItemFailures": []}


def test_a_qualifying_transaction_grants_a_coupon_into_the_wallet_once_however_often_replayed(cloud: LocalCloud, api: Api) -> None:
    # Given an active "spend 1000 yuan at a restaurant, get a coupon" campaign
    template_id = active_template(api)
    campaign_id = launch(api, coupon_campaign(template_id))
    customer, small_spender, other_mcc = unique("cc"), unique("cc"), unique("cc")
    # When a qualifying transaction is delivered three times (once re-published under a new id)
    qualifying = card_spend(customer, 128_800, merchant=campaign_id)
    for event_id in ("e-1", "e-1", "e-2"):
        assert trigger(cloud, "CardTransactionPosted", qualifying, event_id) == OK
    # And a small one and one at another kind of merchant arrive for two other customers
    assert trigger(cloud, "CardTransactionPosted", card_spend(small_spender, 99_999, merchant=campaign_id)) == OK
    assert trigger(cloud, "CardTransactionPosted", card_spend(other_mcc, 200_000, mcc="5411", merchant=campaign_id)) == OK
    # Then the qualifying customer gets one coupon, from the campaign
    (coupon,) = eventually(lambda: wallet_items(api, customer), timeout_s=60)
    assert coupon["templateId"] == template_id and coupon["campaignId"] == campaign_id
    assert grants_of(cloud.clients.dynamodb, campaign_id, small_spender) == []
    assert grants_of(cloud.clients.dynamodb, campaign_id, other_mcc) == []
    # And the report counts one grant, its cost, and the card spend of the targeted customer
    main = arm(report(api, campaign_id), "main")
    assert main["targeted"] == 1 and main["granted"] == 1 and main["cost"] == 1
    assert main["spendPerTargetedMinor"] == 128_800


def test_a_foreign_currency_spend_neither_meets_the_threshold_nor_counts_as_spend(cloud: LocalCloud, api: Api) -> None:
    # Given a "spend 1000 yuan" campaign, and a customer it rewarded
    campaign_id = launch(api, coupon_campaign(active_template(api)))
    customer, traveller = unique("fx"), unique("fx")
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 128_800, merchant=campaign_id)) == OK
    # When 5,000 US dollars are spent by another customer, and by the rewarded one
    for who in (traveller, customer):
        assert trigger(cloud, "CardTransactionPosted", {**card_spend(who, 500_000, merchant=campaign_id), "currency": "USD"}) == OK
    # Then the dollars earned nothing (cents are not fen), and the report's yuan spend is unchanged
    assert grants_of(cloud.clients.dynamodb, campaign_id, traveller) == []
    body = report(api, campaign_id)
    assert arm(body, "main")["spendPerTargetedMinor"] == 128_800 and body["spendCurrency"] == "CNY"


def test_an_event_with_a_bad_time_is_refused_whole_and_grants_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given an active campaign
    campaign_id = launch(api, coupon_campaign(active_template(api)))
    customer = unique("bad")
    # When a qualifying transaction arrives with a time that has no offset
    bad = {**card_spend(customer, 150_000, merchant=campaign_id), "postedAt": "2026-12-04T10:00:00"}
    # Then the message is reported failed (for the DLQ after retries) and nothing was granted
    assert trigger(cloud, "CardTransactionPosted", bad) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert grants_of(cloud.clients.dynamodb, campaign_id, customer) == []


def test_two_hundred_concurrent_triggers_grant_exactly_the_budget_and_pause_the_campaign(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign whose budget is 50 rewards
    campaign_id = launch(api, coupon_campaign(active_template(api, stock=500), budget_total=50))
    customers = [unique("race") for _ in range(200)]
    # When 200 customers' qualifying transactions are processed on 16 threads
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda c: trigger(cloud, "CardTransactionPosted", card_spend(c, 150_000, merchant=campaign_id)), customers))
    # Then every message was handled, exactly 50 were granted, and the budget is spent to the unit
    assert all(r == OK for r in results)
    granted = [c for c in customers if any(g["status"] in STANDING for g in grants_of(cloud.clients.dynamodb, campaign_id, c))]
    assert len(granted) == 50
    body = report(api, campaign_id)
    assert arm(body, "main")["granted"] == 50 and body["budget"]["total"] == {"limit": 50, "spent": 50, "left": 0}
    assert body["forecast"]["burnPerDay"] > 0 and body["forecast"]["lastsTheWindow"] is False
    # And the campaign paused itself, with the reason
    state = api.call("GET", f"{ROOT}/{campaign_id}", **AUTHOR).json()
    assert state["status"] == "paused" and state["pausedReason"] == "budget_exhausted"


def test_control_customers_are_recorded_and_get_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign with half its audience in the control group
    template_id = active_template(api)
    campaign_id = launch(api, coupon_campaign(template_id, control=50))
    customers = [unique("ab") for _ in range(16)]
    # When each of them makes a qualifying transaction
    for customer in customers:
        assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 120_000, merchant=campaign_id)) == OK
    # Then each lands in one arm, control customers are recorded as would-have-received, and get no coupon
    arms = {c: grants_of(cloud.clients.dynamodb, campaign_id, c)[0]["arm"] for c in customers}
    control = [c for c, a in arms.items() if a == "control"]
    treated = [c for c, a in arms.items() if a == "main"]
    assert control and treated
    eventually(lambda: all(wallet_items(api, c) for c in treated), timeout_s=60)
    assert all(wallet_items(api, c) == [] for c in control)
    body = report(api, campaign_id)
    assert arm(body, "control")["targeted"] == len(control) and arm(body, "control")["granted"] == 0
    assert arm(body, "main")["granted"] == len(treated)


def test_a_refused_coupon_gives_the_budget_back(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign whose coupon template is then paused
    template_id = active_template(api)
    campaign_id = launch(api, coupon_campaign(template_id, budget_total=10))
    assert set_status(api, template_id, "paused").status_code == 200
    customer = unique("gb")
    # When a qualifying transaction grants the reward, and the coupons capability refuses the coupon
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    # Then the grant is cancelled and its cost is back in the budget
    eventually(lambda: arm(report(api, campaign_id), "main")["cancelled"] == 1, timeout_s=60)
    body = report(api, campaign_id)
    assert body["budget"]["total"]["spent"] == 0 and arm(body, "main")["granted"] == 0
    assert grants_of(cloud.clients.dynamodb, campaign_id, customer)[0]["status"] == "cancelled"


def test_a_manual_fire_grants_to_its_list_once_and_reports_progress(cloud: LocalCloud, api: Api) -> None:
    # Given an active manual campaign
    template_id = active_template(api)
    campaign_id = launch(api, coupon_campaign(template_id, trigger={"type": "manual"}))
    customers = [unique("fan") for _ in range(23)]
    # When an operator fires it for 23 customers, and the same request is sent again
    first = api.call("POST", f"{ROOT}/{campaign_id}/fire", body={"customerIds": customers}, idempotency_key="fire-1", **AUTHOR)
    again = api.call("POST", f"{ROOT}/{campaign_id}/fire", body={"customerIds": customers}, idempotency_key="fire-1", **AUTHOR)
    assert first.status_code == 202, first.text
    assert again.json()["runId"] == first.json()["runId"]
    run_path = f"{ROOT}/{campaign_id}/runs/{first.json()['runId']}"
    # Then the run completes with every customer processed, and each has one coupon
    done = eventually(lambda: (r := api.call("GET", run_path, **AUTHOR).json())["status"] == "completed" and r, timeout_s=60)
    assert done["progress"] == "23/23" and done["granted"] == 23
    eventually(lambda: all(len(wallet_items(api, c)) == 1 for c in customers), timeout_s=60)
    assert arm(report(api, campaign_id), "main")["granted"] == 23


def test_a_fire_for_chosen_customers_reaches_only_those_in_the_approved_audience(cloud: LocalCloud, api: Api) -> None:
    from tests.support.scoring import put_profile

    # Given an approved manual campaign for VIP-tagged customers
    campaign_id = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"tagsAny": ["vip"]}))
    vip, other = unique("vip"), unique("vip")
    put_profile(cloud, vip, tags=["vip"])
    put_profile(cloud, other, tags=[])
    # When an operator fires it for the VIP, a customer without the tag and one unknown to the engine
    fired = api.call("POST", f"{ROOT}/{campaign_id}/fire", body={"customerIds": [vip, other, unique("ghost")]}, **AUTHOR)
    assert fired.status_code == 202, fired.text
    run_path = f"{ROOT}/{campaign_id}/runs/{fired.json()['runId']}"
    # Then the override narrowed the approved audience, never widened it: only the VIP was granted
    done = eventually(lambda: (r := api.call("GET", run_path, **AUTHOR).json())["status"] == "completed" and r, timeout_s=60)
    assert done["progress"] == "1/1" and done["granted"] == 1
    assert len(grants_of(cloud.clients.dynamodb, campaign_id, vip)) == 1 and grants_of(cloud.clients.dynamodb, campaign_id, other) == []


def test_a_budget_per_branch_stops_one_branch_and_lets_the_others_go_on(cloud: LocalCloud, api: Api) -> None:
    from tests.support.scoring import put_profile

    # Given a campaign of 100 rewards, at most 2 per branch (3 for the flagship, none for a closed one), by the customer's branch
    budget = {"unit": "rewards", "total": 100, "byAttribute": [{"attribute": "branchId", "limit": 2, "overrides": {"br-flag": 3, "br-closed": 0}}]}
    campaign_id = launch(api, coupon_campaign(active_template(api), budget=budget))
    customers = {branch: [unique("br") for _ in range(4)] for branch in ("br-flag", "br-007", "br-closed")}
    for branch, members in customers.items():
        for customer in members:
            put_profile(cloud, customer, branchId=branch)
    # When four customers of each branch make a qualifying transaction
    for members in customers.values():
        for customer in members:
            assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    # Then the flagship's budget let 3 through, the other branch's 2 and the closed one's none, not even
    # the first; the campaign is still running
    granted = {branch: sum(1 for c in members if grants_of(cloud.clients.dynamodb, campaign_id, c)) for branch, members in customers.items()}
    assert granted == {"br-flag": 3, "br-007": 2, "br-closed": 0}
    body = report(api, campaign_id)
    assert body["status"] == "active" and body["budget"]["total"]["spent"] == 5
    assert {(b["value"], b["limit"], b["spent"], b["left"]) for b in body["budget"]["byAttribute"]} == {
        ("br-flag", 3, 3, 0), ("br-007", 2, 2, 0), ("br-closed", 0, 0, 0)}
