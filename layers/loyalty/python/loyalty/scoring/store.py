"""The `scoring` table, and scoring's writes to the customer profile.

  CUST#<customer>   / STATE            features (FeatureState JSON), version, scores, stage, gated,
                                       segments, modelVersions, facts (the profile facts scored with);
                                       gsi2: CUSTOMERS#<bucket 0-15> / <customer>
  CUST#<customer>   / EVT#<event id>   a source event applied: the idempotency marker (TTL 35 days)
  CUST#<customer>   / SEG#<segment>    a membership (gsi1: MEMBERS#<segment> / <customer>)
  MODELS            / <model>          the version of a model in force, with its configuration
  MODEL#<model>     / V#<000001>       every version saved
  SEGMENTS          / <segment>        the current version of a segment
  SEGMENT#<segment> / V#<000001>       every version saved
  RUN#<run id>      / RUN | SCAN#<n>   a nightly run; each scan segment's checkpoint
  RUNS              / LATEST           the latest run's id
  OUTBOX#<event id> / OUTBOX           events to publish (loyalty.core.outbox)
  IDENT#<keyed hash> / CUST#<customer> a customer seen with a device or phone hash (identities.py)
  RM#<manager>      / CUST#<customer>  a relationship manager's customer, with their latest value score

A re-scoring is one transaction: the marker (refused if the event was applied), the state (refused
unless still at the version read), the profile (refused unless the customer exists), the membership
changes, the identity and relationship-manager index items, and the outbox events. Which condition
refused it says what happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from loyalty.core.dynamo import GSI1_KEYS, checked_start, from_item, is_condition_failure, to_item, to_value
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent, outbox_put

MARKER_TTL_SECONDS = 35 * 86400  # longer than any SQS retention (14 days) plus a replay window
# STATE items are also indexed in 16 buckets (by a hash of the customer id): the nightly run and the
# estimate read customers only, never the markers, memberships and outbox items a table scan would.
# 16 index partitions take ~16,000 STATE writes a second, far above the events a bank sends.
STATE_BUCKETS = 16


def state_bucket(customer_id: str) -> int:
    import hashlib

    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % STATE_BUCKETS


class AlreadyApplied(Exception):
    """The source event's marker exists: this event was scored before."""


class StaleState(Exception):
    """The state changed between the read and the write; read again."""


class UnknownCustomer(Exception):
    """No profile in the customers table yet."""


def state_key(customer_id: str) -> dict[str, str]:
    return {"pk": f"CUST#{customer_id}", "sk": "STATE"}


def manager_key(manager_id: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"RM#{manager_id}", "sk": f"CUST#{customer_id}"}


# The list of every manager's book reads gsi1 partitions RMS#<shard>, sorted by manager id: spread
# over 16 so the nightly run's writes do not all land on one index partition.
MANAGER_SHARDS = 16


def manager_shard(manager_id: str) -> int:
    import hashlib

    return int(hashlib.sha256(manager_id.encode()).hexdigest()[:8], 16) % MANAGER_SHARDS


