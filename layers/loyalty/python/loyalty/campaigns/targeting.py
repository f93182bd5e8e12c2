"""Who gets what, pure: event patterns, schedules, audiences, arms, periods and quiet hours."""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.core import cron
from loyalty.core.patterns import check_pattern, matches_pattern  # noqa: F401  # the core's: MOT rules match them too

if TYPE_CHECKING:
    from loyalty.campaigns.model import Audience, CampaignDefinition, EventTrigger, QuietHours

def event_matches(trigger: EventTrigger, detail: dict[str, Any]) -> bool:
    if trigger.minAmountMinor is not None and not meets_amount(trigger.minAmountMinor, trigger.currency, detail):
        return False
    if trigger.mccs and detail.get("mcc") not in trigger.mccs:
        return False
    return matches_pattern(trigger.pattern, detail)


def meets_amount(minimum: int, currency: str, detail: dict[str, Any]) -> bool:
    """At least `minimum` minor units of `currency`: an amount in another currency never meets it
    (fen and cents are not comparable); a minimum of 0 is no threshold, in any currency. A balance
    movement's amount is its `deltaMinor`."""
    if minimum <= 0:
        return True
    amount = detail.get("amountMinor", detail.get("deltaMinor"))
    if amount is None or detail.get("currency", currency) != currency:
        return False
    return int(amount) >= minimum


# ---- schedules -----------------------------------------------------------------------------------

AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2})\)$")


def parse_schedule(expression: str, timezone: str) -> cron.Cron | datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None
    one_shot = AT.match(expression.strip())
    if one_shot:
        return datetime.fromisoformat(one_shot.group(1)).replace(tzinfo=zone)
    try:
        parsed = cron.parse(expression)
    except cron.InvalidSchedule as error:
        raise ValueError(f"invalid schedule {expression!r}: {error}") from None
    if isinstance(parsed, cron.Rate):
        raise ValueError("a campaign schedule is cron(...) or at(...), not rate(...)")
    return parsed


def due_slot(expression: str, timezone: str, last_slot: datetime | None, now: datetime) -> datetime | None:
    """The latest firing time in (last_slot, now], if any: a missed minute still fires once."""
    parsed = parse_schedule(expression, timezone)
    zone = ZoneInfo(timezone)
    if isinstance(parsed, datetime):
        return parsed if parsed <= now and (last_slot is None or last_slot < parsed) else None
    # Slots missed for longer than a day are not caught up: the latest one fires, once.
    after = max(last_slot or now - timedelta(minutes=1), now - timedelta(days=1)).astimezone(zone)
    found = None
    while (following := cron.next_fire(parsed, after, horizon_days=2)) is not None and following <= now:
        found = after = following
    return found


# ---- audiences, arms, periods --------------------------------------------------------------------


def in_audience(audience: Audience, customer_id: str, profile: dict[str, Any] | None, today: date) -> bool:
    if profile is not None and profile.get("erased"):
        return False  # erased (loyalty.privacy): never targeted again, listed or not
    if audience.customerIds:
        return customer_id in audience.customerIds
    if profile is None:
        if audience.requireProfile:
            return False
        profile = {}  # no profile: the rule's conditions cannot hold, but an empty rule takes everyone
    tags = set(profile.get("tags") or []) | set(profile.get("operatorTags") or [])
    scores = profile.get("scores") or {}
    checks = [
        not audience.tagsAny or bool(tags & set(audience.tagsAny)),
        set(audience.tagsAll) <= tags,
        not audience.tiers or profile.get("tier") in audience.tiers,
        not audience.segments or bool(set(profile.get("segments") or []) & set(audience.segments)),
        not audience.branchIds or profile.get("branchId") in audience.branchIds,
        not audience.birthdayToday or _birthday_today(profile.get("birthday"), today),
    ]
    for name, bounds in audience.scores.items():
        score = scores.get(name)
        checks.append(score is not None and (bounds.min is None or score >= bounds.min) and (bounds.max is None or score <= bounds.max))
    return all(checks)


def _birthday_today(birthday: str | None, today: date) -> bool:
    """Month and day match; a 29 February birthday is kept on 28 February in other years."""
    if not birthday:
        return False
    month_day = birthday[5:10]
    if month_day == "02-29" and not calendar.isleap(today.year):
        month_day = "02-28"
    return month_day == today.isoformat()[5:]


def arm_of(definition: CampaignDefinition, customer_id: str) -> str:
    """Deterministic: the same customer always lands in the same arm of a campaign."""
    point = int(hashlib.sha256(f"{definition.campaignId}\x1f{customer_id}".encode()).hexdigest()[:8], 16) % 10_000
    if point < definition.controlPercent * 100:
        return "control"
    rest = point - definition.controlPercent * 100
    span = 10_000 - definition.controlPercent * 100
    edge = 0
    for variant in definition.variants:
        edge += variant.weightPercent
        if rest * 100 < edge * span:
            return variant.variantId
    return definition.variants[-1].variantId


def period_keys(day: date) -> dict[str, str]:
    year, week, _ = day.isocalendar()
    return {"total": "TOTAL", "lifetime": "LIFETIME", "daily": f"D#{day.isoformat()}", "weekly": f"W#{year}-{week:02d}",
            "monthly": f"M#{day.isoformat()[:7]}", "yearly": f"Y#{day.year}"}


def deliver_at(quiet: QuietHours | None, local_now: datetime) -> datetime | None:
    """When a notification requested now may go out: None for at once, else the end of quiet hours."""
    if quiet is None:
        return None
    now_t = local_now.time().replace(tzinfo=None)
    inside = quiet.start <= now_t < quiet.end if quiet.start <= quiet.end else (now_t >= quiet.start or now_t < quiet.end)
    if not inside:
        return None
    end = datetime.combine(local_now.date(), quiet.end, tzinfo=local_now.tzinfo)
    return end if end > local_now else end + timedelta(days=1)
