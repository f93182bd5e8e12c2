"""The scoring store on DynamoDB, continued: versioned configuration, what segments hold, managers'
books (`DynamoConfigStore`) and the nightly run's records (`DynamoRunStore`)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from loyalty.core.dynamo import GSI1_KEYS, TABLE_KEYS, checked_start, decode_cursor, is_condition_failure
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.core.tables import page
from loyalty.core.transactions import Refused, Transaction
from loyalty.scoring.items import (
    MANAGER_SHARDS,
    STATE_BUCKETS,
    FeatureStateItem,
    LatestRunItem,
    LeaseItem,
    ManagerEntryItem,
    MembershipItem,
    ModelInForceItem,
    ModelVersionItem,
    RunItem,
    ScanCheckpointItem,
    ScoringItem,
    SegmentCountItem,
    SegmentIdItem,
    SegmentInForceItem,
    SegmentVersionItem,
    run_pk,
    version_sk,
)
from loyalty.scoring.store import Kind

_IN_FORCE: dict[str, tuple[type[ModelInForceItem] | type[SegmentInForceItem], type[ModelVersionItem] | type[SegmentVersionItem]]] = {
    "MODEL": (ModelInForceItem, ModelVersionItem),
    "SEGMENT": (SegmentInForceItem, SegmentVersionItem),
}


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name not in ("pk", "sk")}


class DynamoConfigStore:
    # ---- versioned configuration: models and segments ---------------------------------------------

    def in_force(self, kind: Kind) -> list[dict[str, Any]]:
        pointer, _ = _IN_FORCE[kind]
        return [item.plain() for item in pointer.query(f"{kind}S", consistent_read=True)]

    def in_force_page(self, kind: Kind, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        pointer, _ = _IN_FORCE[kind]
        start = checked_start(decode_cursor(cursor), TABLE_KEYS, ("pk", f"{kind}S"))
        items, following = page(pointer.query(f"{kind}S", consistent_read=True, limit=limit, last_evaluated_key=start), limit)
        return [item.plain() for item in items], following

    def version(self, kind: Kind, name: str, version: int | None = None) -> dict[str, Any]:
        pointer, saved = _IN_FORCE[kind]
        model: type[ScoringItem] = pointer if version is None else saved
        key = (f"{kind}S", name) if version is None else (f"{kind}#{name}", version_sk(version))
        try:
            return model.get(*key, consistent_read=True).plain()
        except model.DoesNotExist:
            raise NotFound(f"{kind.lower()} {name}{'' if version is None else f' version {version}'} does not exist",
                           code=f"{kind}_NOT_FOUND") from None

    def save_version(self, kind: Kind, name: str, version: int, body: dict[str, Any]) -> None:
        pointer, saved = _IN_FORCE[kind]
        current = pointer(f"{kind}S", name, **body)
        if version > 1:
            current.version = version - 1  # VersionAttribute: moved only from the version before, to `version`
        transaction = Transaction()
        transaction.put("version", saved(f"{kind}#{name}", version_sk(version), version=version, **body), saved.pk.does_not_exist())
        transaction.put("in-force", current)
        try:
            transaction.commit()
        except Refused:
            raise Conflict(f"{kind.lower()} {name} changed meanwhile; read it and save again", code="VERSION_CONFLICT") from None

    def reserve_segment(self, segment_id: str, limit: int) -> None:
        """A re-scoring writes its membership changes in one transaction, so segments are limited; the
        limit is a conditional counter, and the id is taken once (both in one transaction)."""
        transaction = Transaction()
        transaction.update("segment-count", SegmentCountItem("SEGMENT-COUNT", "COUNT"), [SegmentCountItem.total.add(1)],
                           SegmentCountItem.total.does_not_exist() | (SegmentCountItem.total < limit))
        transaction.put("segment-id", SegmentIdItem("SEGMENT-ID", segment_id), SegmentIdItem.pk.does_not_exist())
        try:
            transaction.commit()
        except Refused as refused:
            if refused.failed("segment-count"):
                raise BusinessRuleViolation(f"at most {limit} segments", code="SEGMENT_LIMIT_REACHED") from None
            raise Conflict(f"segment {segment_id} already exists", code="SEGMENT_EXISTS") from None

    # ---- what segments hold -----------------------------------------------------------------------

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        partition = f"MEMBERS#{segment_id}"
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", partition))
        items, following = page(MembershipItem.members.query(partition, limit=limit, last_evaluated_key=start), limit)
        return [item.plain() for item in items], following

    def states_page(self, segment: int, total: int, cursor: dict[str, Any] | None, limit: int
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        bucket, key = (cursor["bucket"], cursor.get("key")) if cursor else (segment, None)
        records: list[dict[str, Any]] = []
        while True:
            results = FeatureStateItem.records(f"CUSTOMERS#{bucket}", index="gsi2", limit=limit - len(records), start=key or None)
            records += list(results)
            key = results.last_evaluated_key
            if key is None:
                bucket += total
                if bucket >= STATE_BUCKETS:
                    return records, None
            if len(records) >= limit:
                return records, {"bucket": bucket, "key": key}

    # ---- relationship managers' books -------------------------------------------------------------

    def manager_values(self, manager_id: str) -> list[float]:
        """The value scores of a manager's customers: a Query of their partition, O(their customers)."""
        return [float(item.value) for item in ManagerEntryItem.query(f"RM#{manager_id}", attributes_to_get=["value"])]

    def manager_books(self, limit: int, shard: int, after: str | None) -> tuple[dict[str, list[float]], tuple[int, str | None] | None]:
        """Shard by shard, in manager-id order within a shard. A manager's entries share one sort key,
        so `> after` skips exactly them."""
        books: dict[str, list[float]] = {}
        last_shard = shard
        while shard < MANAGER_SHARDS:
            condition = ManagerEntryItem.gsi1sk > after if after is not None else None
            for item in ManagerEntryItem.books.query(f"RMS#{shard}", condition, attributes_to_get=["managerId", "value"]):
                manager = str(item.managerId)
                if manager not in books and len(books) == limit:
                    return books, (shard, next(reversed(books)) if last_shard == shard else None)
                books.setdefault(manager, []).append(float(item.value))
                last_shard = shard
            shard, after = shard + 1, None
        return books, None


