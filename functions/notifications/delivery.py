"""Delivers `NotificationRequested` (campaigns) and `RmMessageRequested` (an RM's message, MOT) through
the customer's channel's provider: consent, quiet hours and frequency caps first, exactly once per
notification id (docs/notifications.md)."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.customers.ports import consents
from loyalty.notifications import service
from loyalty.notifications.model import DeliveryRequest
from loyalty.notifications.providers import provider
from loyalty.notifications.store import DynamoDeliveryStore


@sqs_consumer({"NotificationRequested": DeliveryRequest, "RmMessageRequested": DeliveryRequest})
def handler(event: BusEvent) -> None:
    assert isinstance(event.detail, DeliveryRequest)
    # A provider that does not take it leaves the delivery `sending`: the sweep (notifications-due)
    # tries again when its next attempt is due, until DELIVERY_MAX_ATTEMPTS fails it for good.
    service.deliver(DynamoDeliveryStore(), consents(), provider, event.detail, utc_now())
