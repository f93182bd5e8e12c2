"""The `scoring` table's items as PynamoDB models. Owned by the scoring capability: other capabilities
reach it only through `loyalty.scoring.ports` (and privacy through `loyalty.scoring.privacy`).

  CUST#<customer>    / STATE           FeatureStateItem: features, version, what the last scoring found;
                                       gsi2: CUSTOMERS#<bucket 0-15> / <customer>
  CUST#<customer>    / EVT#<event id>  EventMarkerItem: a source event applied (TTL 35 days)
  CUST#<customer>    / SEG#<segment>   MembershipItem (gsi1: MEMBERS#<segment> / <customer>)
  CUST#<customer>    / PARKED#<event>  ParkedEventItem: an event that came before the profile (parking.py),
                                       TTL; gsi1: PARKED#<bucket 0-15> / <parkedAt>#<customer>#<event>
  MODELS             / <model>         ModelInForceItem: the version in force, with its configuration
  MODEL#<model>      / V#<000001>      ModelVersionItem: every version saved
  SEGMENTS           / <segment>       SegmentInForceItem, and SEGMENT#<segment> / V#<000001> SegmentVersionItem
  SEGMENT-COUNT      / COUNT           SegmentCountItem; SEGMENT-ID / <segment>: SegmentIdItem (creation guards)
  RUN#<run id>       / RUN             RunItem; / SCAN#<n> ScanCheckpointItem; / LEASE LeaseItem
  RUNS               / LATEST          LatestRunItem
  IDENT#<keyed hash> / CUST#<customer> IdentityItem (identities.py)
  RM#<manager>       / CUST#<customer> ManagerEntryItem (gsi1: RMS#<shard 0-15> / <manager>)
  OUTBOX#<event id>  / OUTBOX          ScoringOutboxItem (loyalty.core.outbox)

Stored names are camelCase and the Python names are the stored ones, but for `SegmentCountItem.total`
(stored `count`: the name of PynamoDB's `Model.count`). Each prefix holds one item shape, so no
discriminator is needed. The raw maps (`scores`, `facts`, `modelVersions`, `identities`) are open by
design: their keys are model and score names, keyed hashes, or the profile facts a rule reads.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.pagination import ResultIterator

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel, text_list

MARKER_TTL_SECONDS = 35 * 86400  # longer than any SQS retention (14 days) plus a replay window
# STATE items are also indexed in 16 buckets (by a hash of the customer id): the nightly run and the
# estimate read customers only, never the markers, memberships and outbox items a table scan would.
# 16 index partitions take ~16,000 STATE writes a second, far above the events a bank sends.
STATE_BUCKETS = 16
# The list of every manager's book reads gsi1 partitions RMS#<shard>, sorted by manager id: spread
# over 16 so the nightly run's writes do not all land on one index partition.
MANAGER_SHARDS = 16
# A customer's parked events (parking.py): sort keys `PARKED#<occurrence>` beside STATE, so a PIPL
# export or erasure of the customer's partition includes them; gsi1 `PARKED#<bucket>` for the sweep.
PARKED_PREFIX = "PARKED#"


def _shard(text: str, shards: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % shards


def state_bucket(customer_id: str) -> int:
    return _shard(customer_id, STATE_BUCKETS)


def manager_shard(manager_id: str) -> int:
    return _shard(manager_id, MANAGER_SHARDS)


def customer_pk(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def state_key(customer_id: str) -> dict[str, str]:
    return {"pk": customer_pk(customer_id), "sk": "STATE"}


def manager_key(manager_id: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"RM#{manager_id}", "sk": customer_pk(customer_id)}


def identity_key(keyed: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"IDENT#{keyed}", "sk": customer_pk(customer_id)}


def parked_key(customer_id: str, occurrence: str) -> dict[str, str]:
    return {"pk": customer_pk(customer_id), "sk": f"{PARKED_PREFIX}{occurrence}"}


def run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


class ScoringItem(ItemModel):
    """The scoring table's base model: every item has the pk/sk key."""

    table_setting = "scoring_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    # The STATE records are read once per event and twice per customer a night: straight from
    # DynamoDB's answer (the `plain()` record), because making model instances first costs ten
    # times as much (PynamoDB's reading of the raw maps: ~0.4 ms a STATE item).

    @classmethod
    def record(cls, pk: str, sk: str) -> dict[str, Any] | None:
        """`get(pk, sk, consistent_read=True).plain()`, or None."""
        from loyalty.core.dynamo import from_item

        found = cls._get_connection().get_item(pk, range_key=sk, consistent_read=True).get("Item")
        return from_item(found) if found else None

    @classmethod
    def records(cls, hash_key: str, *, index: str | None = None, limit: int | None = None,
                start: dict[str, Any] | None = None) -> ResultIterator[dict[str, Any]]:
        """`query(...)` of the table or an index, yielding `plain()` records; `last_evaluated_key` as a query's."""
        from loyalty.core.dynamo import from_item

        kwargs = {"index_name": index, "limit": limit, "exclusive_start_key": start}
        return ResultIterator(cls._get_connection().query, (hash_key,), kwargs, map_fn=from_item, limit=limit)


