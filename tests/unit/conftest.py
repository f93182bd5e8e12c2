"""Unit tests: pure Python, no AWS. Powertools is kept quiet and settings are re-read per test."""

from __future__ import annotations

import os

# Set before any `loyalty` import creates the Powertools singletons.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Test")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "loyalty-unit-tests")

from collections.abc import Iterator

import pytest

from loyalty.core import idempotency
from loyalty.core.config import get_settings
from tests.unit.fakes import FakeClock, InMemoryIdempotencyStore

SETTINGS_OVERRIDES = ("MAX_BODY_BYTES", "IDEMPOTENCY_TTL_SECONDS", "IDEMPOTENCY_IN_FLIGHT_SECONDS", "BANK_TIME_ZONE")


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test sees the documented defaults (64 KB bodies, 24 h TTL, 60 s in-flight)."""
    for name in SETTINGS_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


class _NoDefaultStore:
    """Installed unless a test asks for `store`: reaching the real (DynamoDB) store is a test bug."""

    def _refuse(self, *args: object) -> None:
        raise AssertionError("this test reached the idempotency store without the `store` fixture")

    claim = complete = release = _refuse


@pytest.fixture(autouse=True)
def no_default_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idempotency, "_store", _NoDefaultStore())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_795_000_000.0)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, no_default_store: None) -> InMemoryIdempotencyStore:
    """Our own idempotency port, in memory, installed as the process default store."""
    fake = InMemoryIdempotencyStore(ttl_seconds=24 * 3600, in_flight_seconds=60)
    monkeypatch.setattr(idempotency, "_store", fake)
    return fake
