"""Coupon use cases: plain functions over the store, the clock and the customer's facts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation, Conflict, DomainError, InvalidInput, NotFound
from loyalty.core.observability import count
from loyalty.core.outbox import PendingEvent
from loyalty.coupons import logic
from loyalty.coupons.claims import AlreadyIssued, ClaimPlan, StockDraw
from loyalty.coupons.logic import SOURCE, BundleClaim, Coupon, CustomerFacts, IssueRefusal
from loyalty.coupons.model import (
    Bundle,
    ClaimRequest,
    CodeUpload,
    IssueCouponCommand,
    LockRequest,
    OrderDetails,
    RedeemRequest,
    RevokeCouponCommand,
    Template,
    TemplateCreate,
    TemplateStatus,
)

if TYPE_CHECKING:
    from loyalty.core.transactions import Transaction
    from loyalty.coupons.store import CouponStore, DynamoCouponStore

STATUS_TRANSITIONS: dict[str, set[str]] = {
    "draft": {"active", "ended"},
    "active": {"paused", "ended"},
    "paused": {"active", "ended"},
    "ended": set(),
}
DEFAULT_SWEEP_LOOKBACK_DAYS = 7


class CustomerFactsSource(Protocol):
    def facts(self, customer_id: str) -> CustomerFacts: ...


class ProfileFacts:
    """Facts from the customer profile: tags, the member level (from points' TierChanged), the
    segments and the abuse-risk score (written by scoring). A customer not scored yet has no abuse
    score, and a template with a risk limit refuses them (fail closed)."""

    def facts(self, customer_id: str) -> CustomerFacts:
        import math

        from loyalty.customers.ports import directory

        profile = directory().profile(customer_id)
        if profile is None or profile.erased:
            return CustomerFacts(customer_id, known=False)
        abuse = profile.scores.get("abuseRisk")
        return CustomerFacts(
            customer_id,
            known=True,
            tags=frozenset(profile.tags) | frozenset(profile.operatorTags),
            tier=profile.tier,
            segments=frozenset(profile.segments),
            # Rounded up: 60.5 must not pass a limit of 60.
            abuse_risk_score=None if abuse is None else math.ceil(abuse),
        )


@cache
def default_store() -> DynamoCouponStore:
    from loyalty.coupons.store import DynamoCouponStore

    return DynamoCouponStore()


# ---- the template, read from memory for a few seconds ---------------------------------------------


def template_cache_key(template_id: str) -> tuple[str, str]:
    return ("coupons.template", template_id)


def cached_template(store: CouponStore, template_id: str) -> Template:
    """The template as this process read it at most `template_cache_seconds` ago: claims and
    commands read it for its definition only. A pause still stops claims at once, because every
    stock shard carries the template's active flag."""
    return config_cache.cached(template_cache_key(template_id), get_settings().template_cache_seconds,
                               lambda: store.get_template(template_id))


def fresh_template(store: CouponStore, template_id: str) -> Template:
    """A consistent read, which this process's claims then use too."""
    config_cache.forget(template_cache_key(template_id))
    return config_cache.cached(template_cache_key(template_id), get_settings().template_cache_seconds,
                               lambda: store.get_template(template_id, fresh=True))


# ---- templates ------------------------------------------------------------------------------------


def create_template(store: CouponStore, definition: TemplateCreate, operator: str, now: datetime) -> Template:
    benefit = definition.benefit
    if benefit.kind == "voucher_code" and definition.totalStock != 0:
        raise InvalidInput("a voucher_code template takes its stock from uploaded codes: totalStock must be 0", code="VALIDATION_ERROR")
    if isinstance(benefit, Bundle):
        for part_id in benefit.parts:
            try:
                part = fresh_template(store, part_id)
            except NotFound:
                raise InvalidInput(f"part {part_id} is not a known template", code="VALIDATION_ERROR") from None
            if part.kind == "bundle":
                raise InvalidInput(f"part {part_id} is itself a bundle", code="VALIDATION_ERROR")
    at = iso_utc(now)
    template = Template(
        definition=definition, status="draft", version=1, stockAdded=definition.totalStock, createdAt=at, createdBy=operator, updatedAt=at
    )
    store.create_template(template)
    return template


def change_status(store: CouponStore, template_id: str, status: TemplateStatus, now: datetime) -> Template:
    before = fresh_template(store, template_id)
    if before.status == status:
        return before
    if status not in STATUS_TRANSITIONS[before.status]:
        raise BusinessRuleViolation(f"a {before.status} template cannot become {status}", code="INVALID_STATUS_TRANSITION")
    after = before.model_copy(update={"status": status, "version": before.version + 1, "updatedAt": iso_utc(now)})
    event = PendingEvent(SOURCE, "CouponTemplateStatusChanged", {"templateId": template_id, "from": before.status, "to": status})
    store.change_status(before, after, [event])
    config_cache.forget(template_cache_key(template_id))
    return after


def add_stock(store: CouponStore, template_id: str, amount: int, now: datetime) -> Template:
    before = fresh_template(store, template_id)
    if before.kind == "voucher_code":
        raise BusinessRuleViolation("a voucher_code template gets stock by uploading codes", code="USE_CODE_UPLOAD")
    if before.status == "ended":
        raise BusinessRuleViolation("an ended template takes no more stock", code="TEMPLATE_ENDED")
    after = before.model_copy(update={"stockAdded": before.stockAdded + amount, "version": before.version + 1, "updatedAt": iso_utc(now)})
    event = PendingEvent(SOURCE, "CouponStockAdded", {"templateId": template_id, "added": amount, "stockAdded": after.stockAdded})
    store.add_stock(before, after, amount, [event])
    config_cache.forget(template_cache_key(template_id))
    return after


def upload_codes(store: CouponStore, template_id: str, upload: CodeUpload, upload_id: str) -> dict[str, Any]:
    template = fresh_template(store, template_id)
    if template.kind != "voucher_code":
        raise BusinessRuleViolation("only voucher_code templates take codes", code="NOT_A_VOUCHER_TEMPLATE")
    if template.status == "ended":
        raise BusinessRuleViolation("an ended template takes no more codes", code="TEMPLATE_ENDED")
    seen: set[str] = set()
    repeated = sorted({c for c in upload.codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if repeated:
        raise InvalidInput("the upload repeats codes", code="DUPLICATE_CODES", details=repeated)
    existing = store.existing_codes(template_id, upload.codes, upload_id)
    if existing:
        raise InvalidInput("some codes were uploaded before", code="DUPLICATE_CODES", details=existing)
    store.add_codes(template, upload.codes, upload_id)
    config_cache.forget(template_cache_key(template_id))
    return {"templateId": template_id, "added": len(upload.codes)}


def template_view(store: CouponStore, template_id: str) -> dict[str, Any]:
    template = fresh_template(store, template_id)
    return {**template.view(), "stockLeft": store.stock_left(template)}


# ---- issuing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    coupons: list[Coupon]
    bundle_id: str | None
    replayed: bool = False


def _issue_events(coupon: Coupon) -> list[PendingEvent]:
    events = [PendingEvent(SOURCE, "CouponIssued", logic.event_detail(coupon, validUntil=coupon.valid_until))]
    if coupon.kind == "red_packet":
        money = {"amountMinor": coupon.benefit["amountMinor"], "currency": coupon.benefit["currency"]}
        events.append(PendingEvent(SOURCE, "RedPacketCreditRequested", logic.event_detail(coupon, credit=money)))
    elif coupon.kind == "gift":
        gift = {"sku": coupon.benefit["sku"], "fulfilment": coupon.benefit["fulfilment"]}
        events.append(PendingEvent(SOURCE, "GiftFulfilmentRequested", logic.event_detail(coupon, gift=gift)))
    return events


def _plan(
    store: CouponStore,
    template: Template,
    *,
    coupon_id: str,
    customer_id: str,
    now: datetime,
    source: str,
    fingerprint: str,
    campaign_id: str | None,
    command_id: str | None,
) -> tuple[ClaimPlan, str | None]:
    zone = get_settings().bank_zone
    common = {"customer_id": customer_id, "now": now, "source": source, "fingerprint": fingerprint,
              "campaign_id": campaign_id, "command_id": command_id}
    draws = [StockDraw(template, require_active=True)]
    bundle_id = None
    if isinstance(template.definition.benefit, Bundle):
        bundle_id = coupon_id
        parts = [cached_template(store, part_id) for part_id in template.definition.benefit.parts]
        draws += [StockDraw(part, require_active=False) for part in parts]
        coupons = [
            logic.new_coupon(part, coupon_id=logic.part_coupon_id(bundle_id, i), bundle_id=bundle_id, **common)  # type: ignore[arg-type]
            for i, part in enumerate(parts)
        ]
    else:
        coupons = [logic.new_coupon(template, coupon_id=coupon_id, **common)]  # type: ignore[arg-type]
    day = business_date(now, zone)
    record = None
    if bundle_id is not None:
        record = BundleClaim(bundle_id, tuple(c.coupon_id for c in coupons), template.template_id, customer_id, fingerprint)
    plan = ClaimPlan(
        customer_id=customer_id,
        business_date=day.isoformat(),
        limits_of=template,
        draws=draws,
        coupons=coupons,
        events=[e for c in coupons for e in _issue_events(c)],
        seed=coupon_id,
        expires_at_epoch=int((now + timedelta(days=3)).timestamp()),
        claim_record=record,
    )
    return plan, bundle_id


def _replayed(store: CouponStore, coupon_id: str, fingerprint: str) -> Issued:
    """What the first try of this claim or command issued, if it asked for the same thing."""
    record = store.claim_record(coupon_id)
    if record is None or isinstance(record, IssueRefusal):
        raise NotFound(f"coupon {coupon_id} does not exist", code="COUPON_NOT_FOUND")
    if record.fingerprint != fingerprint:
        raise BusinessRuleViolation("this Idempotency-Key was used with a different request", code="IDEMPOTENCY_KEY_REUSED")
    if isinstance(record, BundleClaim):
        return Issued([store.get_coupon(p) for p in record.parts], coupon_id, replayed=True)
    return Issued([store.get_coupon(coupon_id)], None, replayed=True)


def _refusal(template: Template, facts: CustomerFactsSource, customer_id: str, channel: str | None, now: datetime) -> DomainError | None:
    reason = logic.issue_not_allowed(template, now)
    if reason:
        return BusinessRuleViolation(reason, code="TEMPLATE_NOT_ACTIVE")
    rules = template.definition.eligibility
    customer = facts.facts(customer_id) if rules.needs_customer_facts else None
    failures = logic.eligibility_failures(rules, customer, channel)
    if failures:
        return BusinessRuleViolation("the customer is not eligible for this coupon", code="NOT_ELIGIBLE", details=failures)
    return None


def claim(
    store: CouponStore, facts: CustomerFactsSource, customer_id: str, request: ClaimRequest, idempotency_key: str, now: datetime
) -> Issued:
    """A customer's claim: one transaction; the coupon id derives from the Idempotency-Key."""
    coupon_id = logic.claim_coupon_id(customer_id, idempotency_key)
    fingerprint = logic.request_fingerprint("claim", request.model_dump_json())
    template = cached_template(store, request.templateId)
    refusal = _refusal(template, facts, customer_id, request.channel, now)
    if refusal is not None:
        try:  # refused now, but an earlier try of this very claim may have been served: look once
            return _replayed(store, coupon_id, fingerprint)
        except NotFound:
            raise refusal from None
    plan, bundle_id = _plan(store, template, coupon_id=coupon_id, customer_id=customer_id, now=now, source="claim",
                            fingerprint=fingerprint, campaign_id=None, command_id=None)
    try:
        issued = Issued(store.issue(plan), bundle_id)
    except AlreadyIssued:
        return _replayed(store, coupon_id, fingerprint)
    count("CouponsClaimed", len(issued.coupons))
    return issued


def offer(store: CouponStore, facts: CustomerFactsSource, customer_id: str, template_id: str, offer_id: str, now: datetime, *,
          stage: Callable[[Transaction], None], refusals: Mapping[str, DomainError]) -> Issued:
    """A coupon another capability gives (an RM's offer), issued with that capability's own items in
    the same transaction (`stage`; `refusals` the error each of their labels answers). Once per
    `offer_id`: a retry answers the coupon the first try issued."""
    from loyalty.coupons.ports import offer_coupon_id

    coupon_id = offer_coupon_id(offer_id)
    fingerprint = logic.request_fingerprint("offer", customer_id, template_id)
    template = cached_template(store, template_id)
    refusal = _refusal(template, facts, customer_id, None, now)
    if refusal is not None:
        try:
            return _replayed(store, coupon_id, fingerprint)
        except NotFound:
            raise refusal from None
    plan, bundle_id = _plan(store, template, coupon_id=coupon_id, customer_id=customer_id, now=now, source="rm_offer",
                            fingerprint=fingerprint, campaign_id=None, command_id=None)
    try:
        return Issued(store.issue(replace(plan, staged=stage, staged_refusals=refusals)), bundle_id)
    except AlreadyIssued:
        return _replayed(store, coupon_id, fingerprint)


ISSUE_REFUSALS = {"TEMPLATE_NOT_FOUND", "TEMPLATE_NOT_ACTIVE", "NOT_ELIGIBLE", "COUPON_OUT_OF_STOCK", "COUPON_LIMIT_REACHED"}


def issue_for_command(store: CouponStore, facts: CustomerFactsSource, command: IssueCouponCommand, now: datetime) -> Issued | None:
    """An `IssueCoupon` command: served once per command id. A business refusal is recorded and
    announced (`CouponIssueFailed`), so the sender can roll back its budget; None then."""
    coupon_id = logic.command_coupon_id(command.commandId)
    fingerprint = logic.request_fingerprint("command", command.model_dump_json())
    try:
        template = cached_template(store, command.templateId)
        refusal = _refusal(template, facts, command.customerId, None, now)
        if refusal is not None:
            raise refusal
        plan, bundle_id = _plan(store, template, coupon_id=coupon_id, customer_id=command.customerId, now=now,
                                source=command.source, fingerprint=fingerprint, campaign_id=command.campaignId,
                                command_id=command.commandId)
        return Issued(store.issue(plan), bundle_id)
    except AlreadyIssued:
        if store.get_issue_failure(coupon_id) is not None:
            return None
        return _replayed(store, coupon_id, fingerprint)
    except DomainError as error:
        if error.code not in ISSUE_REFUSALS:
            raise
        detail = {
            "commandId": command.commandId, "customerId": command.customerId, "templateId": command.templateId,
            "campaignId": command.campaignId, "source": command.source, "reason": error.code,
        }
        detail = {k: v for k, v in detail.items() if v is not None}
        store.record_issue_failure(coupon_id, error.code, PendingEvent(SOURCE, "CouponIssueFailed", detail))
        return None


MAX_REVOKE_ATTEMPTS = 5


def revoke_for_command(store: CouponStore, command: RevokeCouponCommand, now: datetime) -> str:
    """A campaign grant's compensation: takes back, unused, what the `IssueCoupon` `commandId`
    issued (every part of a bundle, or none); if it was not issued yet, takes the command's coupon id
    so it never is. Answered once, in the same transaction: `CouponRevoked` (`issued`: whether there
    was a coupon), or `CouponRevocationRefused` with the reason (redeemed, locked for an order, a red
    packet or gift delivered at issue): the customer keeps it. What happened: revoked, not_issued,
    the refusal's code, or duplicate (answered before)."""
    coupon_id = logic.command_coupon_id(command.commandId)
    answer = {k: v for k, v in {"commandId": command.commandId, "customerId": command.customerId, "campaignId": command.campaignId,
                                "grantId": command.grantId, "source": command.source}.items() if v is not None}
    for _ in range(MAX_REVOKE_ATTEMPTS):
        record = store.claim_record(coupon_id)
        changes: list[tuple[Coupon, Coupon]] = []
        if record is None or isinstance(record, IssueRefusal):
            outcome, event = "not_issued", PendingEvent(SOURCE, "CouponRevoked", {**answer, "issued": False, "couponIds": []})
        else:
            coupons = [store.get_coupon(p) for p in record.parts] if isinstance(record, BundleClaim) else [record]
            try:
                changes = [(c, logic.revoke(c, now)) for c in coupons]
                outcome, event = "revoked", PendingEvent(SOURCE, "CouponRevoked",
                                                         {**answer, "issued": True, "couponIds": [c.coupon_id for c in coupons]})
            except DomainError as refusal:
                outcome, event = refusal.code, PendingEvent(SOURCE, "CouponRevocationRefused", {
                    **answer, "reason": refusal.code, "couponIds": [c.coupon_id for c in coupons]})
        written = store.record_revocation(coupon_id, outcome, iso_utc(now), changes=[(b, a) for b, a in changes if a is not b],
                                          take_id=record is None, events=[event])
        if written == "duplicate":
            return "duplicate"
        if written == "done":
            return outcome
    raise Conflict("the coupon kept changing; retry", code="COUPON_CHANGED")


# ---- wallet ---------------------------------------------------------------------------------------


def wallet(store: CouponStore, customer_id: str, status: str | None, limit: int, cursor: str | None, now: datetime) -> dict[str, Any]:
    from loyalty.coupons.records import coupon_view

    page: list[dict[str, Any]] = []
    next_cursor = None
    for coupon, resume in store.wallet_pages(customer_id, cursor):
        effective = logic.effective_status(coupon, now)
        if status is None or effective == status:
            page.append(coupon_view(coupon, effective))
            if len(page) == limit:
                next_cursor = resume
                break
    return {"items": page, "nextCursor": next_cursor}


# ---- redemption -----------------------------------------------------------------------------------


def _owned(store: CouponStore, caller: Caller, coupon_id: str) -> Coupon:
    coupon = store.get_coupon(coupon_id)
    caller.require_owner_or_operator(coupon.customer_id)
    return coupon


def quote(store: CouponStore, caller: Caller, coupon_id: str, order: OrderDetails, now: datetime) -> dict[str, Any]:
    coupon = _owned(store, caller, coupon_id)
    status = logic.effective_status(coupon, now)
    result = logic.quote(coupon, order)
    if status != "available" and result.applicable:
        result = logic.Quote(False, 0, f"COUPON_{status.upper()}")
    elif iso_utc(now) < coupon.valid_from and result.applicable:
        result = logic.Quote(False, 0, "COUPON_NOT_YET_VALID")
    return {
        "couponId": coupon_id,
        "applicable": result.applicable,
        "discountMinor": result.discount_minor,
        "payableMinor": order.orderAmountMinor - result.discount_minor,
        "currency": order.currency,
        "reason": result.reason,
    }


def _transition(store: CouponStore, before: Coupon, after: Coupon, detail_type: str, **extra: Any) -> Coupon:
    if after is before:
        return before  # the same request again: nothing to write, nothing to announce
    store.save_transitions([(before, after)], [PendingEvent(SOURCE, detail_type, logic.event_detail(after, **extra))])
    return after


def lock(store: CouponStore, caller: Caller, coupon_id: str, request: LockRequest, now: datetime) -> Coupon:
    before = _owned(store, caller, coupon_id)
    after = logic.lock(before, request.orderId, request.ttlSeconds, now, request.order)
    return _transition(store, before, after, "CouponLocked", orderId=request.orderId, lockedUntil=after.locked_until)


def redeem(store: CouponStore, caller: Caller, coupon_id: str, request: RedeemRequest, now: datetime) -> Coupon:
    before = _owned(store, caller, coupon_id)
    after = logic.redeem(before, request.orderId, now, request.order)
    redeemed = _transition(store, before, after, "CouponRedeemed", orderId=request.orderId, discountMinor=after.discount_minor)
    if before.status != after.status:  # not a repeat of the same order's redemption
        count("CouponsRedeemed")
        count("BudgetSpentMinor", int(after.funding.get("unitCostMinor") or 0))
    return redeemed


def release(store: CouponStore, caller: Caller, coupon_id: str, order_id: str, now: datetime) -> Coupon:
    before = _owned(store, caller, coupon_id)
    return _transition(store, before, logic.release(before, order_id, now), "CouponReleased", orderId=order_id)


def give_back(store: CouponStore, caller: Caller, coupon_id: str, order_id: str, now: datetime) -> list[Coupon]:
    """A refund returns the coupon; a bundle's parts redeemed for the same order return with it."""
    coupon = _owned(store, caller, coupon_id)
    logic.give_back(coupon, order_id, now)  # refuses a coupon not redeemed for this order, bundle or not
    group = [coupon]
    if coupon.bundle_id:
        group = [c for c in _bundle_parts(store, coupon) if c.status == "redeemed" and c.redeemed_order_id == order_id]
    changes = [(c, logic.give_back(c, order_id, now)) for c in group]
    events = [PendingEvent(SOURCE, "CouponReturned", logic.event_detail(after, orderId=order_id, status=after.status)) for _, after in changes]
    store.save_transitions(changes, events)
    return [after for _, after in changes]


def _bundle_parts(store: CouponStore, coupon: Coupon) -> list[Coupon]:
    assert coupon.bundle_id is not None
    record = store.claim_record(coupon.bundle_id)
    parts = record.parts if isinstance(record, BundleClaim) else (coupon.coupon_id,)
    return [store.get_coupon(part_id) for part_id in parts]


# ---- expiry ---------------------------------------------------------------------------------------


def sweep_expired(store: CouponStore, now: datetime) -> dict[str, int]:
    """Expires every lapsed live coupon, date by date from the last fully swept date. Safe to run
    twice or to resume after a failure: each coupon is conditioned on the version it was read at."""
    today = now.date()
    marker = store.get_marker("expiry")
    day = datetime.fromisoformat(marker).date() + timedelta(days=1) if marker else today - timedelta(days=DEFAULT_SWEEP_LOOKBACK_DAYS)
    expired = dates = 0
    while day <= today:
        for coupon in store.lapsed_coupons(day.isoformat(), iso_utc(now)):
            after = logic.expire(coupon, now)
            if after is not None:
                try:
                    store.save_transitions([(coupon, after)], [PendingEvent(SOURCE, "CouponExpired", logic.event_detail(after))])
                    expired += 1
                except DomainError:
                    pass  # redeemed or changed meanwhile; the next run looks again
        if day < today:
            store.set_marker("expiry", day.isoformat())
        day += timedelta(days=1)
        dates += 1
    return {"expired": expired, "datesSwept": dates}
