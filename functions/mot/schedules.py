"""Every 15 minutes: today's run of the MOT rules' schedule triggers (birthdays), continued where it
stopped until it has read every profile (docs/mot.md, "Schedules")."""

from typing import Any

from loyalty.core.clock import invocation_time_left, utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.customers.ports import directory
from loyalty.mot.adapters import customer_of
from loyalty.mot.schedules import run_birthdays
from loyalty.mot.store import DynamoMotStore


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    done = run_birthdays(DynamoMotStore(), directory(), customer_of, utc_now(), invocation_time_left(context))
    logger.info("MOT schedule run", extra={"done": done})
    return done
