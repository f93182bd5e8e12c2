"""Commands to coupons, from the coupon-commands queue: IssueCoupon (from campaigns, the points mall,
tier benefits), and RevokeCoupon (a campaign grant's compensation). A message sent to the queue
directly is an IssueCoupon; one routed from the bus says its detail-type."""

import json
from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.consumer import command_consumer
from loyalty.coupons import service
from loyalty.coupons.model import IssueCouponCommand, RevokeCouponCommand


@command_consumer(IssueCouponCommand, detail_type="IssueCoupon", id_field="commandId")
def issue(command: IssueCouponCommand) -> None:
    service.issue_for_command(service.default_store(), service.ProfileFacts(), command, utc_now())


@command_consumer(RevokeCouponCommand, detail_type="RevokeCoupon", id_field="commandId")
def revoke(command: RevokeCouponCommand) -> None:
    service.revoke_for_command(service.default_store(), command, utc_now())


def _detail_type(record: dict[str, Any]) -> str | None:
    try:
        body = json.loads(record.get("body", ""))
    except ValueError:
        return None  # malformed: the IssueCoupon consumer reports it
    return body.get("detail-type") if isinstance(body, dict) else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each record to its command's consumer; their failures reported together."""
    records = event.get("Records", [])
    revocations = [r for r in records if _detail_type(r) == "RevokeCoupon"]
    issues = [r for r in records if _detail_type(r) != "RevokeCoupon"]
    failures: list[dict[str, str]] = []
    for consume, batch in ((issue, issues), (revoke, revocations)):
        if batch:
            failures += consume({**event, "Records": batch}, context)["batchItemFailures"]
    return {"batchItemFailures": failures}
