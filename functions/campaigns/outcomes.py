"""Answers to campaign grants' commands: each moves its grant's saga (delivered, refused, compensated;
loyalty.campaigns.saga); a redeemed coupon is counted, and uncounted when its order is refunded; a
notification's delivery receipt is counted for its arm."""

from loyalty.campaigns import outcomes, service
from loyalty.campaigns.model import NotificationReceipt, RewardAnswer
from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer

ANSWERS = ("CouponIssued", "CouponIssueFailed", "CouponRevoked", "CouponRevocationRefused", "PointsAwarded", "PointsAwardReversed")


RECEIPTS = {"NotificationDelivered": NotificationReceipt, "NotificationFailed": NotificationReceipt}


@sqs_consumer({**{name: RewardAnswer for name in (*ANSWERS, "CouponRedeemed", "CouponReturned")}, **RECEIPTS})
def handler(event: BusEvent) -> None:
    store, now = service.default_store(), utc_now()
    if isinstance(event.detail, NotificationReceipt):
        outcomes.count_receipt(store, event.detail, event.detail_type == "NotificationDelivered", now)
        return
    answer: RewardAnswer = event.detail  # type: ignore[assignment]
    if event.detail_type == "CouponRedeemed":
        outcomes.count_redeemed(store, answer.commandId, now)
    elif event.detail_type == "CouponReturned":
        outcomes.uncount_redeemed(store, answer.commandId)
    else:
        read, reason = outcomes.answer_of(event.detail_type, answer)
        outcomes.on_answer(store, answer.commandId, read, reason, now)
