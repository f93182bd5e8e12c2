"""Bank and engine events (via the bus and the scoring-events queue) keep features and scores current."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.scoring import inbound, service
from loyalty.scoring.inbound import DETAIL_MODELS, Inbound


@sqs_consumer(DETAIL_MODELS)
def handler(event: BusEvent) -> None:
    assert isinstance(event.detail, Inbound)
    occurrence = inbound.occurrence_of(event.detail_type, event.detail, event.occurrence)
    service.ingest(service.default_store(), event.detail_type, event.detail, occurrence, event.time, utc_now())
