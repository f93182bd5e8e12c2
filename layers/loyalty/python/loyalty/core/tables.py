"""PynamoDB item models: the base every table's models share, bound to their table at cold start.

- **Table names** differ per environment. A model names the settings field that holds its table
  (`table_setting = "coupons_table"`); the physical name is bound on the model's first use, from
  the settings parsed once (`loyalty.core.config`), never at import from the environment.
- **One DynamoDB client per process.** PynamoDB would open a botocore session and client per
  model class (each loads the service model again: 20-40 ms apiece on a cold start); every model
  here uses the process's one client (`loyalty.core.aws.dynamodb`), which raw requests share too.
- **Keys** stay as the key design has them (`pk`/`sk` strings, or the customers table's
  `customerId`); an item type is told apart by its key prefix or, where one prefix holds several
  shapes, by a discriminator attribute.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

_bind_lock = threading.Lock()
_ITEM = "item"
CONFLICT_RETRIES = 3  # a marked write is a transaction: another one on the same item cancels it


class ItemModel(Model):
    """Base of every item model. A table's base model sets `table_setting` and its own `Meta`
    (`table_name = None`); the item models of that table subclass it and share its `Meta`."""

    table_setting: ClassVar[str] = ""

    class Meta:
        table_name: str | None = None

    def plain(self) -> dict[str, Any]:
        """The item as stored, by stored attribute name, in plain values (integers exact, decimals as
        Decimal): what the domain's records and a PIPL export read."""
        from loyalty.core.dynamo import from_item

        return from_item(self.serialize(null_check=False))

    # While an API call holds an Idempotency-Key claim, a plain write is a transaction with the
    # key's COMMITTED mark (loyalty.core.commit_marker), so a crash after it is never run again.
    def save(self, condition: Condition | None = None, *, add_version_condition: bool = True) -> dict[str, Any]:
        if not (add_version_condition and _marked_here(self)):
            return super().save(condition, add_version_condition=add_version_condition)
        _with_mark(lambda transaction: transaction.put(_ITEM, self, condition), PutError, "PutItem")
        return {}

    def update(self, actions: list[Action], condition: Condition | None = None, *, add_version_condition: bool = True) -> Any:
        if not _marked_here(self):
            return super().update(actions, condition, add_version_condition=add_version_condition)
        _with_mark(lambda transaction: transaction.update(_ITEM, self, actions, condition, add_version_condition=add_version_condition),
                   UpdateError, "UpdateItem")
        self.refresh(consistent_read=True)  # what UpdateItem's ALL_NEW gave: a transaction returns nothing
        return {}

    def delete(self, condition: Condition | None = None, *, add_version_condition: bool = True) -> Any:
        if not (add_version_condition and _marked_here(self)):
            return super().delete(condition, add_version_condition=add_version_condition)
        _with_mark(lambda transaction: transaction.delete(_ITEM, self, condition), DeleteError, "DeleteItem")
        return {}

    @classmethod
    def _get_connection(cls) -> Any:
        # Each concrete model gets its own connection (its own key schema and indexes), bound on
        # first use: never an inherited one, which would carry another model's schema.
        connection = cls.__dict__.get("_connection")
        if connection is None:
            with _bind_lock:
                connection = cls.__dict__.get("_connection") or bind(cls)
        return connection


def bind(model: type[ItemModel]) -> Any:
    """Names the model's table from the settings, and gives its connection the process's client."""
    from loyalty.core.aws import dynamodb
    from loyalty.core.config import get_settings

    if not model.table_setting:
        raise TypeError(f"{model.__name__} names no table_setting")
    model.Meta.table_name = getattr(get_settings(), model.table_setting)
    model._connection = None  # PynamoDB's own builder below then makes this class's connection
    connection = Model._get_connection.__func__(model)  # type: ignore[attr-defined]
    # PynamoDB's Connection creates a botocore session and client of its own on first use; ours is
    # made once per process (a private attribute of PynamoDB 6.1, pinned: tests/unit check it).
    connection.connection._client = dynamodb()
    return connection


def unbind_all() -> None:
    """Tests that change the settings' table names call this; a process never needs to."""
    for model in _all_models(ItemModel):
        if "_connection" in model.__dict__:
            model._connection = None
        model.Meta.table_name = None


def _all_models(base: type[ItemModel]) -> list[type[ItemModel]]:
    found: list[type[ItemModel]] = []
    for sub in base.__subclasses__():
        found += [sub, *_all_models(sub)]
    return found


def page(results: Any, limit: int) -> tuple[list[Any], str | None]:
    """One bounded page of a PynamoDB query or scan (`Model.query(..., limit=limit,
    last_evaluated_key=checked_start(...))`), and the cursor of the next one: the listing helper
    every paged route uses. The cursor is the key DynamoDB stopped at, opaque to the caller."""
    from loyalty.core.dynamo import encode_cursor

    items = [item for _, item in zip(range(limit), results, strict=False)]
    return items, encode_cursor(results.last_evaluated_key)


