"""Points redemption (积分兑换): points for a coupon, or points and cash for a mall item.

The points leave the balance at once, in the same transaction that records the redemption, and are
shown as `held` until the redemption settles:
- a coupon: the `IssueCoupon` command goes out through the outbox (it exists if and only if the
  points were taken); `CouponIssued` completes it, `CouponIssueFailed` puts the points back;
- a mall item: the payment backend settles it (`paid` completes, `failed` puts the points back);
  a hold not settled in `holdMinutes` is released by the holds sweep.
Points put back return to the lots they came from, so their expiry dates are kept.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt, model_validator

from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.core.money import Currency, MinorUnits
from loyalty.core.outbox import PendingEvent
from loyalty.core.strict import Flag
from loyalty.points import ledger
from loyalty.points.ledger import Account, Change
from loyalty.points.model import Key, Name, PositiveInt, RuleId, Strict
from loyalty.points.service import Decision, entry_event, with_retries
from loyalty.points.storage import PointsStore
from loyalty.points.writes import OPEN_REDEMPTION, NewRedemption, SettleRedemption

SOURCE = "loyalty.points"
OPEN_STATES = OPEN_REDEMPTION


class CatalogueItem(Strict):
    """Something points buy: a coupon template, or a mall item paid in points and cash."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"itemId": "mall-umbrella", "name": "Folding umbrella", "kind": "mall_item", "points": 2000, "cashMinor": 990,
         "currency": "CNY", "holdMinutes": 30, "active": True},
        {"itemId": "coupon-coffee-5", "name": "5 yuan off coffee", "kind": "coupon", "points": 500, "templateId": "tpl-coffee-5"},
    ]})

    itemId: RuleId
    name: Name
    kind: Literal["coupon", "mall_item"]
    points: Annotated[PositiveInt, Field(le=100_000_000, description="What the item costs in points.")]
    templateId: RuleId | None = Field(default=None, description="A coupon item's coupon template (coupons only).")
    cashMinor: MinorUnits | None = Field(default=None, description="A mall item's cash part, paid through the mall (mall items only).")
    currency: Currency | None = Field(default=None, description="The cash part's currency (mall items only).")
    holdMinutes: Annotated[StrictInt, Field(ge=1, le=1440, description="How long a mall item's points are held for the payment.")] = 30
    active: Flag = Field(default=True, description="Customers see and redeem active items only.")

    @model_validator(mode="after")
    def _kind_fields(self) -> CatalogueItem:
        if self.kind == "coupon" and (self.templateId is None or self.cashMinor is not None):
            raise ValueError("a coupon item names its templateId and has no cash part")
        if self.kind == "mall_item" and (self.cashMinor is None or self.currency is None or self.templateId is not None):
            raise ValueError("a mall item has a cashMinor and currency, and no templateId")
        return self


class RedemptionRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"itemId": "mall-umbrella"}]})

    itemId: RuleId
    customerId: Key | None = Field(default=None, description="Operators only: the customer redeemed for. Customers redeem for themselves.")


class SettlementRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"outcome": "paid", "paymentId": "pay-20261204-7781"}]})

    outcome: Literal["paid", "failed"]
    paymentId: Key = Field(description="The payment backend's id; a second report of the same payment is answered, not applied again.")


def redemption_id(customer_id: str, idempotency_key: str) -> str:
    """The same customer and key always name the same redemption: a retried call finds it."""
    return "rdm-" + hashlib.sha256(f"{customer_id}\x1f{idempotency_key}".encode()).hexdigest()[:32]


def _fingerprint(customer_id: str, item_id: str) -> str:
    return hashlib.sha256(f"{customer_id}\x1f{item_id}".encode()).hexdigest()[:32]


def view(record: dict[str, Any]) -> dict[str, Any]:
    fields = ("redemptionId", "customerId", "itemId", "kind", "points", "cashMinor", "currency", "templateId",
              "status", "createdAt", "settledAt", "holdExpiresAt", "reason", "paymentId")
    return {k: record[k] for k in fields if record.get(k) is not None}


def find(store: PointsStore, rid: str) -> dict[str, Any]:
    """The stored redemption; 404 REDEMPTION_NOT_FOUND if there is none."""
    record = store.redemption(rid)
    if record is None:
        raise NotFound(f"redemption {rid} does not exist", code="REDEMPTION_NOT_FOUND")
    return record


