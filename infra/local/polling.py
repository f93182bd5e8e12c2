"""The loop every local event source mapping shares: poll, and back off while there is nothing."""

from __future__ import annotations

import threading
from typing import Any

from loyalty.core.observability import logger

MIN_IDLE_SLEEP_S = 0.02


class BackgroundPoller:
    """Calls `poll_once()` on a thread until stopped. Polls are short (the emulator serializes all
    requests, so a long poll would stall everyone); an idle source backs off to `max_idle_sleep_s`."""

    max_idle_sleep_s: float = 0.25

    def _start_thread(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

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
            if handled:
                idle_sleep = MIN_IDLE_SLEEP_S
            else:
                self._stop.wait(idle_sleep)
                idle_sleep = min(self.max_idle_sleep_s, idle_sleep * 2)
