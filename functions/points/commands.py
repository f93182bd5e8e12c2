"""AwardPoints commands (from campaigns), from the points-commands queue."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import command_consumer
from loyalty.points import service
from loyalty.points.model import AwardPointsCommand


@command_consumer(AwardPointsCommand, detail_type="AwardPoints", id_field="commandId")
def handler(command: AwardPointsCommand) -> None:
    service.award_for_command(service.default_store(), command, utc_now())
