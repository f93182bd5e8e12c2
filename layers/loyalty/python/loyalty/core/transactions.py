"""One DynamoDB transaction of item models, whose refusal names what refused it.

PynamoDB's `TransactWrite` sends its items grouped by kind (condition checks, deletes, puts,
updates), so DynamoDB's cancellation reasons come back in that order, not the order the items
were added. `Transaction` labels each item as it is added and maps the reasons back to the labels:
a store asks "was it the stock, the limit or the idempotency record?" by name, never by position.
`cancellation_codes` is the one place that reads a cancellation, from PynamoDB or botocore.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

CONDITION_FAILED = "ConditionalCheckFailed"
MAX_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems
_KINDS = ("ConditionCheck", "Delete", "Put", "Update")  # the order PynamoDB sends them in


@functools.cache
def shared_connection() -> Connection:
    """A PynamoDB connection on the process's one DynamoDB client (see `loyalty.core.tables`)."""
    from loyalty.core.aws import dynamodb

    connection = Connection()
    connection._client = dynamodb()  # type: ignore[assignment]  # private in PynamoDB 6.1, pinned: one client per process
    return connection


@dataclass
class Refused(Exception):
    """The transaction was cancelled: `reasons` maps each refusing item's label to DynamoDB's code
    (`ConditionalCheckFailed`, `TransactionConflict`, ...); `old` the item DynamoDB returned for a
    refused condition when asked to (`return_values="ALL_OLD"`)."""

    reasons: dict[str, str]
    old: dict[str, dict[str, Any]] = field(default_factory=dict)

    def failed(self, label: str) -> bool:
        return self.reasons.get(label) == CONDITION_FAILED

    @property
    def conflicted(self) -> bool:
        """Another transaction touched an item meanwhile: worth a retry, not a refusal."""
        return any(code == "TransactionConflict" for code in self.reasons.values())


class Transaction:
    def __init__(self) -> None:
        self._write = TransactWrite(connection=shared_connection())
        self._labels: dict[str, list[str]] = {kind: [] for kind in _KINDS}

    def __len__(self) -> int:
        return sum(len(labels) for labels in self._labels.values())

    def check(self, label: str, model: type[Model], hash_key: Any, range_key: Any = None, *, condition: Condition) -> None:
        self._write.condition_check(model, hash_key, range_key, condition=condition)
        self._labels["ConditionCheck"].append(label)

    def put(self, label: str, item: Model, condition: Condition | None = None, *, return_old: bool = False) -> None:
        self._write.save(item, condition=condition, return_values="ALL_OLD" if return_old else None)
        self._labels["Put"].append(label)

    def update(self, label: str, item: Model, actions: list[Action], condition: Condition | None = None,
               *, return_old: bool = False, add_version_condition: bool = True) -> None:
        """`add_version_condition=False`: a model's VersionAttribute still moves up by one, but the
        write is not conditioned on the version the model holds (a counter beside a versioned item)."""
        self._write.update(item, actions, condition=condition, return_values="ALL_OLD" if return_old else None,
                           add_version_condition=add_version_condition)
        self._labels["Update"].append(label)

    def delete(self, label: str, item: Model, condition: Condition | None = None) -> None:
        self._write.delete(item, condition=condition)
        self._labels["Delete"].append(label)

    def commit(self) -> None:
        """One TransactWriteItems; raises `Refused` naming the items that refused it. Inside an API
        call holding an Idempotency-Key claim, the key's COMMITTED mark is one more item
        (`loyalty.core.commit_marker`); a claim a retry took over refuses it with a 409."""
        from loyalty.core.commit_marker import MARK_LABEL, current_claim

        claim = current_claim()
        if claim is not None and MARK_LABEL not in self._labels["Update"]:
            from loyalty.core.idempotency import IdempotencyRecord

            mark = IdempotencyRecord(claim.key)
            self.update(MARK_LABEL, mark, [IdempotencyRecord.state.set("COMMITTED")],
                        condition=(IdempotencyRecord.claimedAt == claim.claimed_at)
                        & IdempotencyRecord.state.is_in("IN_FLIGHT", "COMMITTED"))
        if len(self) > MAX_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_ITEMS} items, not {len(self)}")
        try:
            with self._write:  # TransactWrite sends its items when its block ends
                pass
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if not codes:
                raise
            labels = [label for kind in _KINDS for label in self._labels[kind]]
            if dict(zip(labels, codes, strict=False)).get(MARK_LABEL) == CONDITION_FAILED:
                from loyalty.core.errors import Conflict

                raise Conflict("a retry with this Idempotency-Key took this request over; it was not applied",
                               code="IDEMPOTENCY_IN_PROGRESS") from error
            raise Refused(
                {label: code for label, code in zip(labels, codes, strict=False) if code and code != "None"},
                {label: old for label, old in zip(labels, cancellation_items(error), strict=False) if old},
            ) from error


    def commit_once(self, marker: str) -> bool:
        """Commits a transaction whose item `marker` says "not done yet": False, and nothing written,
        when its condition refused it (done already); any other refusal raises `Refused`."""
        try:
            self.commit()
        except Refused as refused:
            if refused.failed(marker):
                return False
            raise
        return True


def cancellation_codes(error: BaseException) -> Sequence[str | None]:
    """DynamoDB's cancellation reason codes, one per transaction item in the order sent; empty when
    the error is not a cancelled transaction. Reads PynamoDB's `TransactWriteError` and botocore's
    `ClientError` alike."""
    if isinstance(error, TransactWriteError):
        if error.cause_response_code != "TransactionCanceledException":
            return []
        return [reason.code if reason else None for reason in error.cancellation_reasons]
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [reason.get("Code") for reason in response.get("CancellationReasons") or []]


def cancellation_items(error: BaseException) -> list[dict[str, Any] | None]:
    """The items DynamoDB returned with each reason (ALL_OLD), raw attribute values, in the order sent."""
    if isinstance(error, TransactWriteError):
        return [reason.raw_item if reason else None for reason in error.cancellation_reasons]
    response = getattr(error, "response", None) or {}
    return [reason.get("Item") for reason in response.get("CancellationReasons") or []]
