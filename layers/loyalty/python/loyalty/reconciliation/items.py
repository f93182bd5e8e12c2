"""The `reconciliation` table (owned by this capability): one item per business date, the run's
checkpoint while it runs and its report once done.

`RECON#<business date>` / `RUN`: `runId`, `status` (running, done), `phase` and `cursor` (where the
next page starts), `step` (moved by every checkpoint: a write is conditioned on the step it read, so
two invocations on one run never both advance it), `books` (the tallies, JSON text), `pages`,
`discrepancies`, `requestedBy`, `startedAt`, `updatedAt`, `finishedAt`. While it runs it is on the
sparse index gsi1 (`RUNNING` / business date), which the resume schedule reads.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.tables import ItemModel


class Running(GlobalSecondaryIndex["ReconciliationRun"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ReconciliationRun(ItemModel):
    table_setting = "reconciliation_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    businessDate = UnicodeAttribute()
    runId = UnicodeAttribute()
    status = UnicodeAttribute()
    phase = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    step = NumberAttribute()
    books = UnicodeAttribute()
    pages = NumberAttribute()
    discrepancies = NumberAttribute(null=True)
    requestedBy = UnicodeAttribute()
    startedAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    finishedAt = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    running = Running()

    @staticmethod
    def key_of(business_date: str) -> tuple[str, str]:
        return f"RECON#{business_date}", "RUN"
