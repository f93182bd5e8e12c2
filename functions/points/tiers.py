"""The monthly re-evaluation of member levels: due downgrades, and each tier's monthly benefits."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.points import tier_service
from loyalty.points.service import default_store


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    result = tier_service.reevaluate_all(default_store(), utc_now())
    logger.info("member levels re-evaluated", extra=result)
    return result
