"""The nightly re-scoring of everybody (schedule `scoring-nightly`), and its resumption after a
timeout or a failure (schedule `scoring-nightly-resume`, which does nothing when no run is unfinished)."""

from typing import Any

from loyalty.core.clock import business_date, invocation_time_left, utc_now
from loyalty.core.config import get_settings
from loyalty.core.observability import lambda_entry
from loyalty.scoring import nightly, service


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = utc_now()
    run_date = business_date(now, get_settings().bank_zone) if event.get("schedule") == "scoring-nightly" else None
    result = nightly.start_or_resume(service.default_store(), run_date, now, invocation_time_left(context))
    nightly.log_progress(result)
    return result
