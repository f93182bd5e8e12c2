"""Key moments from the bus: each active rule a moment matches makes a task (or holds the moment out),
a goal moment counts conversions, and a profile's new manager takes the customer's open tasks."""

from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.consumer import BusEvent, sqs_consumer
from loyalty.mot import service
from loyalty.mot.adapters import ProfileCustomers
from loyalty.mot.model import ManagerChanged, moment_models
from loyalty.mot.store import DynamoMotStore


@sqs_consumer({**moment_models(), "CustomerProfileChanged": ManagerChanged})
def handler(event: BusEvent) -> None:
    store, now = DynamoMotStore(), utc_now()
    if isinstance(event.detail, ManagerChanged):
        if "relationshipManagerId" in event.detail.model_fields_set:  # absent: the profile said nothing of its manager
            service.on_manager(store, event.detail.customerId, event.detail.relationshipManagerId, iso_utc(event.detail.changedAt))
        return
    detail = event.detail.model_dump(mode="json")
    outcomes = service.on_moment(store, ProfileCustomers(), event.detail_type, detail, event.occurrence, now)
    converted = service.on_goal(store, event.detail_type, detail, now)
    service.log_outcomes(event.detail_type, {**outcomes, "conversions": converted} if converted else outcomes)
