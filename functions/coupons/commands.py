"""IssueCoupon commands (from campaigns, the points mall, tier benefits), from the coupon-commands queue."""

from loyalty.core.clock import utc_now
from loyalty.core.consumer import command_consumer
from loyalty.coupons import service
from loyalty.coupons.model import IssueCouponCommand


@command_consumer(IssueCouponCommand, detail_type="IssueCoupon", id_field="commandId")
def handler(command: IssueCouponCommand) -> None:
    service.issue_for_command(service.default_store(), service.ProfileFacts(), command, utc_now())
