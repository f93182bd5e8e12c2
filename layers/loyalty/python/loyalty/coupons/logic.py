"""Pure coupon logic: issuing, eligibility, stock sharding, discounts and the redemption state machine.

No AWS and no HTTP here. The store enforces the same rules atomically (conditions, versions); this
module decides what the next state is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation, Conflict
from loyalty.coupons.model import (
    PAYMENT_KINDS,
    DaysAfterClaim,
    Eligibility,
    OrderDetails,
    Template,
)

SOURCE = "loyalty.coupons"


# ---- ids: derived from the request, so a retry finds what the first try wrote -------------------


def _digest(*parts: str) -> str:
    # JSON, not a joined string: ("c|1", "k") and ("c", "1|k") must not collide.
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def claim_coupon_id(customer_id: str, idempotency_key: str) -> str:
    return "cpn_" + _digest("claim", customer_id, idempotency_key)[:24]


def command_coupon_id(command_id: str) -> str:
    return "cpn_" + _digest("command", command_id)[:24]


def part_coupon_id(bundle_coupon_id: str, index: int) -> str:
    return "cpn_" + _digest("part", bundle_coupon_id, str(index))[:24]


def request_fingerprint(*parts: str) -> str:
    return _digest("request", *parts)


# ---- stock sharding -------------------------------------------------------------------------------


def split(total: int, shards: int) -> list[int]:
    """`total` over `shards` as evenly as integers allow; the first shards take the remainder."""
    base, extra = divmod(total, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def shard_order(shards: int, seed: str) -> list[int]:
    """Every shard once, starting from one picked by `seed`: load spreads, and a claim tries all
    shards before it answers out of stock."""
    start = int(_digest("shard", seed)[:8], 16) % shards
    return [(start + i) % shards for i in range(shards)]


# ---- eligibility ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerFacts:
    """What eligibility needs to know about a customer; unknown facts are None/empty."""

    customer_id: str
    known: bool
    tags: frozenset[str] = frozenset()
    tier: str | None = None
    segments: frozenset[str] = frozenset()
    abuse_risk_score: int | None = None


def eligibility_failures(rules: Eligibility, facts: CustomerFacts | None, channel: str | None) -> list[str]:
    """The conditions the customer does not meet; empty means eligible."""
    failures = []
    if rules.channels and channel not in rules.channels:
        failures.append(f"channel must be one of {rules.channels}")
    if not rules.needs_customer_facts:
        return failures
    if facts is None or not facts.known:
        return [*failures, "the customer's profile is not known yet"]
    if rules.tiers and facts.tier not in rules.tiers:
        failures.append(f"tier must be one of {rules.tiers}")
    if rules.segments and not facts.segments & set(rules.segments):
        failures.append(f"the customer must be in one of the segments {rules.segments}")
    if rules.tags and not facts.tags & set(rules.tags):
        failures.append(f"the customer needs one of the tags {rules.tags}")
    if rules.maxAbuseRiskScore is not None and (facts.abuse_risk_score is None or facts.abuse_risk_score > rules.maxAbuseRiskScore):
        # Fail closed: an unknown score does not pass a risk limit.
        failures.append("the abuse-risk score is unknown or above the template's maximum")
    return failures


# ---- issuing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    coupon_id: str
    template_id: str
    customer_id: str
    kind: str
    benefit: dict[str, Any]
    status: str  # as stored; see effective_status
    valid_from: str
    valid_until: str
    issued_at: str
    source: str
    funding: dict[str, Any]
    fingerprint: str
    redemption: dict[str, Any] = field(default_factory=dict)  # where it may be used, from the template
    version: int = 1
    campaign_id: str | None = None
    command_id: str | None = None
    bundle_id: str | None = None
    amount_minor: int | None = None  # the drawn amount of a random_amount coupon
    code: str | None = None
    lock_order_id: str | None = None
    locked_until: str | None = None
    redeemed_order_id: str | None = None
    redeemed_at: str | None = None
    discount_minor: int | None = None
    revoked_at: str | None = None  # taken back unused: its campaign grant was undone


@dataclass(frozen=True)
class BundleClaim:
    """What a bundle's claim or command issued, under its own id (the parts have ids of their own)."""

    bundle_id: str
    parts: tuple[str, ...]  # the parts' coupon ids
    template_id: str
    customer_id: str
    fingerprint: str


