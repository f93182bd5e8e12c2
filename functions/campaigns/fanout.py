"""Audience runs, one page at a time: each page's request comes from the previous page's outbox."""

from loyalty.campaigns import runs, service
from loyalty.campaigns.model import RunPage
from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer


@sqs_consumer({"CampaignRunPageRequested": RunPage})
def handler(event: BusEvent) -> None:
    page: RunPage = event.detail  # type: ignore[assignment]
    runs.page(service.default_store(), page.campaignId, page.runId, page.page, utc_now())