def batch_write(puts: Sequence[Model] = (), deletes: Sequence[Model] = (), *, attempts: int = 8,
                sleep: Callable[[float], None] = time.sleep) -> None:
    """Puts and deletes of item models, 25 a request, across tables; items DynamoDB leaves
    unprocessed (throttling) are sent again with exponential backoff and jitter, and an error is
    raised only when they are still unprocessed after `attempts` tries: nothing is dropped silently."""
    from loyalty.core.aws import dynamodb

    requests = [(m.Meta.table_name, {"PutRequest": {"Item": m.serialize()}}) for m in _bound(puts)]
    requests += [(m.Meta.table_name, {"DeleteRequest": {"Key": _key_of(m)}}) for m in _bound(deletes)]
    for start in range(0, len(requests), 25):
        pending: dict[str, list[Any]] = {}
        for table, request in requests[start : start + 25]:
            pending.setdefault(table, []).append(request)
        for attempt in range(attempts):
            pending = dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}  # type: ignore[arg-type]
            if not pending:
                break
            sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2))
        else:
            raise RuntimeError(f"batch write: {sum(len(r) for r in pending.values())} items still unprocessed after {attempts} tries")


def batch_get_raw(model: type[Model], keys: Sequence[dict[str, str]], *, attempts: int = 8,
                  sleep: Callable[[float], None] = time.sleep) -> list[dict[str, Any]]:
    """Every item found under `keys` (string `pk`/`sk` key attributes) of `model`'s table, raw, read
    consistently, 100 keys a request; keys DynamoDB leaves unprocessed are asked again with backoff,
    and an error is raised only when some are still unread after `attempts` tries. Raw, because one
    key prefix may hold several shapes: the caller picks the model of each."""
    connection = model._get_connection()
    table = model.Meta.table_name
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        pending = list(keys[start : start + 100])
        for attempt in range(attempts):
            # PynamoDB types keys as strings; it takes (and documents) key dicts, as claims.py sends them.
            answer = connection.batch_get_item(pending, consistent_read=True)  # type: ignore[arg-type]
            found += answer["Responses"].get(table, [])
            unread = (answer.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", [])
            pending = [{name: value["S"] for name, value in key.items()} for key in unread]
            if not pending:
                break
            sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2))
        else:
            raise RuntimeError(f"batch get: {len(pending)} keys still unread after {attempts} tries")
    return found


def scan_page(model: type[Model], condition: Condition | None, cursor: str | None, evaluated: int, *,
              index_name: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One Scan request of `model`'s table (or index): the raw items of `evaluated` items read that
    match `condition`, and the cursor of the next request (None at the end). A page may hold none
    and still have a next: bounded work per request, whatever the filter keeps."""
    from loyalty.core.dynamo import decode_cursor, encode_cursor

    # A LastEvaluatedKey dict is passed through as it is (PynamoDB's annotation says str).
    start: Any = decode_cursor(cursor)
    answer = model._get_connection().scan(filter_condition=condition, limit=evaluated, index_name=index_name,
                                          exclusive_start_key=start, consistent_read=index_name is None)
    return answer.get("Items", []), encode_cursor(answer.get("LastEvaluatedKey"))


def _bound(models: Sequence[Model]) -> Sequence[Model]:
    for model in models:
        type(model)._get_connection()  # binds the model's table name on first use
    return models


def _key_of(model: Model) -> dict[str, Any]:
    serialized = model.serialize()
    names = [attribute.attr_name for attribute in (model._hash_key_attribute(), model._range_key_attribute()) if attribute]
    return {name: serialized[name] for name in names}


def text_list(*, null: bool = False, attr_name: str | None = None) -> ListAttribute[str]:
    """A list of strings. (PynamoDB types `ListAttribute(of=...)` by the element's attribute class,
    which makes `.set(["a", "b"])` a type error; this says what the list holds.)"""
    return ListAttribute(of=UnicodeAttribute, null=null, attr_name=attr_name)  # type: ignore[arg-type]


def _marked_here(item: Model) -> bool:
    from loyalty.core.commit_marker import current_claim

    return current_claim() is not None and item.Meta.table_name != _idempotency_table()


def _idempotency_table() -> str:
    from loyalty.core.config import get_settings

    return get_settings().idempotency_table


def _with_mark(add: Callable[[Any], None], error_type: type[Exception], operation: str) -> None:
    """The write and the key's mark in one transaction; a refused condition raises what the plain
    write would have (PynamoDB's error around ConditionalCheckFailedException), so stores need not
    know which way it went."""
    from botocore.exceptions import ClientError

    from loyalty.core.transactions import CONDITION_FAILED, Refused, Transaction

    for attempt in range(CONFLICT_RETRIES):
        transaction = Transaction()
        add(transaction)
        try:
            transaction.commit()
            return
        except Refused as refused:
            code = refused.reasons.get(_ITEM)
            if code == CONDITION_FAILED:
                cause = ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}},
                                    operation)
                raise error_type("Failed to write item", cause=cause) from None  # type: ignore[call-arg]
            if not refused.conflicted or attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