@dataclass(frozen=True)
class IssueRefusal:
    """A refused `IssueCoupon` command: its coupon id is taken for good by the refusal's code."""

    coupon_id: str
    code: str


ClaimRecord = Coupon | BundleClaim | IssueRefusal  # whatever a claim's or a command's id holds


def draw_random_amount(coupon_id: str, minimum: int, maximum: int) -> int:
    """Uniform over [minimum, maximum], drawn from the coupon id: a replay draws the same amount."""
    span = maximum - minimum + 1
    return minimum + int(_digest("draw", coupon_id), 16) % span


def validity_window(template: Template, issued_at: datetime) -> tuple[str, str]:
    validity = template.definition.validity
    if isinstance(validity, DaysAfterClaim):
        return iso_utc(issued_at), iso_utc(issued_at + timedelta(days=validity.days))
    return iso_utc(validity.validFrom), iso_utc(validity.validUntil)


def redemption_rules(template: Template) -> dict[str, Any]:
    """The template's redemption rules as its coupons carry them: a return policy only when it is not
    the default (on a full refund), so coupons stay as they were written before there was one."""
    rules = template.definition.redemption
    return rules.model_dump(mode="json", exclude=set() if rules.returnPolicy != "on_full_refund" else {"returnPolicy"})


def new_coupon(
    template: Template,
    *,
    coupon_id: str,
    customer_id: str,
    now: datetime,
    source: str,
    fingerprint: str,
    campaign_id: str | None = None,
    command_id: str | None = None,
    bundle_id: str | None = None,
    code: str | None = None,
) -> Coupon:
    benefit = template.definition.benefit
    valid_from, valid_until = validity_window(template, now)
    amount = None
    if benefit.kind == "random_amount":
        amount = draw_random_amount(coupon_id, benefit.minMinor, benefit.maxMinor)
    # A red packet is cash: it is spent the moment core banking is asked to credit it.
    credited = benefit.kind == "red_packet"
    return Coupon(
        coupon_id=coupon_id,
        template_id=template.template_id,
        customer_id=customer_id,
        kind=benefit.kind,
        benefit=benefit.model_dump(mode="json"),
        status="redeemed" if credited else "available",
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=iso_utc(now),
        source=source,
        funding=template.definition.funding.model_dump(mode="json", exclude_none=True),
        fingerprint=fingerprint,
        redemption=redemption_rules(template),
        campaign_id=campaign_id,
        command_id=command_id,
        bundle_id=bundle_id,
        amount_minor=amount,
        code=code,
        redeemed_order_id="credit" if credited else None,
        redeemed_at=iso_utc(now) if credited else None,
    )


def issue_not_allowed(template: Template, now: datetime) -> str | None:
    """Why this template cannot issue now, or None."""
    if template.status != "active":
        return f"the template is {template.status}"
    validity = template.definition.validity
    if not isinstance(validity, DaysAfterClaim) and iso_utc(now) >= iso_utc(validity.validUntil):
        return "the template's validity window has ended"
    return None


# ---- discounts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    applicable: bool
    discount_minor: int
    reason: str | None = None


