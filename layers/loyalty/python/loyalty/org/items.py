"""The `org` table's items as PynamoDB models. Owned by the org capability: other capabilities reach it
only through `loyalty.org.ports`.

  UNIT#<unit>      / UNIT          UnitItem: the unit as it now is (`revision`: every write is conditioned on it);
                                   gsi1: TREE / <path>/ (a subtree is a prefix: the whole tree in depth-first order);
                                   gsi2: PARENT#<parent> / <unit> (a unit's children; not the head office)
  UNIT#<unit>      / V#<000001>    UnitVersionItem: every version of the unit, kept for good
  BRANCH#<code>    / BRANCH        BranchCodeItem: the unit core banking's branch id maps to (one unit per code)
  ROOT             / ROOT          RootItem: the head office's id (there is one)
  UNIT#<unit>      / POOL#<period>#<measure>
                                   PoolItem: the unit's budget pool for a fiscal period (`2026`, `2026-Q4`) in a
                                   measure (a currency's minor units, `CNY`, or reward units, `rewards`);
                                   `terms` moves on every change of its allocation, onward allocation or plan
                                   (every draw and allocation is conditioned on it), never on a draw

Stored names are camelCase and the same as the Python names. Each prefix holds one item shape.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.tables import ItemModel, text_list
from loyalty.org.model import OrgUnit, VersionRecord, path_key

TREE = "TREE"


def unit_pk(unit_id: str) -> str:
    return f"UNIT#{unit_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


def branch_pk(code: str) -> str:
    return f"BRANCH#{code}"


class OrgItem(ItemModel):
    table_setting = "org_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class Tree(GlobalSecondaryIndex["UnitItem"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Children(GlobalSecondaryIndex["UnitItem"]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class UnitItem(OrgItem):
    unitId = UnicodeAttribute()
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    parentId = UnicodeAttribute(null=True)
    path = text_list()
    status = UnicodeAttribute()
    branchCode = UnicodeAttribute(null=True)
    version = NumberAttribute()
    revision = NumberAttribute()
    openChildren = NumberAttribute()
    children = NumberAttribute()
    createdAt = UnicodeAttribute()
    createdBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    updatedBy = UnicodeAttribute()
    closedAt = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    tree = Tree()
    by_parent = Children()

    @classmethod
    def of(cls, unit: OrgUnit) -> UnitItem:
        fields: dict[str, Any] = {name: getattr(unit, name) for name in OrgUnit.__dataclass_fields__ if name != "path"}
        parent: dict[str, Any] = {"gsi2pk": f"PARENT#{unit.parentId}", "gsi2sk": unit.unitId} if unit.parentId is not None else {}
        return cls(unit_pk(unit.unitId), "UNIT", path=list(unit.path), gsi1pk=TREE, gsi1sk=path_key(unit.path), **parent, **fields)

    def unit(self) -> OrgUnit:
        values = self.plain()
        fields: dict[str, Any] = {name: values.get(name) for name in OrgUnit.__dataclass_fields__ if name != "path"}
        return OrgUnit(**fields, path=tuple(values["path"]))


class UnitVersionItem(OrgItem):
    unitId = UnicodeAttribute()
    version = NumberAttribute()
    action = UnicodeAttribute()
    kind = UnicodeAttribute()
    name = UnicodeAttribute()
    parentId = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    branchCode = UnicodeAttribute(null=True)
    savedBy = UnicodeAttribute()
    savedAt = UnicodeAttribute()
    note = UnicodeAttribute(null=True)

    @classmethod
    def of(cls, record: VersionRecord) -> UnitVersionItem:
        return cls(unit_pk(record.unitId), version_sk(record.version), **record.__dict__)

    def record(self) -> VersionRecord:
        values = self.plain()
        fields: dict[str, Any] = {name: values.get(name) for name in VersionRecord.__dataclass_fields__}
        return VersionRecord(**fields)


class BranchCodeItem(OrgItem):
    unitId = UnicodeAttribute()


class RootItem(OrgItem):
    unitId = UnicodeAttribute()


def pool_sk(period: str, measure: str) -> str:
    return f"POOL#{period}#{measure}"


class PoolItem(OrgItem):
    unitId = UnicodeAttribute()
    period = UnicodeAttribute()
    measure = UnicodeAttribute()
    allocation = NumberAttribute()
    onward = NumberAttribute()
    spent = NumberAttribute()
    terms = NumberAttribute()
    plan = UnicodeAttribute(null=True)  # JSON of loyalty.org.pacing.Plan
    createdAt = UnicodeAttribute(null=True)
    createdBy = UnicodeAttribute(null=True)
    updatedAt = UnicodeAttribute(null=True)
    updatedBy = UnicodeAttribute(null=True)
    alertedAhead = UnicodeAttribute(null=True)  # the business date BudgetPacingAlert last said so
    alertedBehind = UnicodeAttribute(null=True)
