"""What happens to rewards after the grant: each command's answer moves the grant's saga (delivered,
refused, compensated; see `saga`), a redemption counts toward the report, and card spend of targeted
customers measures the uplift."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from loyalty.campaigns import saga, service
from loyalty.campaigns.model import NotificationReceipt, RewardAnswer
from loyalty.campaigns.store import CampaignStore
from loyalty.core.clock import iso_utc
from loyalty.core.errors import Conflict
from loyalty.core.outbox import PendingEvent

SPEND_MARKER_DAYS = 400
MAX_ATTEMPTS = 8
COMPENSATIONS = {"coupon": "RevokeCoupon", "points": "ReversePoints"}


# detail-type -> the saga's answer; CouponRevoked and PointsAwardReversed say whether anything was taken back.
# A returned coupon (its order refunded) is back in the wallet: the customer still holds the reward, so
# it is not a refusal; only its redemption is taken out of the report (`uncount_redeemed`).
ANSWERS: dict[str, saga.Answer] = {"CouponIssued": "delivered", "PointsAwarded": "delivered", "CouponIssueFailed": "refused",
                                   "CouponRevocationRefused": "kept"}


def answer_of(detail_type: str, answer: RewardAnswer) -> tuple[saga.Answer, str | None]:
    """The saga's reading of an answer to a grant's command, and its reason."""
    if detail_type == "CouponRevoked":
        return ("compensated" if answer.issued else "prevented"), answer.reason
    if detail_type == "PointsAwardReversed":
        return ("compensated" if answer.booked else "prevented"), answer.reason
    read = ANSWERS[detail_type]
    if read == "refused":
        return read, f"{detail_type}:{answer.reason or 'refused'}"
    return read, answer.reason


def on_answer(store: CampaignStore, command_id: str, answer: saga.Answer, reason: str | None, now: datetime) -> str | None:
    """Moves the grant a command belongs to by the command's answer, in one write conditioned on the
    grant's version (read again on a race): the status it reached, or None when the answer changes
    nothing (a command not a grant's, or an answer delivered again: idempotent by command id)."""
    command = store.command(command_id)
    if command is None:
        return None  # not a campaign grant's command
    for attempt in range(MAX_ATTEMPTS):
        grant = store.grant_record(command["grantPk"], command["grantSk"])
        if grant is None or grant.get("status") == "control":
            return None
        step = saga.advance(saga.from_record(grant, command_id), command_id, answer, reason)
        if step is None:
            return None
        fields, stats, events = _effects(grant, step, reason, now)
        if store.advance_grant(grant, fields, give_back=step.give_back, stats=stats, events=events):
            return step.saga.status
        time.sleep(0.005 * (attempt + 1))
    raise Conflict("the grant is too busy; retry", code="CAMPAIGN_CONTENDED")


def _effects(grant: dict[str, Any], step: saga.Step, reason: str | None,
             now: datetime) -> tuple[dict[str, Any], dict[str, int], list[PendingEvent]]:
    """What the step writes besides the saga: compensation commands, the notification, the events
    that announce a settled grant, the arm's counters."""
    from loyalty.campaigns.granting import notification_events

    at, after = iso_utc(now), step.saga
    fields: dict[str, Any] = saga.to_record(after)
    stats = dict(step.stats)
    who = {"customerId": grant["customerId"], "campaignId": grant["campaignId"], "grantId": grant.get("grantId")}
    events = [PendingEvent(service.SOURCE, COMPENSATIONS[a.kind],
                           {k: v for k, v in {"commandId": a.command_id, **who, "source": "campaign" if a.kind == "coupon" else None,
                                              "reason": reason}.items() if v is not None})
              for a in step.compensate]
    if grant.get("status") in saga.STANDING and after.status not in saga.STANDING:
        fields["cancelReason"] = reason or "refused"  # the refusal that undid the grant
    notification = grant.get("notification")
    if step.notify:
        fields["deliveredAt"] = at
        if notification:
            events += notification_events(notification, now)
            stats["notified"] = stats.get("notified", 0) + 1
    if notification and (step.notify or step.settled):
        fields["notification"] = None  # sent, or never to be: the grant did not complete
    if step.settled:
        fields.update(cancelledAt=at, givenBack=step.give_back, keptCost=step.kept)
        announced = {"campaignId": grant["campaignId"], "customerId": grant["customerId"], "arm": grant["arm"], "trigger": grant["trigger"],
                     "reason": fields.get("cancelReason") or grant.get("cancelReason") or "refused"}
        if after.status == "cancelled":
            events.append(PendingEvent(service.SOURCE, "RewardCancelled", {**announced, "cost": step.give_back}))
        else:
            kept = [{"commandId": a.command_id, "kind": a.kind, **({"reason": a.reason} if a.reason else {})}
                    for a in after.actions if a.state == "kept"]
            events.append(PendingEvent(service.SOURCE, "RewardCompensated", {
                **announced, **({"grantId": grant["grantId"]} if grant.get("grantId") else {}), "status": after.status,
                "cost": int(grant.get("cost", 0)), "givenBack": step.give_back, "keptCost": step.kept, "notCompensable": kept}))
    return fields, stats, events


def count_redeemed(store: CampaignStore, command_id: str, now: datetime) -> bool:
    """A campaign coupon was redeemed: counted once for its arm."""
    command = store.command(command_id)
    if command is None:
        return False
    return store.count_redeemed(command, iso_utc(now))


def uncount_redeemed(store: CampaignStore, command_id: str) -> bool:
    """A campaign coupon's order was refunded and the coupon returned: its redemption no longer counts."""
    command = store.command(command_id)
    if command is None:
        return False
    return store.uncount_redeemed(command)


RECEIPT_MARKER_DAYS = 90


def count_receipt(store: CampaignStore, receipt: NotificationReceipt, delivered: bool, now: datetime) -> bool:
    """A delivery receipt of a campaign's notification: counted once for its arm (a request without
    an arm, sent before arms were named, is not counted)."""
    if receipt.campaignId is None or receipt.arm is None:
        return False
    expires = int(now.timestamp()) + RECEIPT_MARKER_DAYS * 86_400
    return store.count_receipt(receipt.campaignId, receipt.arm, receipt.notificationId, delivered, expires)


def track_spend(store: CampaignStore, detail: dict[str, Any], now: datetime) -> int:
    """Card spend of a customer that running campaigns targeted (treatment or control), for the
    uplift; one query finds them, and each transaction counts once per campaign, in the campaign's
    spend currency only (a spend in another currency is not added to it)."""
    customer_id, transaction = detail["customerId"], detail["transactionId"]
    counted = 0
    for targeted in store.targeted(customer_id):
        if targeted["endsAt"] <= iso_utc(now) or targeted.get("currency", detail["currency"]) != detail["currency"]:
            continue
        expires = int(now.timestamp()) + SPEND_MARKER_DAYS * 86400
        counted += int(store.count_spend(targeted["sk"], targeted["arm"], transaction, int(detail["amountMinor"]), expires))
    return counted