# ---- a customer's items ---------------------------------------------------------------------------


class StateBucketIndex(GlobalSecondaryIndex["FeatureStateItem"]):
    """gsi2: the STATE items of one bucket, by customer id (the nightly run and the estimate)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)  # CUSTOMERS#<bucket>
    gsi2sk = UnicodeAttribute(range_key=True)  # the customer id


class FeatureStateItem(ScoringItem):
    """A customer's features (FeatureState JSON) and what their last scoring found. `version` orders
    the writes: each re-scoring is conditioned on the version it read and moves it by one
    (PynamoDB's VersionAttribute states exactly that condition: `version = <read>`, or no version yet
    for a customer never scored, and adds one)."""

    customerId = UnicodeAttribute(null=True)
    version = VersionAttribute()
    features = UnicodeAttribute(null=True)
    scores = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: score name to number
    stage = UnicodeAttribute(null=True)
    gated = BooleanAttribute(null=True)
    segments = text_list(null=True)
    modelVersions = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: model name to version
    facts = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: the profile facts scored with
    scoredAt = UnicodeAttribute(null=True)
    asOf = UnicodeAttribute(null=True)
    sharedAccounts = NumberAttribute(null=True)
    identities = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: keyed hash to kind
    phoneAsOf = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    buckets = StateBucketIndex()

    @classmethod
    def of(cls, customer_id: str, version: int = 0, **attributes: Any) -> FeatureStateItem:
        """The item of `customer_id` as read at `version` (0: never written), with its bucket."""
        item = cls(customer_pk(customer_id), "STATE", customerId=customer_id, gsi2pk=f"CUSTOMERS#{state_bucket(customer_id)}",
                   gsi2sk=customer_id, **attributes)
        if version:
            item.version = version
        return item


class EventMarkerItem(ScoringItem):
    """A source event applied to the customer: written once, in the re-scoring's transaction."""

    expiresAt = NumberAttribute()  # the table's TTL


