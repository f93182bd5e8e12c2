"""Campaign triggers before the customer's profile: parked, then applied when it arrives.

`on_trigger` runs an event's campaigns (`granting.on_event`); those whose audience reads a profile that
has not arrived answer `awaiting_profile`, and the event is parked for them (`parking.py`). When the
profile arrives (`CustomerProfileChanged`, routed to the campaign-triggers queue too) `on_profile`
applies the customer's parked triggers, in the order they occurred, to those campaigns only, as of
the time each arrived; the grants are keyed by the trigger's occurrence, so a trigger applied twice
grants once. The hourly `sweep` applies what a profile's event missed and reports (metric, alarm)
what waits longer than CAMPAIGNS_PARKED_REPORT_DAYS. docs/campaigns.md, "Triggers before the profile".
"""

from __future__ import annotations

from datetime import datetime

from loyalty.campaigns import granting, parking
from loyalty.campaigns.model import TriggerDetail
from loyalty.campaigns.store import CampaignStore
from loyalty.core import parking as parked_events
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict
from loyalty.core.observability import count, logger


def has_profile(customer_id: str) -> bool:
    from loyalty.customers.ports import directory

    return directory().profile(customer_id) is not None


def on_trigger(store: CampaignStore, event_type: str, detail: TriggerDetail, occurrence: str, now: datetime) -> dict[str, str]:
    """The event's campaigns; parked for those that wait for the customer's profile."""
    outcomes = granting.on_event(store, event_type, detail.model_dump(), occurrence, now)
    waiting = parking.waiting(outcomes)
    if waiting:
        from loyalty.core.pii import keyed_hash

        # Keyed at once: the hashes as received live only in this invocation's memory.
        keyed = [keyed_hash(raw) for raw in parking.raw_hashes(detail)]
        park(store, parking.parked(event_type, detail, occurrence, waiting, keyed, now, get_settings().campaigns_parked_keep_days))
    return outcomes


def park(store: CampaignStore, trigger: parking.ParkedTrigger) -> int:
    """Parks the trigger (once per occurrence), then reads the profile again: stored after this event
    read it, its own event may have applied the customer's parked triggers before this one was among
    them. Found now, they are applied here (this one among them); still absent, the profile's event
    will, because it reads them only after the profile is stored, which is after this read. The
    number applied here."""
    new = store.park_trigger(trigger)
    if not has_profile(trigger.customerId):
        logger.info("campaign trigger parked until the customer's profile arrives" if new else "campaign trigger parked before",
                    extra={"occurrence": trigger.occurrence, "detail_type": trigger.detailType, "campaigns": trigger.campaignIds})
        if new:
            count("CampaignTriggersParked")
        return 0
    return drain(store, trigger.customerId)


def on_profile(store: CampaignStore, customer_id: str) -> int:
    """A `CustomerProfileChanged`: the customer's parked triggers are applied once customers-ingest has
    stored the profile (the one read that decides); until then it is retried, PROFILE_NOT_CAUGHT_UP (it
    *is* the profile arriving, through the customers' own queue). How many were applied."""
    if not has_profile(customer_id):
        raise Conflict(f"customer {customer_id}'s profile is not stored yet; retried", code="PROFILE_NOT_CAUGHT_UP")
    return drain(store, customer_id)


def drain(store: CampaignStore, customer_id: str) -> int:
    """Applies the customer's parked triggers in the order they occurred, each to the campaigns it
    waits for, as of when it arrived, and deletes each once decided (granted, refused, or dropped: an
    erased customer). One that fails stays parked for the sweep; the others go on. Stops, keeping
    them all, when the profile is still not there."""
    applied = 0
    for trigger in parked_events.in_order(store.parked_triggers(customer_id)):
        try:
            outcomes = granting.on_event(store, trigger.detailType, trigger.trigger_detail(), trigger.occurrence, trigger.decided_at(),
                                         only=set(trigger.campaignIds), keyed_hashes=trigger.identities)
        except Exception:
            logger.warning("a parked campaign trigger could not be applied; it stays parked for the sweep",
                           extra={"occurrence": trigger.occurrence, "detail_type": trigger.detailType}, exc_info=True)
            continue
        if parking.waiting(outcomes):
            break  # no profile after all
        store.unpark_trigger(customer_id, trigger.occurrence)
        applied += 1
        logger.info("parked campaign trigger applied", extra={"occurrence": trigger.occurrence, "outcomes": outcomes})
    count("CampaignParkedTriggersApplied", applied)
    return applied


def sweep(store: CampaignStore, now: datetime, page_size: int = 100) -> parked_events.SweepReport:
    """The hourly sweep (schedule `campaigns-parked-sweep`, `loyalty.core.parking.sweep`): applies the
    triggers whose profile has arrived, and reports those parked longer than
    CAMPAIGNS_PARKED_REPORT_DAYS (`CampaignsParkedEventsStale`, alarmed). The TTL deletes them
    CAMPAIGNS_PARKED_KEEP_DAYS after parking, never the sweep."""
    from loyalty.customers.ports import directory

    consumer = parked_events.Sweep("Campaigns", store.triggers_parked_before, lambda ids: set(directory().profiles(ids)),
                                   lambda customer: drain(store, customer))
    return parked_events.sweep(consumer, now, get_settings().campaigns_parked_report_days, page_size)
