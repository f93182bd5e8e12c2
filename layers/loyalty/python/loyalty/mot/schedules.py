"""Schedule triggers (docs/mot.md, "Schedules"): once a day, the profiles are read a page at a time and
each customer whose birthday falls `daysAhead` days from today gets the rule's task (or is held out),
as a moment would. The run keeps its place (`RUN#birthday/<day>`) and the next firing resumes it, so
a bank of millions is read across invocations; a profile read twice makes no second task (the task's
id derives from the rule, the customer and the birthday's date)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from loyalty.core.clock import business_date
from loyalty.core.config import get_settings
from loyalty.mot import logic
from loyalty.mot.model import BIRTHDAY, Birthday
from loyalty.mot.service import Customer, task_for
from loyalty.mot.store import DynamoMotStore

PAGE = 200
STOP_SECONDS = 30.0  # an invocation stops with this much time left, its place kept
RUN_KEPT_DAYS = 7


class Profiles(Protocol):
    def page(self, cursor: str | None, limit: int) -> tuple[list[Any], str | None]: ...


def run_birthdays(store: DynamoMotStore, profiles: Profiles, customer_of: Callable[[Any], Customer], now: datetime,
                  time_left: Callable[[], float]) -> dict[str, int]:
    """Today's birthday run, continued from where it stopped: what it did this invocation."""
    rules = [r for r in store.active_rules(BIRTHDAY) if isinstance(r.definition.trigger, Birthday)]
    today = business_date(now, get_settings().bank_zone)
    run = store.run("birthday", today.isoformat())
    done: dict[str, int] = {"rules": len(rules), "profiles": 0}
    if not rules or run.done:
        return done
    cursor: str | None = run.cursor
    while True:
        page, cursor = profiles.page(cursor, PAGE)
        for profile in page:
            for rule in rules:
                trigger = rule.definition.trigger
                assert isinstance(trigger, Birthday)
                on = today + timedelta(days=trigger.daysAhead)
                if profile.erased or not logic.birthday_on(profile.birthday, on):
                    continue
                detail = {"customerId": profile.customerId, "birthday": profile.birthday, "on": on.isoformat(), "daysAhead": trigger.daysAhead}
                outcome = task_for(store, rule, customer_of(profile), detail, f"Birthday:{on.isoformat()}", now)
                done[outcome] = done.get(outcome, 0) + 1
        done["profiles"] += len(page)
        run.cursor, run.done, run.customers = cursor, int(cursor is None), int(run.customers or 0) + len(page)
        store.save_run(run, int((now + timedelta(days=RUN_KEPT_DAYS)).timestamp()))
        if cursor is None or time_left() < STOP_SECONDS:
            return done
