"""Bank (and engine) events that trigger campaigns, and bank schedulers' fire requests, from the
campaign-triggers queue. Card spend is also counted for the uplift of running campaigns."""

from pydantic import BaseModel

from loyalty.campaigns import granting, outcomes, runs, service
from loyalty.campaigns.model import TRIGGER_DETAILS, CampaignFireRequested
from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer

MODELS: dict[str, type[BaseModel]] = {**TRIGGER_DETAILS, "CampaignFireRequested": CampaignFireRequested}


@sqs_consumer(MODELS)
def handler(event: BusEvent) -> None:
    store, now = service.default_store(), utc_now()
    if isinstance(event.detail, CampaignFireRequested):
        request = event.detail
        runs.fire(store, request.campaignId, f"bank:{request.requestId}", request.requestedBy, now,
                  customer_ids=request.audienceOverride, not_before=request.runAt)
        return
    detail = event.detail.model_dump()
    granting.on_event(store, event.detail_type, detail, event.occurrence, now)
    if event.detail_type == "CardTransactionPosted":
        outcomes.track_spend(store, detail, now)
