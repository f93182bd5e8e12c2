"""The `points` table's items as PynamoDB models. Owned by the points capability: other capabilities
reach it only through `loyalty.points.ports`.

  ACCT#<customer>    / BALANCE                  BalanceItem: available, debt, growth, version, growth@<month>
  ACCT#<customer>    / LOT#<lot id>             LotItem (gsi2: LOTEXP#<bucket>, by expiry date)
  ACCT#<customer>    / CAP#<key>                CapItem: a rule's cap or a velocity counter (TTL)
  LEDGER#<customer>  / ENTRY#<entry id>         EntryItem, immutable (gsi1: HIST#<customer>, time order)
  RULES              / <rule id>                RuleItem, the current version of an earn rule
  RULE#<rule id>     / V#<version>              RuleItem, every version ever saved
  TIERS              / CURRENT | V#<version>    LadderItem
  RISK               / CURRENT                  RiskSettingsItem
  CATALOGUE          / <item id>                CatalogueRecord
  REDEMPTION#<id>    / REDEMPTION               RedemptionItem (gsi2: HOLDS while a mall hold is open)
  RISKHOLD#<id>      / RISKHOLD                 RiskHoldItem (gsi2: RISKHOLDS while pending; gsi1: RISKHOLDS#<customer>)
  OUTBOX#<event id>  / OUTBOX                   PointsOutboxItem

Item types are told apart by their keys. Python attribute names are the stored names (camelCase),
except where PynamoDB's own names are taken (`count`) or today's items are snake_case (a risk
hold's planned earnings): there `attr_name` keeps the stored name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel

BALANCE = "BALANCE"
GROWTH_MONTH_PREFIX = "growth@"
LOT_INDEX_BUCKETS = 16
HOLDS_INDEX_KEY = "HOLDS"
RISK_INDEX_KEY = "RISKHOLDS"


def account_pk(customer_id: str) -> str:
    return f"ACCT#{customer_id}"


def ledger_pk(customer_id: str) -> str:
    return f"LEDGER#{customer_id}"


def lot_index_keys(customer_id: str, lot_id: str, expires_on: str) -> dict[str, str]:
    """gsi2 keys of a lot: 16 buckets by customer, sorted by expiry date, so one range query per
    bucket finds every lapsed lot, however old, and no index key gets hot."""
    bucket = int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % LOT_INDEX_BUCKETS
    return {"gsi2pk": f"LOTEXP#{bucket}", "gsi2sk": f"{expires_on}#{customer_id}#{lot_id}"}


class Gsi1(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex[Any]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class PointsItem(ItemModel):
    """The table's base model. Queried itself (an account's partition), it answers each item as the
    model its keys name."""

    table_setting = "points_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> Any:
        if cls is PointsItem:
            model = _model_of(data.get("pk", {}).get("S", ""), data.get("sk", {}).get("S", ""))
            if model is not PointsItem:
                return model.from_raw_data(data)
        return super().from_raw_data(data)


# ---- the account: balance, lots, caps ----------------------------------------------------------------


class BalanceItem(PointsItem):
    """The account. `version` conditions every ledger write (PynamoDB's VersionAttribute: a write at
    version v requires `version = v` and adds 1; the first requires no version yet and sets 1)."""

    customerId = UnicodeAttribute(null=True)
    available = NumberAttribute(null=True)
    debt = NumberAttribute(null=True)
    growth = NumberAttribute(null=True)
    held = NumberAttribute(null=True)  # spent on redemptions not settled yet
    pending = NumberAttribute(null=True)  # held back by the risk warning
    version = VersionAttribute(null=True)
    tier = UnicodeAttribute(null=True)
    tierSince = UnicodeAttribute(null=True)
    downgradeDueOn = UnicodeAttribute(null=True)
    benefitsMonth = UnicodeAttribute(null=True)
    erased = BooleanAttribute(null=True)
    erasedAt = UnicodeAttribute(null=True)
    # Growth earned per business month is one attribute per month (`growth@YYYY-MM`), so a write
    # adds to its month without reading the others: not declarable, read here, written by path.
    growthByMonth: Mapping[str, int] = MappingProxyType({})

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> Any:
        item = super().from_raw_data(data)
        item.growthByMonth = {name.removeprefix(GROWTH_MONTH_PREFIX): int(value["N"]) for name, value in data.items()
                              if name.startswith(GROWTH_MONTH_PREFIX)}
        return item

    def plain(self) -> dict[str, Any]:
        return {**super().plain(), **{f"{GROWTH_MONTH_PREFIX}{month}": points for month, points in self.growthByMonth.items()}}

    @classmethod
    def key(cls, customer_id: str) -> BalanceItem:
        return cls(account_pk(customer_id), BALANCE)


class LotItem(PointsItem):
    byExpiry = Gsi2()

    lotId = UnicodeAttribute()
    expiresOn = UnicodeAttribute()  # business date, YYYY-MM-DD
    remaining = NumberAttribute()
    costCentre = UnicodeAttribute()
    ruleId = UnicodeAttribute(null=True)
    customerId = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()


class CapItem(PointsItem):
    """Points a rule awarded in a day or month (`CAP#<rule>#D#<day>`), or a velocity counter."""

    total = NumberAttribute(null=True, attr_name="count")  # `count` is PynamoDB's Model.count
    expiresAt = NumberAttribute(null=True)  # the table's TTL


# ---- the ledger ---------------------------------------------------------------------------------------


class EntryItem(PointsItem):
    """An immutable ledger entry; `source` and `lots` are JSON text, as written since the start."""

    history = Gsi1()

    entryId = UnicodeAttribute()
    kind = UnicodeAttribute()
    points = NumberAttribute()
    growth = NumberAttribute()
    debtChange = NumberAttribute()
    at = UnicodeAttribute()
    costCentre = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    lots = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


# ---- operator configuration ---------------------------------------------------------------------------


class RuleItem(PointsItem):
    """An earn rule's version (`RULE#<id>` / `V#<version>`) or its current pointer (`RULES` / <id>)."""

    definition = UnicodeAttribute()  # the RuleDefinition as JSON
    version = NumberAttribute()
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()


