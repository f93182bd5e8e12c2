"""Campaign triggers parked until their customer's profile arrives (schedule `campaigns-parked-sweep`):
applies those whose profile has come, and reports, counts and alarms those parked too long."""

from typing import Any

from loyalty.campaigns import before_profile, service
from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = before_profile.sweep(service.default_store(), utc_now()).as_dict()
    logger.info("parked campaign triggers swept", extra={**result, "schedule": event.get("schedule")})
    return result
