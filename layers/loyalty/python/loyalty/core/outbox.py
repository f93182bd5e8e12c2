"""Transactional outbox: events are written in the same DynamoDB transaction as the state change,
then published to the bus from the table's stream.

Publishing after a write from the handler would lose the event if the function died in between;
here an event exists if and only if its state change committed. Publishing is at least once:
every event carries `eventId`, which consumers use to drop duplicates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.events import MAX_ENTRIES_PER_PUT
from loyalty.core.observability import correlation_id, lambda_entry, logger
from loyalty.core.tables import ItemModel

if TYPE_CHECKING:
    from loyalty.core.transactions import Transaction

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class PendingEvent:
    source: str
    detail_type: str
    detail: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def correlation() -> dict[str, str]:
    """The correlation id of the request or event being handled, carried in every event it causes,
    so one id follows an action from the API through the bus and queues to every consumer."""
    current = correlation_id()
    return {"correlationId": current} if current else {}


class OutboxItem(ItemModel):
    """An event waiting in a table's outbox. Each table with a stream has its own subclass (the
    owning capability's `items.py`: `table_setting` and its own `Meta`); `of(event)` makes the item
    and `NEW` is the condition that writes it once."""

    pk = UnicodeAttribute(hash_key=True)  # OUTBOX#<eventId>
    sk = UnicodeAttribute(range_key=True)  # OUTBOX
    source = UnicodeAttribute()
    detailType = UnicodeAttribute()
    detail = UnicodeAttribute()  # the JSON detail, as published
    expiresAt = NumberAttribute()  # the table's TTL: published long before

    @classmethod
    def of(cls, event: PendingEvent) -> OutboxItem:
        now = utc_now()
        detail = {"eventId": event.event_id, "occurredAt": iso_utc(now), **correlation(), **event.detail}
        return cls(f"{OUTBOX_PREFIX}{event.event_id}", "OUTBOX", source=event.source, detailType=event.detail_type,
                   detail=json.dumps(detail, separators=(",", ":")), expiresAt=int(now.timestamp()) + OUTBOX_TTL_SECONDS)

    @classmethod
    def add_to(cls, transaction: Transaction, events: Sequence[PendingEvent]) -> None:
        """Each event into the transaction, written once (a replayed event id is refused: `outbox`)."""
        for event in events:
            transaction.put("outbox", cls.of(event), cls.pk.does_not_exist())


def outbox_put(table: str, event: PendingEvent, *, ttl_attribute: str = "expiresAt") -> dict[str, Any]:
    """A TransactWriteItems `Put` of the event, for the table's pk/sk key schema."""
    from loyalty.core.dynamo import to_item

    now = utc_now()
    detail = {"eventId": event.event_id, "occurredAt": iso_utc(now), **correlation(), **event.detail}
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(
                {
                    "pk": f"{OUTBOX_PREFIX}{event.event_id}",
                    "sk": "OUTBOX",
                    "source": event.source,
                    "detailType": event.detail_type,
                    "detail": json.dumps(detail, separators=(",", ":")),
                    ttl_attribute: int(now.timestamp()) + OUTBOX_TTL_SECONDS,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _entry(image: dict[str, Any], bus: str) -> dict[str, Any] | None:
    key = image.get("pk", {}).get("S", "")
    if not key.startswith(OUTBOX_PREFIX):
        return None
    return {"EventBusName": bus, "Source": image["source"]["S"], "DetailType": image["detailType"]["S"], "Detail": image["detail"]["S"]}


def stream_publisher() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A Lambda handler for a table's stream: puts each new outbox item on the bus.

    Failed records are reported by sequence number; Lambda retries from the lowest one, then sends
    the batch to the on-failure queue after the retries the topology sets.
    """

    @lambda_entry
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from loyalty.core.aws import events
        from loyalty.core.config import get_settings

        bus = get_settings().event_bus_name
        pending: list[tuple[str, dict[str, Any]]] = []
        for record in event.get("Records", []):
            if record.get("eventName") != "INSERT":
                continue
            entry = _entry(record.get("dynamodb", {}).get("NewImage", {}), bus)
            if entry is not None:
                pending.append((record["dynamodb"]["SequenceNumber"], entry))
        failed: list[str] = []
        for start in range(0, len(pending), MAX_ENTRIES_PER_PUT):
            chunk = pending[start : start + MAX_ENTRIES_PER_PUT]
            try:
                result = events().put_events(Entries=[entry for _, entry in chunk])  # type: ignore[misc]
                failed += [seq for (seq, _), outcome in zip(chunk, result["Entries"], strict=True) if outcome.get("ErrorCode")]
            except Exception:
                logger.exception("PutEvents failed; the records will be retried")
                failed += [seq for seq, _ in chunk]
        if failed:
            logger.warning("outbox events not published", extra={"failed": len(failed), "published": len(pending) - len(failed)})
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}

    return handler