class MembersIndex(GlobalSecondaryIndex["MembershipItem"]):
    """gsi1: a segment's members, by customer id."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)  # MEMBERS#<segment>
    gsi1sk = UnicodeAttribute(range_key=True)  # the customer id


class MembershipItem(ScoringItem):
    customerId = UnicodeAttribute()
    segmentId = UnicodeAttribute()
    since = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    members = MembersIndex()

    @classmethod
    def key(cls, customer_id: str, segment_id: str) -> MembershipItem:
        return cls(customer_pk(customer_id), f"SEG#{segment_id}")

    @classmethod
    def of(cls, customer_id: str, segment_id: str, since: str) -> MembershipItem:
        return cls(customer_pk(customer_id), f"SEG#{segment_id}", customerId=customer_id, segmentId=segment_id, since=since,
                   gsi1pk=f"MEMBERS#{segment_id}", gsi1sk=customer_id)


class ParkedSinceIndex(GlobalSecondaryIndex["ParkedEventItem"]):
    """gsi1: the parked events of one bucket (a hash of the customer id, as STATE's), oldest parked
    first: the sweep reads those parked before a time, never the customers' other items."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)  # PARKED#<bucket>
    gsi1sk = UnicodeAttribute(range_key=True)  # <parkedAt>#<customer>#<occurrence>


class ParkedEventItem(ScoringItem):
    """An event for a customer whose profile had not arrived (`CUST#<customer>` / `PARKED#<occurrence>`):
    what scoring reads of it, the bank's device and phone hashes keyed (never as received), until the
    profile arrives and it is applied, or its TTL. One item per occurrence: parking again writes nothing."""

    customerId = UnicodeAttribute()
    occurrence = UnicodeAttribute()
    detailType = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON: the fields scoring reads, without the raw hashes
    identities = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: keyed hash to kind
    occurredAt = UnicodeAttribute()  # the event's own time: the order parked events are applied in
    sentAt = UnicodeAttribute(null=True)  # the envelope's time (the business date of an event without its own)
    parkedAt = UnicodeAttribute()
    expiresAt = NumberAttribute()  # the table's TTL, later than the sweep reports it
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    since = ParkedSinceIndex()


# ---- versioned configuration: score models and segments -------------------------------------------


class ModelVersionItem(ScoringItem):
    """One saved version of a score model (`MODEL#<model>` / `V#<000001>`)."""

    version = NumberAttribute()
    config = UnicodeAttribute()  # the configuration, as JSON text
    updatedBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class ModelInForceItem(ScoringItem):
    """The version of a score model in force (`MODELS` / `<model>`), with its configuration. Moved
    only from the version before (VersionAttribute: `version = <before>`, or none yet)."""

    version = VersionAttribute()
    config = UnicodeAttribute()
    updatedBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class SegmentVersionItem(ScoringItem):
    """One saved version of a segment (`SEGMENT#<segment>` / `V#<000001>`)."""

    version = NumberAttribute()
    definition = UnicodeAttribute()  # the SegmentDefinition, as JSON text
    updatedBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class SegmentInForceItem(ScoringItem):
    """The current version of a segment (`SEGMENTS` / `<segment>`), moved as a model's is."""

    version = VersionAttribute()
    definition = UnicodeAttribute()
    updatedBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class SegmentCountItem(ScoringItem):
    """How many segments were created (`SEGMENT-COUNT` / `COUNT`): a bounded counter."""

    total = NumberAttribute(null=True, attr_name="count")


class SegmentIdItem(ScoringItem):
    """A segment id taken (`SEGMENT-ID` / `<segment>`): an id is created once."""


# ---- the nightly run --------------------------------------------------------------------------------


class RunItem(ScoringItem):
    """A nightly run (`RUN#<run>` / `RUN`); the run id is its business date."""

    runId = UnicodeAttribute()
    asOf = UnicodeAttribute()
    status = UnicodeAttribute()  # cuts, rescoring, done, superseded
    totalSegments = NumberAttribute()
    startedAt = UnicodeAttribute()
    customers = NumberAttribute(null=True)
    rfmVersion = NumberAttribute(null=True)
    cutPoints = UnicodeAttribute(null=True)  # the RFM configuration it scored with, as JSON text
    finishedAt = UnicodeAttribute(null=True)
    supersededBy = UnicodeAttribute(null=True)


class ScanCheckpointItem(ScoringItem):
    """Where a scan segment of a run got to (`RUN#<run>` / `SCAN#<n>`)."""

    segment = NumberAttribute()
    done = BooleanAttribute()
    scanned = NumberAttribute()
    written = NumberAttribute()
    skipped = NumberAttribute()
    unchanged = NumberAttribute(null=True)
    lastKey = UnicodeAttribute(null=True)  # JSON: the bucket and the index key to go on from


class LeaseItem(ScoringItem):
    """The invocation working on a run, until when (`RUN#<run>` / `LEASE`)."""

    leaseUntil = UnicodeAttribute()


class LatestRunItem(ScoringItem):
    """The latest run (`RUNS` / `LATEST`), and the customers it saw (the estimate scales to them)."""

    runId = UnicodeAttribute()
    customers = NumberAttribute(null=True)


# ---- the indexes the re-scorings keep -------------------------------------------------------------


class IdentityItem(ScoringItem):
    """A customer seen with a device or phone hash, keyed (`IDENT#<keyed hash>` / `CUST#<customer>`)."""

    customerId = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # device, phone
    firstSeenAt = UnicodeAttribute(null=True)

    @classmethod
    def of(cls, keyed: str, customer_id: str) -> IdentityItem:
        key = identity_key(keyed, customer_id)
        return cls(key["pk"], key["sk"])


class ManagerBooksIndex(GlobalSecondaryIndex["ManagerEntryItem"]):
    """gsi1: every manager's entries in one of 16 shards, by manager id."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)  # RMS#<shard>
    gsi1sk = UnicodeAttribute(range_key=True)  # the manager id


class ManagerEntryItem(ScoringItem):
    """A relationship manager's customer with their value score (`RM#<manager>` / `CUST#<customer>`)."""

    customerId = UnicodeAttribute(null=True)
    managerId = UnicodeAttribute(null=True)
    value = NumberAttribute(null=True)
    scoredAt = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    books = ManagerBooksIndex()

    @classmethod
    def of(cls, manager_id: str, customer_id: str, **attributes: Any) -> ManagerEntryItem:
        key = manager_key(manager_id, customer_id)
        return cls(key["pk"], key["sk"], **attributes)


class ScoringOutboxItem(OutboxItem):
    """ScoreChanged, SegmentEntered and SegmentLeft waiting for the stream publisher."""

    table_setting = "scoring_table"

    class Meta:
        table_name = None
