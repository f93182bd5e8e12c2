"""The scoring store on DynamoDB, continued: events parked until their customer's profile arrives
(`parking.py`), as `items.ParkedEventItem` under the customer's own partition."""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import PutError

from loyalty.core.dynamo import is_condition_failure
from loyalty.core.parking import bucket, index_sort_key, to_json
from loyalty.scoring.items import PARKED_PREFIX, ParkedEventItem, customer_pk, parked_key
from loyalty.scoring.parking import ParkedEvent


def parked_partition(bucket: int) -> str:
    return f"{PARKED_PREFIX}{bucket}"


class DynamoParkingStore:
    def park(self, event: ParkedEvent) -> bool:
        key = parked_key(event.customerId, event.occurrence)
        item = ParkedEventItem(
            key["pk"], key["sk"], customerId=event.customerId, occurrence=event.occurrence, detailType=event.detailType,
            detail=to_json(event.detail), identities=event.identities or None, occurredAt=event.occurredAt, sentAt=event.sentAt,
            parkedAt=event.parkedAt, expiresAt=event.expiresAt, gsi1pk=parked_partition(bucket(event.customerId)),
            gsi1sk=index_sort_key(event),
        )
        try:
            # Once per occurrence: a redelivery (or the same event re-published) keeps the first
            # parking's time, so the sweep's clock is not reset by retries.
            item.save(ParkedEventItem.pk.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def parked(self, customer_id: str) -> list[ParkedEvent]:
        found = ParkedEventItem.query(customer_pk(customer_id), ParkedEventItem.sk.startswith(PARKED_PREFIX), consistent_read=True)
        return [parked_event_of(item) for item in found]

    def unpark(self, customer_id: str, occurrence: str) -> None:
        key = parked_key(customer_id, occurrence)
        ParkedEventItem(key["pk"], key["sk"]).delete()

    def parked_before(self, bucket: int, before: str, limit: int, cursor: dict[str, Any] | None
                      ) -> tuple[list[ParkedEvent], dict[str, Any] | None]:
        results = ParkedEventItem.since.query(parked_partition(bucket), ParkedEventItem.gsi1sk < before, limit=limit,
                                              last_evaluated_key=cursor)
        events = [parked_event_of(item) for _, item in zip(range(limit), results, strict=False)]
        return events, results.last_evaluated_key


def parked_event_of(item: ParkedEventItem) -> ParkedEvent:
    return ParkedEvent(
        customerId=item.customerId, occurrence=item.occurrence, detailType=item.detailType, detail=json.loads(item.detail),
        occurredAt=item.occurredAt, parkedAt=item.parkedAt, expiresAt=int(item.expiresAt), sentAt=item.sentAt,
        identities=item.identities.as_dict() if item.identities is not None else {},
    )
