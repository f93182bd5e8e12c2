"""The PIPL service orchestrates the capabilities' privacy ports: what it asks of each, in which order,
and how it assembles the answer (in-memory ports; the ports themselves are tested on the emulator)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty.core.errors import NotFound
from loyalty.privacy import service
from loyalty.privacy.service import Holders

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
EMPTY_POINTS: dict[str, list[Any]] = {"account": [], "ledger": [], "redemptions": [], "riskHolds": []}


class Part:
    """One capability's port: answers what it was given, and writes its calls down in the shared journal."""

    def __init__(self, name: str, journal: list[str], exported: Any, erased: Any):
        self.name, self.journal, self.exported, self.erased = name, journal, exported, erased

    def export(self, customer_id: str) -> Any:
        self.journal.append(f"{self.name}.export")
        return self.exported

    def erase(self, customer_id: str, now: datetime) -> Any:
        self.journal.append(f"{self.name}.erase")
        return self.erased


def holders(journal: list[str], *, profile: dict[str, Any] | None, points: dict[str, Any] | None = None,
            coupons: list[Any] | None = None) -> Holders:
    customers = Part("customers", journal, profile,
                     None if profile is None else {"profileFieldsRemoved": ["birthday", "branchId"], "erasedAt": "2026-12-07T03:00:00.000000Z"})
    return Holders(
        customers=customers,
        points=Part("points", journal, {"points": points or EMPTY_POINTS}, {}),
        coupons=Part("coupons", journal, {"coupons": coupons or []}, {"kept": ["coupons"]}),
        campaigns=Part("campaigns", journal, {"progress": [], "grants": []}, {"campaignItemsErased": 2}),
        scoring=Part("scoring", journal, {"scoring": [], "identities": []}, {"scoringItemsDeleted": 3}),
        mot=Part("mot", journal, {"tasks": [], "heldOutMoments": [], "relationshipManager": []}, 4),
        operator_actions=lambda customer_id: [{"route": "PUT /v1/admin/customers/{customerId}/tags", "who": "op-alice"}],
    )


def test_an_export_assembles_each_capability_s_section() -> None:
    # Given a customer with a profile and a coupon, and nothing else
    journal: list[str] = []
    coupon = {"couponId": "cpn-1", "status": "issued"}
    found = holders(journal, profile={"customerId": "c-1", "branchId": "b-1"}, coupons=[coupon])
    # When they are exported
    exported = service.export(found, "c-1", NOW)
    # Then every section is the owning capability's answer, and the audit's entries are the operator actions
    assert exported["profile"] == {"customerId": "c-1", "branchId": "b-1"}
    assert exported["coupons"] == [coupon] and exported["points"] == EMPTY_POINTS
    assert exported["campaigns"] == {"progress": [], "grants": []}
    assert exported["scoring"] == [] and exported["identities"] == []
    assert exported["operatorActions"][0]["who"] == "op-alice" and exported["exportedAt"] == "2026-12-07T03:00:00.000000Z"
    # And nothing was erased
    assert not [call for call in journal if call.endswith(".erase")]


def test_a_customer_nobody_holds_anything_on_is_not_found() -> None:
    # Given no capability holds anything on the customer
    # When they are exported
    # Then it is a 404 CUSTOMER_NOT_FOUND
    with pytest.raises(NotFound) as refused:
        service.export(holders([], profile=None), "c-x", NOW)
    assert refused.value.code == "CUSTOMER_NOT_FOUND"


def test_a_points_account_alone_is_enough_to_export() -> None:
    # Given a customer with a points ledger but no profile (core banking never sent one)
    points = {**EMPTY_POINTS, "ledger": [{"kind": "earn", "points": 10}]}
    # When they are exported
    exported = service.export(holders([], profile=None, points=points), "c-2", NOW)
    # Then the export holds the ledger and a null profile
    assert exported["profile"] is None and exported["points"]["ledger"] == [{"kind": "earn", "points": 10}]


def test_an_erasure_tombstones_the_profile_before_any_capability_deletes() -> None:
    # Given a customer with a profile
    journal: list[str] = []
    # When they are erased
    receipt = service.erase(holders(journal, profile={"customerId": "c-1"}), "c-1", NOW)
    # Then the profile went first (from then on nothing re-creates what the others delete), then every capability
    assert journal == ["customers.erase", "scoring.erase", "campaigns.erase", "mot.erase", "points.erase", "coupons.erase"]
    # And the receipt counts what each removed, and names what stays for the books
    assert receipt == {"customerId": "c-1", "erasedAt": "2026-12-07T03:00:00.000000Z", "profileFieldsRemoved": ["birthday", "branchId"],
                       "scoringItemsDeleted": 3, "campaignItemsErased": 2, "motItemsErased": 4, "kept": service.KEPT}


def test_erasing_a_customer_without_a_profile_touches_nothing() -> None:
    # Given a customer with no profile
    journal: list[str] = []
    # When they are erased
    with pytest.raises(NotFound):
        service.erase(holders(journal, profile=None), "c-x", NOW)
    # Then only the profile was asked: no capability deleted anything
    assert journal == ["customers.erase"]
