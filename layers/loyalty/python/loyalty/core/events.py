"""Outbound events: the engine's own state changes, on the same bus, source `loyalty.<capability>`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.core.config import get_settings

MAX_ENTRIES_PER_PUT = 10


@dataclass(frozen=True)
class OutboundEvent:
    source: str
    detail_type: str
    detail: dict[str, Any]


def publish(events_to_send: Sequence[OutboundEvent]) -> None:
    """Put events on the bus; raises if any entry failed, so the caller's retry covers it."""
    from loyalty.core.aws import events
    from loyalty.core.outbox import correlation

    bus = get_settings().event_bus_name
    for start in range(0, len(events_to_send), MAX_ENTRIES_PER_PUT):
        chunk = events_to_send[start : start + MAX_ENTRIES_PER_PUT]
        result = events().put_events(
            Entries=[
                {"EventBusName": bus, "Source": e.source, "DetailType": e.detail_type, "Detail": json.dumps({**correlation(), **e.detail})}
                for e in chunk
            ]
        )
        if result.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused {result['FailedEntryCount']} of {len(chunk)} events")
