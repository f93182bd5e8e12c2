"""What happens to rewards after the grant: a coupon refused or returned gives the budget back, a
redemption counts toward the report, and card spend of targeted customers measures the uplift."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.campaigns import service
from loyalty.campaigns.store import CampaignStore
from loyalty.core.clock import iso_utc
from loyalty.core.outbox import PendingEvent

SPEND_MARKER_DAYS = 400


def give_back(store: CampaignStore, command_id: str, reason: str, now: datetime) -> bool:
    """Cancels the grant a coupon command belonged to and returns its cost to every budget period
    it was taken from. Once: the grant's status is the condition."""
    command = store.command(command_id)
    if command is None:
        return False  # not a campaign grant's command
    grant = store.grant_record(command["grantPk"], command["grantSk"])
    if grant is None or grant.get("status") != "granted":
        return False
    event = PendingEvent(service.SOURCE, "RewardCancelled", {"campaignId": grant["campaignId"], "customerId": grant["customerId"],
                                                            "arm": grant["arm"], "trigger": grant["trigger"],
                                                            "cost": int(grant.get("cost", 0)), "reason": reason})
    return store.cancel_grant(grant, reason, iso_utc(now), event)


def count_redeemed(store: CampaignStore, command_id: str, now: datetime) -> bool:
    """A campaign coupon was redeemed: counted once for its arm."""
    command = store.command(command_id)
    if command is None:
        return False
    return store.count_redeemed(command, iso_utc(now))


def track_spend(store: CampaignStore, detail: dict[str, Any], now: datetime) -> int:
    """Card spend of a customer that running campaigns targeted (treatment or control), for the
    uplift; one query finds them, and each transaction counts once per campaign, in the campaign's
    spend currency only (a spend in another currency is not added to it)."""
    customer_id, transaction = detail["customerId"], detail["transactionId"]
    counted = 0
    for targeted in store.targeted(customer_id):
        if targeted["endsAt"] <= iso_utc(now) or targeted.get("currency", detail["currency"]) != detail["currency"]:
            continue
        expires = int(now.timestamp()) + SPEND_MARKER_DAYS * 86400
        counted += int(store.count_spend(targeted["sk"], targeted["arm"], transaction, int(detail["amountMinor"]), expires))
    return counted
