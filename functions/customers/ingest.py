"""CustomerProfileChanged from core banking (via the bus and SQS) upserts the profile."""

from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.customers import service
from loyalty.customers.model import ProfileChangedDetail


@sqs_consumer({"CustomerProfileChanged": ProfileChangedDetail})
def handler(event: BusEvent) -> None:
    assert isinstance(event.detail, ProfileChangedDetail)
    service.apply_profile_event(service.default_store(), event.detail, event.id)
