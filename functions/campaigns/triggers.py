"""Bank (and engine) events that trigger campaigns, and bank schedulers' fire requests, from the
campaign-triggers queue. Card spend is also counted for the uplift of running campaigns. A trigger
for a customer whose profile has not arrived is parked for the campaigns that read it, and applied
when their `CustomerProfileChanged` comes here too (loyalty.campaigns.before_profile)."""

from pydantic import BaseModel

from loyalty.campaigns import before_profile, outcomes, runs, service
from loyalty.campaigns.model import TRIGGER_DETAILS, CampaignFireRequested, ProfileArrived, TriggerDetail
from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer

MODELS: dict[str, type[BaseModel]] = {**TRIGGER_DETAILS, "CampaignFireRequested": CampaignFireRequested, "CustomerProfileChanged": ProfileArrived}


@sqs_consumer(MODELS)
def handler(event: BusEvent) -> None:
    store, now = service.default_store(), utc_now()
    if isinstance(event.detail, CampaignFireRequested):
        request = event.detail
        runs.fire(store, request.campaignId, f"bank:{request.requestId}", request.requestedBy, now,
                  customer_ids=request.audienceOverride, not_before=request.runAt)
        return
    if isinstance(event.detail, ProfileArrived):
        before_profile.on_profile(store, event.detail.customerId)
        return
    assert isinstance(event.detail, TriggerDetail)
    before_profile.on_trigger(store, event.detail_type, event.detail, event.occurrence, now)
    if event.detail_type == "CardTransactionPosted":
        outcomes.track_spend(store, event.detail.model_dump(), now)