def dynamo_numbers(value: Any) -> Any:
    """boto3 refuses floats: scores with decimals are stored as exact Decimals of their rounded text."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: dynamo_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dynamo_numbers(v) for v in value]
    return value


def version_condition(version: int) -> dict[str, Any]:
    if version == 0:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {"ConditionExpression": "version = :seen", "ExpressionAttributeValues": {":seen": to_value(version)}}


class DynamoScoringStore:
    def __init__(self, table: str, customers_table: str, client: Any):
        self.table, self.customers_table, self.client = table, customers_table, client

    # ---- reads ------------------------------------------------------------------------------------

    def get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.customers_table, Key={"customerId": to_value(customer_id)}, ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def profiles(self, customer_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Many profiles (BatchGetItem, 100 a call), by customer id; unknown ones are absent."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(customer_ids), 100):
            keys = [{"customerId": to_value(c)} for c in dict.fromkeys(customer_ids[start : start + 100])]
            request: dict[str, Any] = {self.customers_table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                for item in page["Responses"].get(self.customers_table, []):
                    plain = from_item(item)
                    found[plain["customerId"]] = plain
                request = page.get("UnprocessedKeys") or {}
        return found

    def under(self, pk: str) -> list[dict[str, Any]]:
        return list(self._query({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(pk)}, "ConsistentRead": True}))

    def page_under(self, pk: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of `under(pk)`, from a checked start key; the key to go on from."""
        request: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(pk)},
                                   "ConsistentRead": True, "Limit": limit}
        if start:
            request["ExclusiveStartKey"] = start
        page = self.client.query(**request)
        return [from_item(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    # ---- the per-customer transaction -------------------------------------------------------------

    def commit(self, groups: list[list[dict[str, Any]]]) -> None:
        """One transaction of item groups (one group per customer). Raises by the first refusal."""
        items = [i for g in groups for i in g]
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            response = getattr(error, "response", None) or {}
            if response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = response.get("CancellationReasons") or []
            for index, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise _refusal(items[index]) from None
            raise StaleState() from None  # a conflict with another transaction: read again

    def state_put(self, customer_id: str, record: dict[str, Any], version: int) -> dict[str, Any]:
        item = {**state_key(customer_id), "customerId": customer_id, **dynamo_numbers(record), "version": version + 1,
                "gsi2pk": f"CUSTOMERS#{state_bucket(customer_id)}", "gsi2sk": customer_id}
        return {"Put": {"TableName": self.table, "Item": to_item(item), **version_condition(version)}}

    def state_update(self, customer_id: str, sets: dict[str, Any], version: int) -> dict[str, Any]:
        """Scores only (the nightly run): the features stay as the events left them."""
        names = {f"#s{i}": name for i, name in enumerate(sets)} | {"#v": "version"}
        values = {f":s{i}": to_value(dynamo_numbers(v)) for i, v in enumerate(sets.values())}
        values.update({":seen": to_value(version), ":one": to_value(1)})
        return {"Update": {"TableName": self.table, "Key": to_item(state_key(customer_id)),
                           "UpdateExpression": "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))) + " ADD #v :one",
                           "ConditionExpression": "#v = :seen", "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}

    def marker_put(self, customer_id: str, event_id: str, expires_at: int) -> dict[str, Any]:
        item = {"pk": f"CUST#{customer_id}", "sk": f"EVT#{event_id}", "expiresAt": expires_at + MARKER_TTL_SECONDS}
        return {"Put": {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}}

    def profile_update(self, customer_id: str, stage: str, segments: list[str], scores: dict[str, Any], at: str) -> dict[str, Any]:
        """The attributes scoring owns on the profile; refused (UnknownCustomer) before the profile exists,
        and on an erased customer's tombstone (loyalty.privacy): nothing is derived about them again."""
        values = {":st": stage, ":sg": segments, ":sc": dynamo_numbers(scores), ":at": at}
        return {"Update": {"TableName": self.customers_table, "Key": {"customerId": to_value(customer_id)},
                           "UpdateExpression": "SET #st = :st, #sg = :sg, #sc = :sc, #at = :at",
                           "ConditionExpression": "attribute_exists(customerId) AND attribute_not_exists(erased)",
                           "ExpressionAttributeNames": {"#st": "lifecycleStage", "#sg": "segments", "#sc": "scores", "#at": "scoredAt"},
                           "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()}}}

    def membership_ops(self, customer_id: str, entered: list[str], left: list[str], at: str) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        for segment in entered:
            item = {"pk": f"CUST#{customer_id}", "sk": f"SEG#{segment}", "customerId": customer_id, "segmentId": segment,
                    "since": at, "gsi1pk": f"MEMBERS#{segment}", "gsi1sk": customer_id}
            ops.append({"Put": {"TableName": self.table, "Item": to_item(item)}})
        for segment in left:
            ops.append({"Delete": {"TableName": self.table, "Key": to_item({"pk": f"CUST#{customer_id}", "sk": f"SEG#{segment}"})}})
        return ops

    def manager_ops(self, customer_id: str, was: str | None, manager: str | None, value: float, value_changed: bool, at: str) -> list[dict[str, Any]]:
        """The relationship-manager index follows the profile: the customer leaves their former
        manager's partition and is (re)written under the current one when either the manager or
        the value score changed. Plain writes: the STATE version condition in the same
        transaction already orders them."""
        ops: list[dict[str, Any]] = []
        if was and was != manager:
            ops.append({"Delete": {"TableName": self.table, "Key": to_item(manager_key(was, customer_id))}})
        if manager and (manager != was or value_changed):
            item = {**manager_key(manager, customer_id), "customerId": customer_id, "managerId": manager, "value": value, "scoredAt": at,
                    "gsi1pk": f"RMS#{manager_shard(manager)}", "gsi1sk": manager}
            ops.append({"Put": {"TableName": self.table, "Item": to_item(dynamo_numbers(item))}})
        return ops

    def manager_values(self, manager_id: str) -> list[float]:
        """The value scores of a manager's customers: a Query of their partition, O(their customers)."""
        request = {"KeyConditionExpression": "pk = :p", "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "value"},
                   "ExpressionAttributeValues": {":p": to_value(f"RM#{manager_id}")}}
        return [float(item["value"]) for item in self._query(request)]

    def manager_books(self, limit: int, shard: int, after: str | None) -> tuple[dict[str, list[float]], tuple[int, str | None] | None]:
        """Up to `limit` managers' value scores, whole books only: shard by shard, in manager-id order
        within a shard, from after manager `after` of `shard`. The (shard, last manager) to go on
        from, None at the end. A manager's items share one sort key, so `> after` skips exactly them."""
        books: dict[str, list[float]] = {}
        last_shard = shard
        while shard < MANAGER_SHARDS:
            request: dict[str, Any] = {"TableName": self.table, "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                                       "ProjectionExpression": "managerId, #v", "ExpressionAttributeNames": {"#v": "value"},
                                       "ExpressionAttributeValues": {":p": to_value(f"RMS#{shard}")}}
            if after is not None:
                request["KeyConditionExpression"] += " AND gsi1sk > :after"
                request["ExpressionAttributeValues"][":after"] = to_value(after)
            while True:
                page = self.client.query(**request)
                for item in page.get("Items", []):
                    manager = item["managerId"]["S"]
                    if manager not in books and len(books) == limit:
                        return books, (shard, next(reversed(books)) if last_shard == shard else None)
                    books.setdefault(manager, []).append(float(item["value"]["N"]))
                    last_shard = shard
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            shard, after = shard + 1, None
        return books, None

    def outbox(self, events: list[PendingEvent]) -> list[dict[str, Any]]:
        return [outbox_put(self.table, e) for e in events]

    # ---- versioned configuration: models and segments ---------------------------------------------

    def save_version(self, kind: str, name: str, version: int, body: dict[str, Any]) -> None:
        """Version `version` of `kind` (MODEL or SEGMENT) `name`, and the pointer moved to it only from
        the version before: two saves racing cannot both win."""
        pointer = {"pk": f"{kind}S", "sk": name, "version": version, **body}
        current: dict[str, Any] = version_condition(version - 1) if version > 1 else {"ConditionExpression": "attribute_not_exists(pk)"}
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table, "Item": to_item({**pointer, "pk": f"{kind}#{name}", "sk": f"V#{version:06d}"}),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"TableName": self.table, "Item": to_item(pointer), **current}},
            ])
        except Exception as error:
            if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict(f"{kind.lower()} {name} changed meanwhile; read it and save again", code="VERSION_CONFLICT") from None
            raise

    def version(self, kind: str, name: str, version: int | None = None) -> dict[str, Any]:
        key = {"pk": f"{kind}S", "sk": name} if version is None else {"pk": f"{kind}#{name}", "sk": f"V#{version:06d}"}
        found = self.get(key)
        if found is None:
            raise NotFound(f"{kind.lower()} {name}{'' if version is None else f' version {version}'} does not exist", code=f"{kind}_NOT_FOUND")
        return found

    # ---- segment members and samples --------------------------------------------------------------

    def members(self, segment_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        request: dict[str, Any] = {"TableName": self.table, "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                                   "ExpressionAttributeValues": {":p": to_value(f"MEMBERS#{segment_id}")}, "Limit": limit}
        if cursor:
            request["ExclusiveStartKey"] = checked_start(cursor, GSI1_KEYS, ("gsi1pk", f"MEMBERS#{segment_id}"))
        page = self.client.query(**request)
        return [from_item(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    def states_page(self, segment: int, total: int, cursor: dict[str, Any] | None, limit: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of STATE items of scan segment `segment` of `total` (the buckets b with b % total ==
        segment, in order; up to `limit`, across buckets), from `cursor`; the cursor to go on from, None
        at the segment's end."""
        bucket, key = (cursor["bucket"], cursor.get("key")) if cursor else (segment, None)
        items: list[dict[str, Any]] = []
        while True:
            request: dict[str, Any] = {"TableName": self.table, "IndexName": "gsi2", "KeyConditionExpression": "gsi2pk = :p",
                                       "ExpressionAttributeValues": {":p": to_value(f"CUSTOMERS#{bucket}")}, "Limit": limit - len(items)}
            if key:
                request["ExclusiveStartKey"] = key
            page = self.client.query(**request)
            items += [from_item(i) for i in page.get("Items", [])]
            key = page.get("LastEvaluatedKey")
            if key is None:
                bucket += total
                if bucket >= STATE_BUCKETS:
                    return items, None
            if len(items) >= limit:
                return items, {"bucket": bucket, "key": key}

    def put(self, record: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_item(dynamo_numbers(record)))

    def claim(self, key: dict[str, str], until: str, now: str) -> bool:
        """A lease on `key` until `until`, unless another holder's has not run out yet."""
        try:
            self.client.put_item(TableName=self.table, Item=to_item({**key, "leaseUntil": until}),
                                 ConditionExpression="attribute_not_exists(pk) OR leaseUntil < :now",
                                 ExpressionAttributeValues={":now": to_value(now)})
        except Exception as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def release(self, key: dict[str, str]) -> None:
        self.client.delete_item(TableName=self.table, Key=to_item(key))

    def _query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        request = {"TableName": self.table, **request}
        while True:
            page = self.client.query(**request)
            yield from (from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _refusal(item: dict[str, Any]) -> Exception:
    operation = next(iter(item.values()))
    if "customerId" in operation.get("Key", {}):  # only the customers table is keyed by customerId
        return UnknownCustomer()
    sk = (operation.get("Item") or operation.get("Key") or {}).get("sk", {}).get("S", "")
    return AlreadyApplied() if sk.startswith("EVT#") else StaleState()
