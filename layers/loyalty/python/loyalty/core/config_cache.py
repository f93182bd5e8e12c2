"""Operator configuration read from memory for a few seconds: earn rules, score models, campaign and
coupon templates. One helper for every capability: what to read, and for how long, is the caller's.

A change an operator saves reaches every warm Lambda within `seconds` (the settings say how long
per kind); the write itself is never cached. Entries are per process, and `clear()` is for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_entries: dict[Hashable, tuple[float, Any]] = {}
_lock = threading.Lock()


def cached(key: Hashable, seconds: float, load: Callable[[], T], clock: Callable[[], float] = time.monotonic) -> T:
    """`load()`'s value, read again once it is older than `seconds` (0: always read)."""
    now = clock()
    with _lock:
        hit = _entries.get(key)
    if hit is not None and seconds > 0 and now - hit[0] < seconds:
        value: T = hit[1]
        return value
    value = load()
    with _lock:
        _entries[key] = (now, value)
    return value


def forget(key: Hashable) -> None:
    """After this process writes the configuration itself, its next read sees the write."""
    with _lock:
        _entries.pop(key, None)


def clear() -> None:
    with _lock:
        _entries.clear()
