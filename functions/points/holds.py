"""Every few minutes: mall redemptions whose payment never settled give their points back."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.points import redemption
from loyalty.points.service import default_store


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    released = redemption.release_lapsed_holds(default_store(), utc_now())
    logger.info("lapsed holds released", extra={"released": released})
    return {"released": released}
