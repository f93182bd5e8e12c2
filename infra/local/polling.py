"""The loop every local event source mapping shares: poll, and back off while there is nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loyalty.core.observability import logger

if TYPE_CHECKING:
    from infra.topology import Function

MIN_IDLE_SLEEP_S = 0.02


@dataclass(frozen=True)
class Mishap:
    """An invocation that does not end with a result (`make chaos`, infra/local/chaos_faults.py): it
    timed out, or its process was killed, after handling the first `handled` records of its batch."""

    kind: str
    handled: int


class InvocationLost(Exception):
    """What the event source mapping sees of a mishap: no result, so the whole batch failed."""


# (function, records in the batch) -> a mishap for this invocation, or None for a normal one
Mishaps = Callable[["Function", int], Mishap | None]


class BackgroundPoller:
    """Calls `poll_once()` on a thread until stopped. Polls are short (the emulator serializes all
    requests, so a long poll would stall everyone); an idle source backs off to `max_idle_sleep_s`."""

    max_idle_sleep_s: float = 0.25
    mishaps: Mishaps | None = None
    polls = 0  # completed polls: a caller waiting for quiescence knows a poll began after it looked
    redelivered = 0  # records handed to the function again after a failed attempt

    def _start_thread(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def invoke(self, registry: Any, function: Function, records: list[dict[str, Any]]) -> Any:
        """The function's result for the batch; raises `InvocationLost` when a mishap befalls it,
        once the records it got to are handled (what they wrote stays written, as in Lambda)."""
        mishap = self.mishaps(function, len(records)) if self.mishaps else None
        if mishap is None:
            return registry.invoke(function, {"Records": records})
        if mishap.handled:
            with suppress(Exception):
                registry.invoke(function, {"Records": records[: mishap.handled]})
        raise InvocationLost(mishap.kind)

    def poll_once(self) -> int:
        raise NotImplementedError

    def start(self) -> Any:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.signal_stop()
        self.join()

    def signal_stop(self) -> None:
        """Asks the thread to stop after its current poll; `join` waits for it. A caller stopping many
        pollers signals them all first, so they finish their polls together, not one after another."""
        self._stop.set()

    def join(self) -> None:
        self._thread.join(timeout=10)

    def _run(self) -> None:
        idle_sleep = MIN_IDLE_SLEEP_S
        while not self._stop.is_set():
            try:
                handled = self.poll_once()
            except Exception:  # the emulator is shutting down, or a transient error: keep polling
                logger.debug("poll failed", exc_info=True)
                handled = 0
            self.polls += 1
            if handled:
                idle_sleep = MIN_IDLE_SLEEP_S
            else:
                self._stop.wait(idle_sleep)
                idle_sleep = min(self.max_idle_sleep_s, idle_sleep * 2)