def quote(coupon: Coupon, order: OrderDetails) -> Quote:
    benefit = coupon.benefit
    if coupon.kind not in PAYMENT_KINDS:
        return Quote(False, 0, "NOT_A_PAYMENT_COUPON")
    if order.currency != benefit["currency"]:
        return Quote(False, 0, "CURRENCY_MISMATCH")
    rules = coupon.redemption
    if rules.get("merchants") and order.merchantId not in rules["merchants"]:
        return Quote(False, 0, "MERCHANT_NOT_ALLOWED")
    if rules.get("channels") and order.channel not in rules["channels"]:
        return Quote(False, 0, "CHANNEL_NOT_ALLOWED")
    amount = order.orderAmountMinor
    if coupon.kind == "fixed_amount":
        off = benefit["amountMinor"]
    elif coupon.kind == "random_amount":
        off = coupon.amount_minor or 0
    elif coupon.kind == "threshold":
        if amount < benefit["thresholdMinor"]:
            return Quote(False, 0, "THRESHOLD_NOT_MET")
        off = benefit["amountMinor"]
    else:  # percentage: rounded down, in the bank's favour, then capped
        off = min(amount * benefit["percentOff"] // 100, benefit["maxDiscountMinor"])
    return Quote(True, min(off, amount))


# ---- the redemption state machine -----------------------------------------------------------------


def effective_status(coupon: Coupon, now: datetime) -> str:
    """What the customer sees: a lapsed lock has released itself, a lapsed coupon has expired,
    whether or not the sweep has written it yet."""
    at = iso_utc(now)
    status = coupon.status
    if status == "locked" and coupon.locked_until is not None and coupon.locked_until <= at:
        status = "available"
    if status in ("available", "locked") and coupon.valid_until <= at:
        status = "expired"
    return status


def _usable(coupon: Coupon, now: datetime) -> None:
    if iso_utc(now) < coupon.valid_from:
        raise BusinessRuleViolation("the coupon is not valid yet", code="COUPON_NOT_YET_VALID")


def _check_order(coupon: Coupon, order: OrderDetails | None) -> int | None:
    if order is None:
        return None
    result = quote(coupon, order)
    if not result.applicable:
        raise BusinessRuleViolation("the coupon does not apply to this order", code="COUPON_NOT_APPLICABLE", details=[result.reason])
    return result.discount_minor


def _refuse_other_owner_of(coupon: Coupon, status: str, order_id: str) -> None:
    if status == "revoked":
        raise BusinessRuleViolation("the coupon was revoked", code="COUPON_REVOKED")
    if status == "expired":
        raise BusinessRuleViolation("the coupon has expired", code="COUPON_EXPIRED")
    if status == "redeemed" and coupon.redeemed_order_id != order_id:
        raise Conflict("the coupon was redeemed for another order", code="COUPON_ALREADY_REDEEMED")
    if status == "locked" and coupon.lock_order_id != order_id:
        raise Conflict("the coupon is locked for another order", code="COUPON_LOCKED")


def _not_a_red_packet(coupon: Coupon) -> None:
    if coupon.kind == "red_packet":
        raise BusinessRuleViolation("a red packet is credited, not redeemed", code="COUPON_NOT_REDEEMABLE")


def lock(coupon: Coupon, order_id: str, ttl_seconds: int, now: datetime, order: OrderDetails | None = None) -> Coupon:
    """Available → locked for `order_id` until now + ttl. Locking again for the same order is a no-op."""
    _not_a_red_packet(coupon)
    status = effective_status(coupon, now)
    _refuse_other_owner_of(coupon, status, order_id)
    if status == "redeemed":
        raise Conflict("the coupon is already redeemed for this order", code="COUPON_ALREADY_REDEEMED")
    if status == "locked":
        return coupon
    _usable(coupon, now)
    discount = _check_order(coupon, order)
    return replace(
        coupon,
        status="locked",
        discount_minor=discount,
        lock_order_id=order_id,
        locked_until=iso_utc(now + timedelta(seconds=ttl_seconds)),
        version=coupon.version + 1,
    )


def redeem(coupon: Coupon, order_id: str, now: datetime, order: OrderDetails | None = None) -> Coupon:
    """Available, or locked for this order → redeemed. Redeeming again for the same order is a no-op."""
    _not_a_red_packet(coupon)
    status = effective_status(coupon, now)
    _refuse_other_owner_of(coupon, status, order_id)
    if status == "redeemed":
        return coupon
    _usable(coupon, now)
    discount = _check_order(coupon, order)
    if discount is None and status == "locked":
        discount = coupon.discount_minor  # quoted when the order locked it
    return replace(
        coupon,
        status="redeemed",
        redeemed_order_id=order_id,
        redeemed_at=iso_utc(now),
        discount_minor=discount,
        lock_order_id=None,
        locked_until=None,
        version=coupon.version + 1,
    )


def release(coupon: Coupon, order_id: str, now: datetime) -> Coupon:
    """Locked for this order → available."""
    status = effective_status(coupon, now)
    if status == "redeemed":
        raise Conflict("a redeemed coupon cannot be released; return it instead", code="COUPON_ALREADY_REDEEMED")
    if status != "locked":
        raise Conflict("the coupon is not locked", code="COUPON_NOT_LOCKED")
    if coupon.lock_order_id != order_id:
        raise Conflict("the coupon is locked for another order", code="COUPON_LOCKED")
    return replace(coupon, status="available", lock_order_id=None, locked_until=None, discount_minor=None, version=coupon.version + 1)


def give_back(coupon: Coupon, order_id: str, now: datetime) -> Coupon:
    """Redeemed for this order → available again if still valid, else expired (a refund)."""
    if coupon.status != "redeemed" or coupon.kind == "red_packet":
        raise Conflict("only a redeemed coupon can be returned", code="COUPON_NOT_REDEEMED")
    if coupon.redeemed_order_id != order_id:
        raise Conflict("the coupon was redeemed for another order", code="COUPON_ALREADY_REDEEMED")
    still_valid = iso_utc(now) < coupon.valid_until
    return replace(
        coupon,
        status="available" if still_valid else "expired",
        redeemed_order_id=None,
        redeemed_at=None,
        discount_minor=None,
        version=coupon.version + 1,
    )


# Kinds whose value left at issue: a red packet is credited, a gift's fulfilment is requested.
SPENT_AT_ISSUE = frozenset({"red_packet", "gift"})


def revoke(coupon: Coupon, now: datetime) -> Coupon:
    """Unused (available, or expired) → revoked: the compensation of its campaign grant. Revoking
    again is a no-op. A coupon redeemed, locked for an order, or whose value left at issue cannot be
    taken back: refused with the reason."""
    if coupon.status == "revoked":
        return coupon
    if coupon.kind in SPENT_AT_ISSUE:
        raise BusinessRuleViolation(f"a {coupon.kind} is delivered when issued and cannot be revoked", code="COUPON_NOT_REVOCABLE")
    status = effective_status(coupon, now)
    if status == "redeemed":
        raise Conflict("the coupon was redeemed", code="COUPON_ALREADY_REDEEMED")
    if status == "locked":
        raise Conflict("the coupon is locked for an order", code="COUPON_LOCKED")
    return replace(coupon, status="revoked", revoked_at=iso_utc(now), lock_order_id=None, locked_until=None, discount_minor=None,
                   version=coupon.version + 1)


def expire(coupon: Coupon, now: datetime) -> Coupon | None:
    """The sweep's transition: a lapsed available (or lapsed-lock) coupon → expired; else None."""
    if coupon.status in ("available", "locked") and effective_status(coupon, now) == "expired":
        return replace(coupon, status="expired", lock_order_id=None, locked_until=None, discount_minor=None, version=coupon.version + 1)
    return None


# ---- events ---------------------------------------------------------------------------------------


def event_detail(coupon: Coupon, **extra: Any) -> dict[str, Any]:
    """What every coupon event carries, for evaluation and cost allocation; absent facts are omitted."""
    detail = {
        "couponId": coupon.coupon_id,
        "templateId": coupon.template_id,
        "customerId": coupon.customer_id,
        "kind": coupon.kind,
        "campaignId": coupon.campaign_id,
        "commandId": coupon.command_id,
        "bundleId": coupon.bundle_id,
        "source": coupon.source,
        "cost": {"amountMinor": coupon.funding.get("unitCostMinor"), "currency": coupon.funding.get("currency")},
        "funding": {k: v for k, v in coupon.funding.items() if k in ("costCentre", "merchantId")},
        **extra,
    }
    return {k: v for k, v in detail.items() if v is not None}
