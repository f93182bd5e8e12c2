"""Bank events in (via the bus and the points-accrual queue), points booked by the earn rules."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.points import service
from loyalty.points.model import EARN_EVENTS, CardTransactionRefunded


@sqs_consumer({**EARN_EVENTS, "CardTransactionRefunded": CardTransactionRefunded})
def handler(event: BusEvent) -> None:
    if isinstance(event.detail, CardTransactionRefunded):
        service.reverse_refund(service.default_store(), event.detail, utc_now())
    else:
        service.accrue(service.default_store(), event.detail_type, event.detail, event.id, utc_now())  # type: ignore[arg-type]
