"""The events and commands of a grant undone match their schemas (events/schemas): what campaigns,
coupons and points put in their outboxes along the saga, run on in-memory ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from loyalty.campaigns import granting, outcomes
from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.outbox import PendingEvent
from loyalty.coupons import service as coupons
from loyalty.coupons.model import IssueCouponCommand, RedeemRequest, RevokeCouponCommand
from loyalty.points import service as points
from loyalty.points.model import AwardPointsCommand, ReversePointsCommand
from tests.unit.campaigns_fakes import InMemoryCampaignStore, InMemoryDirectory
from tests.unit.coupon_fakes import InMemoryCouponStore
from tests.unit.points_fakes import InMemoryPointsStore
from tests.unit.test_campaigns_service_ports import NOW, definition, launch
from tests.unit.test_coupons_service_ports import Facts, active

SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (Path(__file__).resolve().parents[2] / "events" / "schemas").rglob("*.json")}
ENVELOPE = {"eventId": "e-1", "occurredAt": "2027-02-10T04:00:00.000000Z"}


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryCampaignStore]:
    directory = InMemoryDirectory()
    monkeypatch.setattr("loyalty.customers.ports.directory", lambda: directory)
    config_cache.clear()
    yield InMemoryCampaignStore(directory)
    config_cache.clear()


def conform(events: list[PendingEvent], *names: str) -> list[dict[str, Any]]:
    found = [e for e in events if e.detail_type in names]
    assert {e.detail_type for e in found} == set(names), [e.detail_type for e in events]
    for event in found:
        jsonschema.validate({**ENVELOPE, **event.detail}, SCHEMAS[event.detail_type], format_checker=jsonschema.FormatChecker())
    return [e.detail for e in found]


def test_a_grant_undone_speaks_as_its_schemas_say(store: InMemoryCampaignStore) -> None:
    # Given a grant of two coupons and points in minor units, all delivered
    actions = [{"type": "issue_coupon", "templateId": "tpl-1", "costMinor": 3000}, {"type": "issue_coupon", "templateId": "tpl-2", "costMinor": 1000},
               {"type": "award_points", "points": 200, "costCentre": "cc-marketing", "costMinor": 2000}]
    meta = launch(store, definition(variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}],
                                    budget={"unit": "minor", "currency": "CNY", "total": 100_000}))
    granting.grant(store, meta, "c-1", "tx-1", NOW)
    issue = [IssueCouponCommand.model_validate(e.detail) for e in store.outbox if e.detail_type == "IssueCoupon"]
    award = AwardPointsCommand.model_validate(next(e.detail for e in store.outbox if e.detail_type == "AwardPoints"))
    wallet, ledger = InMemoryCouponStore(), InMemoryPointsStore()
    active(wallet, totalStock=5)
    first = coupons.issue_for_command(wallet, Facts(), issue[0], NOW)
    points.award_for_command(ledger, award, NOW)
    conform(ledger.outbox, "PointsAwarded")
    # When the second coupon is refused, the first was redeemed, and the points are reversed
    assert first is not None and coupons.issue_for_command(wallet, Facts(), issue[1], NOW) is None
    outcomes.on_answer(store, issue[0].commandId, "delivered", None, NOW)
    outcomes.on_answer(store, award.commandId, "delivered", None, NOW)
    (failed,) = conform(wallet.events, "CouponIssueFailed")
    outcomes.on_answer(store, failed["commandId"], "refused", f"CouponIssueFailed:{failed['reason']}", NOW)
    revoke, reverse = conform(store.outbox, "RevokeCoupon", "ReversePoints")
    coupons.redeem(wallet, Caller("c-1", frozenset()), first.coupons[0].coupon_id, RedeemRequest(orderId="o-1"), NOW)
    coupons.revoke_for_command(wallet, RevokeCouponCommand.model_validate(revoke), NOW)
    points.reverse_award(ledger, ReversePointsCommand.model_validate(reverse), NOW)
    # Then each capability's answer, and the grant's settlement, match their schemas
    (refused,) = conform(wallet.events, "CouponRevocationRefused")
    (reversed_,) = conform(ledger.outbox, "PointsAwardReversed")
    conform(ledger.outbox, "PointsReversed")
    outcomes.on_answer(store, refused["commandId"], "kept", refused["reason"], NOW)
    outcomes.on_answer(store, reversed_["commandId"], "compensated", None, NOW)
    (settled,) = conform(store.outbox, "RewardCompensated")
    assert (settled["status"], settled["keptCost"], settled["givenBack"]) == ("partly_delivered", 3000, 3000)


def test_a_grant_cancelled_and_a_coupon_forestalled_speak_as_their_schemas_say(store: InMemoryCampaignStore) -> None:
    # Given a grant of one coupon, refused
    meta = launch(store, definition())
    granting.grant(store, meta, "c-1", "tx-1", NOW)
    command = next(e.detail for e in store.outbox if e.detail_type == "IssueCoupon")["commandId"]
    outcomes.on_answer(store, command, "refused", "CouponIssueFailed:COUPON_OUT_OF_STOCK", NOW)
    # Then RewardCancelled matches its schema
    conform(store.outbox, "RewardCancelled")
    # And a revocation that forestalls a coupon answers as its schema says
    wallet = InMemoryCouponStore()
    coupons.revoke_for_command(wallet, RevokeCouponCommand(commandId="cg-1", customerId="c-1", grantId="gr-1"), NOW)
    conform(wallet.events, "CouponRevoked")
