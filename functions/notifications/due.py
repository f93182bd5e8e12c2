"""Every minute: messages that waited (quiet hours, `deliverAt`) and are now due, and sends that died
before their answer, are delivered."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.customers.ports import consents
from loyalty.notifications import service
from loyalty.notifications.providers import provider
from loyalty.notifications.store import DynamoDeliveryStore


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    tally = service.send_due(DynamoDeliveryStore(), consents(), provider, utc_now())
    logger.info("due notifications delivered", extra=tally)
    return tally
