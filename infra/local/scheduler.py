"""Fires the topology's schedules on the clock, in each schedule's time zone, as EventBridge
Scheduler does; `fire_now` fires one on demand (`make fire SCHEDULE=<name>`)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from infra.local.gateway import HandlerRegistry
from infra.topology import Function, Schedule, Topology
from loyalty.core import cron
from loyalty.core.observability import logger

FIRE_GRACE_S = 5.0  # how long a stop waits for firings in flight (Ctrl-C stays quick)


def scheduler_payload(schedule: Schedule, at: datetime) -> dict[str, Any]:
    """The input our Scheduler targets carry (see infra/stacks): the same shape locally and in AWS."""
    return {
        "schedule": schedule.name,
        "scheduledTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "executionId": str(uuid.uuid4()),
    }


class LocalScheduler:
    def __init__(self, topology: Topology, registry: HandlerRegistry):
        self.registry = registry
        self.entries: dict[str, tuple[Schedule, Function, cron.Cron | cron.Rate]] = {
            s.name: (s, f, cron.parse(s.expression)) for f in topology.functions for s in f.schedules
        }
        self._last_fired: dict[str, float] = {}
        self._started = time.time()
        self._stop = threading.Event()
        self._firing: set[threading.Thread] = set()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> LocalScheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No new firings; those in flight get a few seconds to finish before the emulator goes."""
        self._stop.set()
        self._thread.join(timeout=5)
        deadline = time.monotonic() + FIRE_GRACE_S
        for fire in list(self._firing):
            fire.join(timeout=max(0.0, deadline - time.monotonic()))

    def fire_now(self, name: str) -> Any:
        schedule, function, _ = self.entries[name]
        return self.registry.invoke(function, scheduler_payload(schedule, datetime.now(UTC)))

    def due(self, now: datetime) -> list[str]:
        due = []
        for name, (schedule, _, expression) in self.entries.items():
            if isinstance(expression, cron.Rate):
                last = self._last_fired.get(name, self._started)
                if now.timestamp() - last >= expression.seconds:
                    due.append(name)
            elif expression.matches(now.astimezone(ZoneInfo(schedule.timezone))):
                minute = now.replace(second=0, microsecond=0).timestamp()
                if self._last_fired.get(name) != minute:
                    due.append(name)
        return due

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            now = datetime.now(UTC)
            for name in self.due(now):
                expression = self.entries[name][2]
                self._last_fired[name] = (
                    now.timestamp() if isinstance(expression, cron.Rate) else now.replace(second=0, microsecond=0).timestamp()
                )
                fire = threading.Thread(target=self._fire, args=(name,), daemon=True)
                self._firing.add(fire)
                fire.start()

    def _fire(self, name: str) -> None:
        try:
            self.fire_now(name)
        except Exception:
            if self._stop.is_set():  # the emulator went away under a long run: the next start resumes it
                logger.info("scheduled invocation cut short by the shutdown", extra={"schedule": name})
            else:
                logger.exception("scheduled invocation failed", extra={"schedule": name})
        finally:
            self._firing.discard(threading.current_thread())
