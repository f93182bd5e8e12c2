"""The `checkout` table's items (PynamoDB). Owned by checkout.

  POLICY  / V#<000001>   PolicyVersionItem: a version of the stacking policy, kept for good: `pending`
                         until an approver other than its author approves it (`approved`), then
                         `superseded` when a later one is approved
  POLICY  / HEAD         PolicyHeadItem: the latest version written and the version in force
  SESSION#<id> / SESSION SessionItem: a checkout session, its order, what it took and its refunds;
                         gsi1 `OPEN` by when it lapses (only while locked: the sweep's),
                         gsi2 `CUST#<customer>` by when it was opened (the console's inspector)
  OUTBOX#<event id>      CheckoutOutbox: CheckoutConfirmed, CheckoutRefunded (published from the
                         stream; `expiresAt` is the table's TTL, so nothing else uses that name)
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel

POLICY = "POLICY"
HEAD = "HEAD"
OPEN = "OPEN"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


class CheckoutItem(ItemModel):
    table_setting = "checkout_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class PolicyVersionItem(CheckoutItem):
    version = NumberAttribute()
    policy = UnicodeAttribute()  # the StackingPolicy, as JSON
    status = UnicodeAttribute()  # pending | approved | superseded
    author = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    approvedBy = UnicodeAttribute(null=True)
    approvedAt = UnicodeAttribute(null=True)


class PolicyHeadItem(CheckoutItem):
    latest = NumberAttribute()  # the latest version written
    current = NumberAttribute(null=True)  # the version in force (none: the built-in default)


class OpenByLapse(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByCustomer(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class SessionItem(CheckoutItem):
    """A session. `version` conditions every change (1 when opened); `state` and `lapsesAt` are
    stored apart from the body so that a confirm can be conditioned on them."""

    open_by_lapse = OpenByLapse()
    by_customer = ByCustomer()

    sessionId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    state = UnicodeAttribute()  # locked | confirmed | partly_refunded | refunded | cancelled | lapsed
    lapsesAt = UnicodeAttribute()
    version = NumberAttribute()
    body = UnicodeAttribute()  # the rest of the session, as JSON (loyalty.checkout.sessions)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()

    @staticmethod
    def key_of(session_id: str) -> tuple[str, str]:
        return f"SESSION#{session_id}", "SESSION"


class CheckoutOutbox(OutboxItem):
    table_setting = "checkout_table"

    class Meta:
        table_name = None
