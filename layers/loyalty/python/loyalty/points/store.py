"""The `points` table. Each ledger change is one transaction, conditioned on what it read.

  ACCT#<customer>   / BALANCE                    available, debt, growth, version
  ACCT#<customer>   / LOT#<lot id>               remaining (gsi2: LOTEXP#<expiry date>)
  ACCT#<customer>   / CAP#<rule>#<period>        points awarded by a rule in a day or month (TTL)
  LEDGER#<customer> / ENTRY#<entry id>           an immutable entry (gsi1: HIST#<customer>, time order)
  RULES             / <rule id>                  the current version of an earn rule
  RULE#<rule id>    / V#<version>                every version ever saved
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from loyalty.core.dynamo import GSI1_KEYS, bounded_add, checked_start, from_item, query_all, to_item, to_value
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent, outbox_put
from loyalty.points.ledger import Account, Change, Lot
from loyalty.points.model import Rule, RuleDefinition
from loyalty.points.tiers import TierLadder

CAP_TTL_SECONDS = 40 * 86400
LOT_INDEX_BUCKETS = 16


def lot_index_keys(customer_id: str, lot_id: str, expires_on: str) -> dict[str, str]:
    """gsi2 keys of a lot: 16 buckets by customer, sorted by expiry date, so one range query per
    bucket finds every lapsed lot, however old, and no index key gets hot."""
    import hashlib

    bucket = int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % LOT_INDEX_BUCKETS
    return {"gsi2pk": f"LOTEXP#{bucket}", "gsi2sk": f"{expires_on}#{customer_id}#{lot_id}"}


class AlreadyApplied(Exception):
    """An entry with this id exists: the source was already booked."""


class StaleAccount(Exception):
    """The account changed between the read and the write; read again and retry."""


def account_pk(customer_id: str) -> str:
    return f"ACCT#{customer_id}"


def ledger_pk(customer_id: str) -> str:
    return f"LEDGER#{customer_id}"


def _lot_from(item: dict[str, Any]) -> Lot:
    return Lot(item["lotId"], item["expiresOn"], int(item["remaining"]), item["costCentre"], item.get("ruleId"))


GROWTH_MONTH_PREFIX = "growth@"


def account_from(customer_id: str, balance: dict[str, Any], lots: list[Lot]) -> Account:
    return Account(
        customer_id,
        int(balance.get("available", 0)),
        int(balance.get("debt", 0)),
        int(balance.get("growth", 0)),
        int(balance.get("version", 0)),
        tuple(lots),
        held=int(balance.get("held", 0)),
        pending=int(balance.get("pending", 0)),
        tier=balance.get("tier"),
        growth_by_month=tuple(
            sorted((k.removeprefix(GROWTH_MONTH_PREFIX), int(v)) for k, v in balance.items() if k.startswith(GROWTH_MONTH_PREFIX))
        ),
        downgrade_due_on=balance.get("downgradeDueOn"),
        benefits_month=balance.get("benefitsMonth"),
        erased=bool(balance.get("erased")),
    )


class DynamoPointsStore:
    def __init__(self, table: str, client: Any):
        self.table = table
        self.client = client

    # ---- accounts ---------------------------------------------------------------------------------

    def load(self, customer_id: str) -> tuple[Account, dict[str, int]]:
        """The account and its cap counters, in one strongly consistent query."""
        balance: dict[str, Any] = {}
        lots, caps = [], {}
        for item in self._query_all(
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(account_pk(customer_id))}, "ConsistentRead": True}
        ):
            sk = item["sk"]
            if sk == "BALANCE":
                balance = item
            elif sk.startswith("LOT#"):
                lots.append(_lot_from(item))
            elif sk.startswith("CAP#"):
                caps[sk[4:]] = int(item.get("count", 0))
        return account_from(customer_id, balance, lots), caps

    def commit(
        self,
        account: Account,
        change: Change,
        *,
        caps: list[tuple[str, int, int]] = (),  # type: ignore[assignment]
        events: list[PendingEvent] = (),  # type: ignore[assignment]
        ttl_epoch: int = 0,
    ) -> None:
        """Writes the change if the account is still at the version it was read at."""
        customer = account.customer_id
        items: list[dict[str, Any]] = list(change.records)
        for entry in change.entries:
            record = {
                "pk": ledger_pk(customer),
                "sk": f"ENTRY#{entry.entry_id}",
                "entryId": entry.entry_id,
                "kind": entry.kind,
                "points": entry.points,
                "growth": entry.growth,
                "debtChange": entry.debt_change,
                "at": entry.at,
                "costCentre": entry.cost_centre,
                "source": json.dumps(entry.source, separators=(",", ":")),
                "lots": json.dumps(entry.lots),
                "gsi1pk": f"HIST#{customer}",
                "gsi1sk": f"{entry.at}#{entry.entry_id}",
            }
            items.append({"Put": {"TableName": self.table, "Item": to_item(record), "ConditionExpression": "attribute_not_exists(pk)"}})
        names = {"#a": "available", "#d": "debt", "#g": "growth", "#v": "version", "#h": "held", "#p": "pending"}
        values = {":a": to_value(change.available), ":d": to_value(change.debt), ":g": to_value(change.growth),
                  ":one": to_value(1), ":v": to_value(account.version), ":c": to_value(customer),
                  ":h": to_value(change.held), ":p": to_value(change.pending)}
        update = "ADD #a :a, #d :d, #g :g, #v :one, #h :h, #p :p"
        if change.growth:
            names["#gm"], values[":gm"] = f"{GROWTH_MONTH_PREFIX}{change.growth_month}", to_value(change.growth)
            update += ", #gm :gm"
        sets = ["customerId = :c"]
        removes = []
        for i, (attribute, value) in enumerate(sorted(change.balance_sets.items())):
            names[f"#s{i}"] = attribute
            if value is None:
                removes.append(f"#s{i}")
            else:
                values[f":s{i}"] = to_value(value)
                sets.append(f"#s{i} = :s{i}")
        update += " SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_not_exists(pk)" if account.version == 0 else "#v = :v"
        # Never negative, whatever the arithmetic above concluded: the write itself refuses it.
        if change.available < 0:
            condition += " AND #a >= :needA"
            values[":needA"] = to_value(-change.available)
        if change.debt < 0:
            condition += " AND #d >= :needD"
            values[":needD"] = to_value(-change.debt)
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": to_item({"pk": account_pk(customer), "sk": "BALANCE"}),
                    "UpdateExpression": update,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        )
        for lot_id, delta in change.lot_delta.items():
            if delta == 0:
                continue
            lot = change.lots[lot_id]
            items.append(self._lot_write(customer, lot, lot.remaining + delta))
        for key, add, cap in caps:
            condition, names, values = bounded_add("count", add, cap)
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_item({"pk": account_pk(customer), "sk": f"CAP#{key}"}),
                        "UpdateExpression": "ADD #n :add SET expiresAt = if_not_exists(expiresAt, :exp)",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": {**values, ":exp": to_value(ttl_epoch + CAP_TTL_SECONDS)},
                    }
                }
            )
        items += [outbox_put(self.table, e) for e in events]
        self._transact(items, len(change.records) + len(change.entries))

    def _lot_write(self, customer: str, lot: Lot, after: int) -> dict[str, Any]:
        key = to_item({"pk": account_pk(customer), "sk": f"LOT#{lot.lot_id}"})
        seen = {":seen": to_value(lot.remaining)}
        guard = "attribute_not_exists(pk)" if lot.remaining == 0 else "remaining = :seen"
        if after == 0:
            return {"Delete": {"TableName": self.table, "Key": key, "ConditionExpression": guard, "ExpressionAttributeValues": seen}}
        record = {
            "pk": account_pk(customer), "sk": f"LOT#{lot.lot_id}", "lotId": lot.lot_id, "expiresOn": lot.expires_on,
            "remaining": after, "costCentre": lot.cost_centre, "ruleId": lot.rule_id, "customerId": customer,
            **lot_index_keys(customer, lot.lot_id, lot.expires_on),
        }
        request: dict[str, Any] = {"TableName": self.table, "Item": to_item(record), "ConditionExpression": guard}
        if lot.remaining:
            request["ExpressionAttributeValues"] = seen
        return {"Put": request}

    def _transact(self, items: list[dict[str, Any]], entry_count: int) -> None:
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            response = getattr(error, "response", None) or {}
            if response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = response.get("CancellationReasons") or []
            failed = [i for i, r in enumerate(reasons) if r.get("Code") not in (None, "None")]
            if failed and failed[0] < entry_count and reasons[failed[0]].get("Code") == "ConditionalCheckFailed":
                raise AlreadyApplied() from None
            # Anything else (the version, a lot, a cap) means the account moved on since the read:
            # every write bumps the version, so reading again sees it.
            raise StaleAccount() from None

    # ---- entries ----------------------------------------------------------------------------------

    def entries_with_prefix(self, customer_id: str, prefix: str) -> list[dict[str, Any]]:
        return list(
            self._query_all(
                {
                    "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                    "ExpressionAttributeValues": {":p": to_value(ledger_pk(customer_id)), ":s": to_value(f"ENTRY#{prefix}")},
                    "ConsistentRead": True,
                }
            )
        )

    def history(self, customer_id: str, kind: str | None, limit: int, cursor: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": to_value(f"HIST#{customer_id}")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if kind:
            request["FilterExpression"] = "kind = :k"
            request["ExpressionAttributeValues"][":k"] = to_value(kind)
        if cursor:
            request["ExclusiveStartKey"] = checked_start(cursor, GSI1_KEYS, ("gsi1pk", f"HIST#{customer_id}"))
        found: list[dict[str, Any]] = []
        while True:
            page = self.client.query(**request)
            found += page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if len(found) >= limit:
                # Resume after the last entry returned, not after the page: a filtered page can hold more.
                resume = {k: found[limit - 1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}
                more = len(found) > limit or last is not None
                return [from_item(i) for i in found[:limit]], resume if more else None
            if not last:
                return [from_item(i) for i in found], None
            request["ExclusiveStartKey"] = last

    # ---- lots by expiry, and the liability --------------------------------------------------------

    def lots_expiring_on(self, day: str) -> Iterator[tuple[str, Lot]]:
        yield from self._lots_by_expiry("begins_with(gsi2sk, :d)", f"{day}#")

    def lots_lapsed_before(self, day: str) -> Iterator[tuple[str, Lot]]:
        yield from self._lots_by_expiry("gsi2sk < :d", day)

    def _lots_by_expiry(self, condition: str, value: str) -> Iterator[tuple[str, Lot]]:
        for bucket in range(LOT_INDEX_BUCKETS):
            for item in self._query_all(
                {
                    "IndexName": "gsi2",
                    "KeyConditionExpression": f"gsi2pk = :p AND {condition}",
                    "ExpressionAttributeValues": {":p": to_value(f"LOTEXP#{bucket}"), ":d": to_value(value)},
                }
            ):
                yield item["customerId"], _lot_from(item)

    def all_lots(self) -> Iterator[Lot]:
        request: dict[str, Any] = {"TableName": self.table, "FilterExpression": "begins_with(sk, :l)", "ExpressionAttributeValues": {":l": to_value("LOT#")}}
        while True:
            page = self.client.scan(**request)
            for item in page.get("Items", []):
                yield _lot_from(from_item(item))
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def balances_total(self) -> tuple[int, int]:
        available = debt = 0
        request: dict[str, Any] = {"TableName": self.table, "FilterExpression": "sk = :b", "ExpressionAttributeValues": {":b": to_value("BALANCE")}}
        while True:
            page = self.client.scan(**request)
            for item in page.get("Items", []):
                available += int(item.get("available", {}).get("N", 0))
                debt += int(item.get("debt", {}).get("N", 0))
            if "LastEvaluatedKey" not in page:
                return available, debt
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- plain records: redemptions, the catalogue, held accruals, configuration -----------------

    def get_record(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def put_record(self, record: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_item(record))

    def records_under(self, pk: str) -> list[dict[str, Any]]:
        return list(self._query_all({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(pk)}, "ConsistentRead": True}))

    def query_index_before(self, index: str, pk: str, before: str) -> Iterator[dict[str, Any]]:
        """Items of a sparse index partition sorted before `before` (holds and flags by time)."""
        yield from self._query_all(
            {
                "IndexName": index,
                "KeyConditionExpression": f"{index}pk = :p AND {index}sk < :b",
                "ExpressionAttributeValues": {":p": to_value(pk), ":b": to_value(before)},
            }
        )

    # ---- the tier ladder --------------------------------------------------------------------------

    def ladder(self) -> tuple[TierLadder, int, dict[str, Any]] | None:
        record = self.get_record({"pk": "TIERS", "sk": "CURRENT"})
        if record is None:
            return None
        return TierLadder.model_validate_json(record["ladder"]), int(record["version"]), record

    def save_ladder(self, ladder: TierLadder, version: int, operator: str, at: str) -> None:
        """A new version, and the current pointer moved to it only from the version before."""
        body = {"ladder": ladder.model_dump_json(), "version": version, "updatedBy": operator, "updatedAt": at}
        current: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if version == 1
            else {"ConditionExpression": "version = :prev", "ExpressionAttributeValues": {":prev": to_value(version - 1)}}
        )
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": to_item({"pk": "TIERS", "sk": f"V#{version:06d}", **body}),
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Put": {"TableName": self.table, "Item": to_item({"pk": "TIERS", "sk": "CURRENT", **body}), **current}},
                ]
            )
        except Exception as error:
            if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict("the tier ladder changed meanwhile", code="TIERS_VERSION_CONFLICT") from None
            raise

    def balance_customers(self, segment: int, segments: int) -> Iterator[str]:
        """The customers with a balance, in one segment of a parallel scan."""
        request: dict[str, Any] = {"TableName": self.table, "FilterExpression": "sk = :b", "ExpressionAttributeValues": {":b": to_value("BALANCE")},
                                   "ProjectionExpression": "customerId", "Segment": segment, "TotalSegments": segments}
        while True:
            page = self.client.scan(**request)
            for item in page.get("Items", []):
                yield item["customerId"]["S"]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- rules ------------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        return [self._rule_from(i) for i in self._query_all({"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value("RULES")}})]

    def rule(self, rule_id: str, version: int | None = None) -> Rule:
        key = {"pk": "RULES", "sk": rule_id} if version is None else {"pk": f"RULE#{rule_id}", "sk": f"V#{version:06d}"}
        item = self.client.get_item(TableName=self.table, Key=to_item(key), ConsistentRead=True)
        if "Item" not in item:
            raise NotFound(f"earn rule {rule_id}{'' if version is None else f' version {version}'} does not exist", code="RULE_NOT_FOUND")
        return self._rule_from(from_item(item["Item"]))

    def save_rule(self, rule: Rule) -> None:
        """A new version, and the current pointer moved to it only from the version before."""
        body = {"definition": rule.definition.model_dump_json(), "version": rule.version, "updatedAt": rule.updatedAt, "updatedBy": rule.updatedBy}
        current_condition = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if rule.version == 1
            else {"ConditionExpression": "version = :prev", "ExpressionAttributeValues": {":prev": to_value(rule.version - 1)}}
        )
        rule_id = rule.definition.ruleId
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": to_item({"pk": f"RULE#{rule_id}", "sk": f"V#{rule.version:06d}", **body}),
                             "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Put": {"TableName": self.table, "Item": to_item({"pk": "RULES", "sk": rule_id, **body}), **current_condition}},
                ]
            )
        except Exception as error:
            if (getattr(error, "response", None) or {}).get("Error", {}).get("Code") == "TransactionCanceledException":
                raise Conflict(f"earn rule {rule_id} changed meanwhile (or already exists)", code="RULE_VERSION_CONFLICT") from None
            raise

    @staticmethod
    def _rule_from(item: dict[str, Any]) -> Rule:
        return Rule(
            definition=RuleDefinition.model_validate_json(item["definition"]),
            version=int(item["version"]),
            updatedAt=item["updatedAt"],
            updatedBy=item["updatedBy"],
        )

    def _query_all(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return query_all(self.client, {"TableName": self.table, **request})
