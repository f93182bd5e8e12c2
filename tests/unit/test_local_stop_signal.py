"""`make run` stops on Ctrl-C even when the kernel hands the signal to one of its many threads."""

from __future__ import annotations

import signal
import threading
import time

from infra.local.__main__ import wait_until_stopped

FALLBACK_S = 30.0  # only for a regression: the wait would otherwise hang the suite
SETTLE_S = 0.3  # lets the main thread block in its wait first (earlier, the handler runs before it blocks)


def test_a_signal_landing_on_another_thread_still_stops_the_main_wait() -> None:
    # Given the run's handler, which only sets an event, and a worker thread the signal will land on
    stopped = threading.Event()
    woken_by_fallback = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stopped.set())

    def worker() -> None:
        time.sleep(SETTLE_S)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # the C handler runs here, not in main
        if not stopped.wait(FALLBACK_S):
            woken_by_fallback.set()
            stopped.set()

    try:
        # When the main thread waits for the stop
        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        wait_until_stopped(stopped, poll_s=0.05)
        thread.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    # Then the signal's own handler ended the wait, not the fallback
    assert not woken_by_fallback.is_set()