class LadderItem(PointsItem):
    """The member levels: a version (`TIERS` / `V#<version>`) or the one in force (`TIERS` / `CURRENT`)."""

    ladder = UnicodeAttribute()  # the TierLadder as JSON
    version = NumberAttribute()
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()


class RiskSettingsItem(PointsItem):
    settings = UnicodeAttribute()  # the RiskSettings as JSON
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()


class CatalogueRecord(PointsItem):
    item = UnicodeAttribute()  # the CatalogueItem as JSON
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()


# ---- redemptions and risk holds -------------------------------------------------------------------------


class RedemptionItem(PointsItem):
    holds = Gsi2()  # open mall holds, by when they lapse

    redemptionId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    itemId = UnicodeAttribute()
    kind = UnicodeAttribute()
    points = NumberAttribute()
    cashMinor = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    templateId = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    lots = ListAttribute(null=True)  # type: ignore[var-annotated]  # [lot id, points taken] pairs
    holdExpiresAt = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    settledAt = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    paymentId = UnicodeAttribute(null=True)

    @classmethod
    def key(cls, redemption_id: str, **attributes: Any) -> RedemptionItem:
        return cls(f"REDEMPTION#{redemption_id}", "REDEMPTION", **attributes)


class PlannedEarning(MapAttribute[str, Any]):
    """One earning a risk hold books on release; stored snake_case since the first hold."""

    entryId = UnicodeAttribute(attr_name="entry_id")
    points = NumberAttribute()
    growth = BooleanAttribute()
    expiresOn = UnicodeAttribute(attr_name="expires_on")
    costCentre = UnicodeAttribute(attr_name="cost_centre")
    source = MapAttribute()  # type: ignore[var-annotated]  # raw: the entry's source


class RiskHoldItem(PointsItem):
    awaiting = Gsi2()  # RISKHOLDS while waiting for an operator
    byCustomer = Gsi1()  # every hold of a customer, decided or not

    holdId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    status = UnicodeAttribute()
    heldAt = UnicodeAttribute()
    points = NumberAttribute()
    growth = NumberAttribute()
    planned = ListAttribute(of=PlannedEarning)
    reason = UnicodeAttribute(null=True)
    observed = NumberAttribute(null=True)
    limit = NumberAttribute(null=True)
    eventType = UnicodeAttribute(null=True)
    sourceEventId = UnicodeAttribute(null=True)
    earnedOn = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    decidedBy = UnicodeAttribute(null=True)
    decidedAt = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)

    @classmethod
    def key(cls, hold_id: str, **attributes: Any) -> RiskHoldItem:
        return cls(f"RISKHOLD#{hold_id}", "RISKHOLD", **attributes)


def customer_holds_key(customer_id: str) -> str:
    return f"RISKHOLDS#{customer_id}"


class PointsOutboxItem(OutboxItem):
    table_setting = "points_table"

    class Meta:
        table_name = None


def _model_of(pk: str, sk: str) -> type[PointsItem]:
    if pk.startswith("ACCT#"):
        return BalanceItem if sk == BALANCE else LotItem if sk.startswith("LOT#") else CapItem if sk.startswith("CAP#") else PointsItem
    return EntryItem if pk.startswith("LEDGER#") else PointsItem