class DynamoRunStore:
    def run(self, run_id: str) -> dict[str, Any] | None:
        return _get(RunItem, run_pk(run_id), "RUN")

    def put_run(self, record: dict[str, Any]) -> None:
        RunItem(run_pk(record["runId"]), "RUN", **_fields(record)).save()

    def latest_run(self) -> dict[str, Any] | None:
        return _get(LatestRunItem, "RUNS", "LATEST")

    def put_latest_run(self, run_id: str, customers: int) -> None:
        LatestRunItem("RUNS", "LATEST", runId=run_id, customers=customers).save()

    def checkpoint(self, run_id: str, segment: int) -> dict[str, Any] | None:
        return _get(ScanCheckpointItem, run_pk(run_id), f"SCAN#{segment}")

    def put_checkpoint(self, run_id: str, record: dict[str, Any]) -> None:
        ScanCheckpointItem(run_pk(run_id), f"SCAN#{record['segment']}", **_fields(record)).save()

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]:
        found = ScanCheckpointItem.query(run_pk(run_id), ScanCheckpointItem.sk.startswith("SCAN#"), consistent_read=True)
        return [item.plain() for item in found]

    def claim(self, run_id: str, until: str, now: str) -> bool:
        try:
            LeaseItem(run_pk(run_id), "LEASE", leaseUntil=until).save(LeaseItem.pk.does_not_exist() | (LeaseItem.leaseUntil < now))
        except PutError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def release(self, run_id: str) -> None:
        LeaseItem(run_pk(run_id), "LEASE").delete()


def _get(model: type[ScoringItem], pk: str, sk: str) -> dict[str, Any] | None:
    try:
        return model.get(pk, sk, consistent_read=True).plain()
    except model.DoesNotExist:
        return None
