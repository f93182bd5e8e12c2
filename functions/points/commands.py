"""Campaigns' commands to points, from the points-commands queue: AwardPoints, and its compensation
ReversePoints (a grant undone). A message sent to the queue directly is an AwardPoints; one routed
from the bus says its detail-type."""

import json
from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.consumer import command_consumer
from loyalty.points import service
from loyalty.points.model import AwardPointsCommand, ReversePointsCommand


@command_consumer(AwardPointsCommand, detail_type="AwardPoints", id_field="commandId")
def award(command: AwardPointsCommand) -> None:
    service.award_for_command(service.default_store(), command, utc_now())


@command_consumer(ReversePointsCommand, detail_type="ReversePoints", id_field="commandId")
def reverse(command: ReversePointsCommand) -> None:
    service.reverse_award(service.default_store(), command, utc_now())


def _detail_type(record: dict[str, Any]) -> str | None:
    try:
        body = json.loads(record.get("body", ""))
    except ValueError:
        return None  # malformed: the AwardPoints consumer reports it
    return body.get("detail-type") if isinstance(body, dict) else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each record to its command's consumer; their failures reported together."""
    records = event.get("Records", [])
    reversals = [r for r in records if _detail_type(r) == "ReversePoints"]
    awards = [r for r in records if _detail_type(r) != "ReversePoints"]
    failures: list[dict[str, str]] = []
    for consume, batch in ((award, awards), (reverse, reversals)):
        if batch:
            failures += consume({**event, "Records": batch}, context)["batchItemFailures"]
    return {"batchItemFailures": failures}
