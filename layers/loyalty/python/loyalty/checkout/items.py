"""The `checkout` table's items (PynamoDB). Owned by checkout.

  POLICY  / V#<000001>   PolicyVersionItem: a version of the stacking policy, kept for good: `pending`
                         until an approver other than its author approves it (`approved`), then
                         `superseded` when a later one is approved
  POLICY  / HEAD         PolicyHeadItem: the latest version written and the version in force
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from loyalty.core.tables import ItemModel

POLICY = "POLICY"
HEAD = "HEAD"


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
