"""The `notifications` table's items (PynamoDB). Owned by notifications.

  DELIVERY#<notification id> / DELIVERY   DeliveryItem: one message and what became of it; on gsi1
                                          `DUE` by when the sweep should look at it, while deferred
                                          (when due) or sending (a safety net for a send that died)
  FREQ#<customer> / D#<business day>      FrequencyItem: messages sent that day (expires)
  FREQ#<customer> / W#<ISO week>          FrequencyItem: messages sent that week (expires)
  OUTBOX#<event id>                       NotificationsOutbox: NotificationDelivered, NotificationFailed
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel

DUE = "DUE"


class NotificationsTable(ItemModel):
    table_setting = "notifications_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Due(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class DeliveryItem(NotificationsTable):
    due = Due()

    notificationId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    channel = UnicodeAttribute()
    kind = UnicodeAttribute()
    request = UnicodeAttribute()  # the DeliveryRequest, as JSON
    state = UnicodeAttribute()  # deferred | sending | delivered | failed
    attempts = NumberAttribute(default=0)
    createdAt = UnicodeAttribute()
    dueAt = UnicodeAttribute(null=True)
    finishedAt = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)  # NO_CONSENT, FREQUENCY_CAPPED, PROVIDER_REFUSED, PROVIDER_UNAVAILABLE
    providerCode = UnicodeAttribute(null=True)
    providerMessageId = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)

    @staticmethod
    def key_of(notification_id: str) -> tuple[str, str]:
        return f"DELIVERY#{notification_id}", "DELIVERY"


class FrequencyItem(NotificationsTable):
    sent = NumberAttribute(default=0)
    expiresAt = NumberAttribute()


class NotificationsOutbox(OutboxItem):
    table_setting = "notifications_table"

    class Meta:
        table_name = None
