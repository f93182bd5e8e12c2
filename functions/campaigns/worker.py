"""Work items of audience runs: grants to up to 10 customers each, idempotently."""

from loyalty.campaigns import runs, service
from loyalty.campaigns.model import WorkItem
from loyalty.core.clock import utc_now
from loyalty.core.consumer import command_consumer


@command_consumer(WorkItem, detail_type="CampaignWorkItem", id_field="itemId")
def handler(item: WorkItem) -> None:
    runs.work(service.default_store(), item.model_dump(), utc_now())
