"""CustomerProfileChanged and CustomerConsentChanged from core banking, and TierChanged from points
(via the bus and SQS), keep the profile."""

from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.customers import service
from loyalty.customers.consents import ConsentChangedDetail
from loyalty.customers.model import ProfileChangedDetail, TierChangedDetail


@sqs_consumer({"CustomerProfileChanged": ProfileChangedDetail, "TierChanged": TierChangedDetail,
               "CustomerConsentChanged": ConsentChangedDetail})
def handler(event: BusEvent) -> None:
    if isinstance(event.detail, TierChangedDetail):
        service.apply_tier_event(service.default_store(), event.detail, event.id)
    elif isinstance(event.detail, ConsentChangedDetail):
        service.apply_consent_event(service.default_store(), event.detail, event.id)
    else:
        assert isinstance(event.detail, ProfileChangedDetail)
        service.apply_profile_event(service.default_store(), event.detail, event.id)
