"""The daily job that expires lapsed lots (PointsExpired) and announces PointsExpiringSoon."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.points import service


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    result = service.expire_due(service.default_store(), utc_now())
    logger.info("points expiry done", extra={**result, "schedule": event.get("schedule")})
    return result
