"""Bank and engine events (via the bus and the org-kpis queue) feed the branch league table's counters
(docs/org-units.md, "Branch league table"). Contract violations go to the DLQ as poison at once."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.org import kpi_service, kpi_store
from loyalty.org.kpis import DETAIL_MODELS
from loyalty.org.ports import units


@sqs_consumer(DETAIL_MODELS)
def handler(event: BusEvent) -> None:
    kpi_service.ingest(kpi_store.default_store(), units(), event.detail_type, event.detail, event.occurrence or event.id, utc_now())