def redeem(store: PointsStore, customer_id: str, request: RedemptionRequest, idempotency_key: str,
           now: datetime) -> tuple[dict[str, Any], bool]:
    """Takes the points and records the redemption; (its view, whether it was created now)."""
    rid = redemption_id(customer_id, idempotency_key)
    fingerprint = _fingerprint(customer_id, request.itemId)
    existing = store.redemption(rid)
    if existing is not None:
        return _replayed(existing, fingerprint), False
    item = catalogue_item(store, request.itemId)
    if not item.active:
        raise BusinessRuleViolation(f"catalogue item {item.itemId} is not available", code="ITEM_NOT_AVAILABLE")
    record: dict[str, Any] = {
        "redemptionId": rid, "customerId": customer_id, "itemId": item.itemId, "kind": item.kind,
        "points": item.points, "cashMinor": item.cashMinor, "currency": item.currency, "templateId": item.templateId,
        "status": "issuing" if item.kind == "coupon" else "held", "createdAt": iso_utc(now), "fingerprint": fingerprint,
    }
    if item.kind == "mall_item":
        # Only mall holds time out: a coupon command is always answered (issued, or refused and
        # announced), so releasing it on a timer could give both the coupon and the points.
        record["holdExpiresAt"] = iso_utc(now + timedelta(minutes=item.holdMinutes))

    def decide(account: Account, caps: dict[str, int]) -> Decision:
        change = Change(today=business_date(now, get_settings().bank_zone).isoformat())
        ledger.redeem(account, change, entry_id=f"redeem:{rid}", points=item.points, at=iso_utc(now),
                      source={"redemptionId": rid, "itemId": item.itemId, "kind": item.kind})
        change.held += item.points
        taken = change.entries[-1].lots
        change.records.append(NewRedemption({**record, "lots": [list(t) for t in taken]}))
        events = [entry_event("PointsRedeemed", customer_id, change.entries[-1], redemptionId=rid, itemId=item.itemId)]
        if item.templateId is not None:
            events.append(PendingEvent(SOURCE, "IssueCoupon", {"commandId": rid, "customerId": customer_id, "templateId": item.templateId,
                                                                "source": "points_mall", "reason": f"points redemption of {item.itemId}"}))
        return change, [], events

    if with_retries(store, customer_id, decide, now) is None:
        return _replayed(store.redemption(rid) or {}, fingerprint), False
    return view(record), True


def _replayed(record: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    if record.get("fingerprint") != fingerprint:
        raise BusinessRuleViolation("this Idempotency-Key was used with a different request", code="IDEMPOTENCY_KEY_REUSED")
    return view(record)


def settle(store: PointsStore, rid: str, *, completed: bool, now: datetime, reason: str,
           payment_id: str | None = None) -> dict[str, Any] | None:
    """Completes an open redemption, or puts its points back. A settled one is left as it is: the
    status condition makes a second settlement (a redelivered event, a retried call) a no-op."""
    record = store.redemption(rid)
    if record is None:
        return None
    if record["status"] not in OPEN_STATES:
        return view(record)
    customer_id = record["customerId"]
    status = "completed" if completed else "released"
    settled = {"status": status, "settledAt": iso_utc(now), "reason": reason, "paymentId": payment_id}

    def decide(account: Account, caps: dict[str, int]) -> Decision:
        change = Change(today=business_date(now, get_settings().bank_zone).isoformat())
        change.held -= int(record["points"])
        change.records.append(SettleRedemption(rid, {k: v for k, v in settled.items() if v is not None}))
        detail = {"redemptionId": rid, "itemId": record["itemId"], "points": int(record["points"]), "reason": reason}
        if completed:
            return change, [], [PendingEvent(SOURCE, "PointsRedemptionCompleted", {"customerId": customer_id, **detail})]
        taken = tuple((lot_id, int(delta)) for lot_id, delta in record.get("lots", []))
        ledger.restore(account, change, entry_id=f"release:{rid}", taken=taken, at=iso_utc(now),
                       source={"redemptionId": rid, "reverses": f"redeem:{rid}", "reason": reason})
        return change, [], [entry_event("PointsReleased", customer_id, change.entries[-1], redemptionId=rid)]

    with_retries(store, customer_id, decide, now)
    return view(store.redemption(rid) or record)


def settle_payment(store: PointsStore, rid: str, request: SettlementRequest, now: datetime) -> dict[str, Any]:
    record = find(store, rid)
    if record["kind"] != "mall_item":
        raise BusinessRuleViolation("only mall redemptions settle by payment; coupons settle by their issue", code="NOT_A_MALL_REDEMPTION")
    if record["status"] not in OPEN_STATES and record.get("paymentId") != request.paymentId:
        raise Conflict(f"redemption {rid} is already {record['status']}", code="REDEMPTION_SETTLED")
    outcome = "paid" if request.outcome == "paid" else "payment_failed"
    return settle(store, rid, completed=request.outcome == "paid", now=now, reason=outcome, payment_id=request.paymentId) or view(record)


def release_lapsed_holds(store: PointsStore, now: datetime) -> int:
    """Mall holds nobody settled in time: the points go back."""
    released = 0
    for rid in store.lapsed_holds(iso_utc(now)):
        if settle(store, rid, completed=False, now=now, reason="hold_expired"):
            released += 1
    return released


# ---- the catalogue --------------------------------------------------------------------------------


def catalogue_item(store: PointsStore, item_id: str) -> CatalogueItem:
    record = store.catalogue_record(item_id)
    if record is None:
        raise NotFound(f"catalogue item {item_id} does not exist", code="ITEM_NOT_FOUND")
    return CatalogueItem.model_validate_json(record["item"])


def save_catalogue_item(store: PointsStore, item: CatalogueItem, operator: str, now: datetime) -> dict[str, Any]:
    store.save_catalogue_record(item.itemId, item.model_dump_json(), operator, iso_utc(now))
    return item.model_dump(mode="json", exclude_none=True)


def catalogue(store: PointsStore, *, active_only: bool) -> list[dict[str, Any]]:
    items = [CatalogueItem.model_validate_json(r["item"]) for r in store.catalogue_records()]
    return [i.model_dump(mode="json", exclude_none=True) for i in items if i.active or not active_only]
