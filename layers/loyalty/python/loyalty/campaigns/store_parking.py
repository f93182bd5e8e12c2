"""Triggers parked until their customer's profile arrives (`parking.py`), in the `campaigns` table as
`items_customer.ParkedTriggerItem`: `PARKED#<customer>` / <occurrence>, so a customer's are one Query
and a PIPL export or erasure finds them; gsi1 `PARKED#<bucket>` for the sweep."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from pynamodb.exceptions import PutError

from loyalty.campaigns import records
from loyalty.campaigns.items_customer import ParkedTriggerItem
from loyalty.campaigns.parking import ParkedTrigger
from loyalty.core.dynamo import is_condition_failure
from loyalty.core.parking import bucket, index_sort_key, to_json


class ParkingStore(Protocol):
    def park_trigger(self, trigger: ParkedTrigger) -> bool:
        """Once per (customer, occurrence): False if it was parked before (the first stays, with its time)."""

    def parked_triggers(self, customer_id: str) -> list[ParkedTrigger]:
        """The customer's parked triggers, read consistently."""

    def unpark_trigger(self, customer_id: str, occurrence: str) -> None: ...

    def triggers_parked_before(self, bucket: int, before: str, limit: int, cursor: dict[str, Any] | None
                               ) -> tuple[Sequence[ParkedTrigger], dict[str, Any] | None]:
        """A page of one sweep bucket's triggers parked before `before` (ISO UTC), and the next cursor."""


class DynamoParkedTriggers:
    def park_trigger(self, trigger: ParkedTrigger) -> bool:
        item = ParkedTriggerItem(
            *records.split(records.parked_key(trigger.customerId, trigger.occurrence)), customerId=trigger.customerId,
            occurrence=trigger.occurrence, detailType=trigger.detailType, detail=to_json(trigger.detail), campaignIds=trigger.campaignIds,
            identities=trigger.identities or None, occurredAt=trigger.occurredAt, parkedAt=trigger.parkedAt, expiresAt=trigger.expiresAt,
            gsi1pk=records.parked_partition(bucket(trigger.customerId)), gsi1sk=index_sort_key(trigger),
        )
        try:
            # A redelivery keeps the first parking, and its time: the stale clock is never reset by retries.
            item.save(ParkedTriggerItem.pk.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def parked_triggers(self, customer_id: str) -> list[ParkedTrigger]:
        return [parked_trigger_of(i) for i in ParkedTriggerItem.query(f"PARKED#{customer_id}", consistent_read=True)]

    def unpark_trigger(self, customer_id: str, occurrence: str) -> None:
        ParkedTriggerItem(*records.split(records.parked_key(customer_id, occurrence))).delete()

    def triggers_parked_before(self, bucket: int, before: str, limit: int, cursor: dict[str, Any] | None
                               ) -> tuple[Sequence[ParkedTrigger], dict[str, Any] | None]:
        results = ParkedTriggerItem.since.query(records.parked_partition(bucket), ParkedTriggerItem.gsi1sk < before, limit=limit,
                                                last_evaluated_key=cursor)
        found = [parked_trigger_of(item) for _, item in zip(range(limit), results, strict=False)]
        return found, results.last_evaluated_key


def parked_trigger_of(item: ParkedTriggerItem) -> ParkedTrigger:
    return ParkedTrigger(customerId=item.customerId, occurrence=item.occurrence, detailType=item.detailType, detail=json.loads(item.detail),
                         campaignIds=list(item.campaignIds), occurredAt=item.occurredAt, parkedAt=item.parkedAt,
                         expiresAt=int(item.expiresAt), identities=list(item.identities or []))
