"""Checkout sessions under real concurrency on the emulator (docs/checkout.md, "Races"): sessions
racing for one coupon, fifty confirmations of one session, and confirmations racing the lapse.
Threads call the API (or the domain, where the race needs a clock of its own) against the local
cloud; every outcome is checked against the wallet, the balance and the bus afterwards."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.checkout import session_service
from loyalty.checkout.session_store import default_store as sessions
from loyalty.core.errors import DomainError
from tests.support import coupons as cpn
from tests.support import points as pts
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.checkout import SESSIONS, act, coupon_status, open_session

POINTS = 100_000


def shopper_with(cloud: LocalCloud, api: Api, templates: dict[str, str], *names: str) -> tuple[str, dict[str, str]]:
    customer = pts.known_customer(cloud)
    coupons = {name: cpn.claimed(api, customer, templates[name])["couponId"] for name in names}
    assert pts.adjust(api, customer, POINTS, cost_centre="cc-retail").status_code == 201
    return customer, coupons


def test_sessions_racing_for_one_coupon_lock_it_once_and_hold_points_once(cloud: LocalCloud, api: Api, basket_templates: dict[str, str]) -> None:
    # Given a customer's coupon, and eight sessions opened at once over it, each with 1,000 points
    customer, coupons = shopper_with(cloud, api, basket_templates, "threshold")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: open_session(api, customer, coupons=[coupons["threshold"]], points=1_000), range(8)))
    # Then one locks it and holds its points; every other is told the coupon is taken, holding nothing
    statuses = Counter((a.status_code, a.json().get("error", {}).get("code")) for a in answers)
    assert statuses == {(201, None): 1, (409, "COUPON_LOCKED"): 7}, statuses
    assert coupon_status(api, customer, coupons["threshold"]) == "locked"
    balance = pts.balance(api, customer)
    assert (balance["available"], balance["held"]) == (POINTS - 1_000, 1_000)


def test_sessions_over_overlapping_baskets_each_lock_all_or_nothing(cloud: LocalCloud, api: Api, basket_templates: dict[str, str]) -> None:
    # Given, five times over, two baskets sharing a coupon: {card coupon 1, percent} and {percent, card coupon 2}
    customer = pts.known_customer(cloud)
    for _ in range(5):
        first, shared, second = (cpn.claimed(api, customer, basket_templates[name])["couponId"] for name in ("threshold", "percent", "threshold"))
        baskets = [[first, shared], [shared, second]]
        # When both sessions are opened at once
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda coupons: open_session(api, customer, coupons=coupons), baskets))
        # Then one locked its whole basket and the other nothing: the shared coupon is locked once
        won = [basket for basket, answer in zip(baskets, answers, strict=True) if answer.status_code == 201]
        lost = [basket for basket, answer in zip(baskets, answers, strict=True) if answer.status_code != 201]
        assert len(won) == 1 and [a.json()["error"]["code"] for a in answers if a.status_code != 201] == ["COUPON_LOCKED"], \
            [a.text for a in answers]
        assert {c: coupon_status(api, customer, c) for c in won[0]} == dict.fromkeys(won[0], "locked")
        assert coupon_status(api, customer, next(c for c in lost[0] if c != shared)) == "available"


def test_fifty_confirmations_of_one_payment_confirm_once(cloud: LocalCloud, api: Api, basket_templates: dict[str, str], checkout_tap: BusTap) -> None:
    # Given a session over two coupons and points
    customer, coupons = shopper_with(cloud, api, basket_templates, "threshold", "percent")
    sid = open_session(api, customer, coupons=[coupons["threshold"], coupons["percent"]], points="max").json()["sessionId"]
    # When the payment's confirmation arrives fifty times at once (each retry with its own key)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: act(api, customer, sid, "confirm", {"paymentId": "pay-once"}), range(50)))
    # Then every one answers the same confirmed session
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200][:3]
    assert len({(a.json()["state"], a.json()["confirmedAt"]) for a in answers}) == 1
    # And it was consumed once: the coupons redeemed, the points spent once, one CheckoutConfirmed
    assert {coupon_status(api, customer, c) for c in coupons.values()} == {"redeemed"}
    balance = pts.balance(api, customer)
    assert (balance["available"], balance["held"]) == (POINTS - 10_572, 0)
    confirmed = lambda: [e for e in checkout_tap.drain() if e["detail-type"] == "CheckoutConfirmed" and e["detail"]["sessionId"] == sid]  # noqa: E731
    eventually(lambda: len(confirmed()) >= 1, timeout_s=20)
    time.sleep(2)  # the stream poller's next rounds: a second event would have been written in a second transaction
    assert len(confirmed()) == 1


def test_fifty_payments_for_one_session_confirm_it_once(cloud: LocalCloud, api: Api, basket_templates: dict[str, str]) -> None:
    customer, coupons = shopper_with(cloud, api, basket_templates, "threshold")
    sid = open_session(api, customer, coupons=[coupons["threshold"]], points=5_000).json()["sessionId"]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda n: act(api, customer, sid, "confirm", {"paymentId": f"pay-{n}"}), range(50)))
    statuses = Counter((a.status_code, a.json().get("error", {}).get("code")) for a in answers)
    assert statuses == {(200, None): 1, (409, "SESSION_PAID_OTHERWISE"): 49}, statuses
    winner = next(a.json()["paymentId"] for a in answers if a.status_code == 200)
    assert api.call("GET", f"{SESSIONS}/{sid}", as_=customer).json()["paymentId"] == winner
    assert pts.balance(api, customer)["available"] == POINTS - 5_000


def test_a_confirmation_racing_the_lapse_either_consumes_or_releases_never_both(cloud: LocalCloud, api: Api, basket_templates: dict[str, str]) -> None:
    # Given ten sessions of one minute, each over a coupon and 1,000 points of one customer
    customer = pts.known_customer(cloud)
    assert pts.adjust(api, customer, POINTS, cost_centre="cc-retail").status_code == 201
    opened = []
    for _ in range(10):
        coupon = cpn.claimed(api, customer, basket_templates["threshold"])["couponId"]
        session = open_session(api, customer, coupons=[coupon], points=1_000, ttlMinutes=1).json()
        opened.append((session["sessionId"], coupon, datetime.fromisoformat(session["lapsesAt"].replace("Z", "+00:00"))))

    # When each is confirmed a millisecond before it lapses while the sweep runs a millisecond after
    def confirm(sid: str, lapses: datetime) -> str:
        try:
            session_service.confirm(sessions(), customer, sid, f"pay-{sid}", lapses - timedelta(milliseconds=1))
            return "confirmed"
        except DomainError as refused:
            return refused.code

    with ThreadPoolExecutor(4) as pool:
        confirms = [pool.submit(confirm, sid, lapses) for sid, _, lapses in opened]
        sweeps = [pool.submit(session_service.sweep, sessions(), lapses + timedelta(milliseconds=1)) for _, _, lapses in opened]
        outcomes = [c.result() for c in confirms]
        for s in sweeps:
            s.result()
    session_service.sweep(sessions(), max(lapses for *_, lapses in opened) + timedelta(seconds=1))  # whatever the race left

    # Then each session ended one way: confirmed with its coupon redeemed, or lapsed with it back in the wallet
    assert set(outcomes) <= {"confirmed", "SESSION_EXPIRED"}, outcomes
    states: dict[str, Any] = {}
    for (sid, coupon, _), outcome in zip(opened, outcomes, strict=True):
        state = api.call("GET", f"{SESSIONS}/{sid}", as_=customer).json()["state"]
        states[sid] = state
        assert (state, coupon_status(api, customer, coupon)) == (("confirmed", "redeemed") if outcome == "confirmed" else ("lapsed", "available"))
    # And the points agree: spent for each confirmed, back for each lapsed, nothing left held
    confirmed = sum(1 for s in states.values() if s == "confirmed")
    balance = pts.balance(api, customer)
    assert (balance["available"], balance["held"]) == (POINTS - 1_000 * confirmed, 0)
