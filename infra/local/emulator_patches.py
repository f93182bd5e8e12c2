"""Patches for the moto-based local cloud.

moto's ``DynamoDBBackend.transact_write_items`` deep-copies each touched table (once per op) as its
rollback backup: O(table size), ~0.4 s per transaction at 20k items. We back up only the touched items.
On failure we restore (1) the ``table.items`` entry of every key named - GSIs/LSIs keep no state, moto
derives them from ``table.items`` on each read - and (2) each stream shard's record list, as moto's
rollback did (Lambda deliveries already made are undone by neither). Unlike moto we restore on *any*
exception, so TransactWriteSingleOp errors and tables named by ARN are atomic too.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.dynamodb.models import DynamoDBBackend

# Per-thread switch: only the thread running a transaction skips Table copies.
_in_transaction = threading.local()


class _CopyShim:
    """Replaces ``copy`` (moto.dynamodb.models does ``import copy``): mid-transaction a Table's deepcopy is
    itself, so moto's own rollback is a no-op re-assignment; anything else (e.g. update_item's
    ``copy.deepcopy(item)``) is copied normally."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        skip = getattr(_in_transaction, "on", False)
        if skip and isinstance(obj, ddb_models.Table):
            return obj
        return copy.deepcopy(obj, memo)


def _snapshot(backend: DynamoDBBackend, ops: list[dict[str, Any]]) -> tuple[Any, Any]:
    saved: dict[tuple[int, Any, Any], tuple[Any, ...]] = {}
    shards: dict[int, tuple[Any, list[Any], int]] = {}
    for entry in ops:
        for op_type, op in entry.items():
            # moto resolves each op via get_table + get_keys_value before writing: an op we cannot
            # resolve never writes, so we skip it and moto reports its error unchanged.
            try:
                table = backend.get_table(op["TableName"])
                key = op["Item"] if op_type == "Put" else op["Key"]
                h, r = backend.get_keys_value(table, key)
            except Exception:
                continue
            # Range tables: moto's reads create empty hash buckets (defaultdict).
            had_bucket = h in table.items
            old = table.items.get(h)
            old = old.get(r) if r is not None and old is not None else old
            # Deep copy: update_item mutates the stored Item in place.
            snap = (table, h, r, copy.deepcopy(old), had_bucket)
            saved.setdefault((id(table), h, r), snap)
            shard = table.stream_shard
            if shard is not None and id(table) not in shards:
                shards[id(table)] = (shard, shard.items, len(shard.items))
    return saved, shards


def _restore(saved: Any, shards: Any) -> None:
    for table, h, r, old, had_bucket in saved.values():
        target, slot = (table.items, h) if r is None else (table.items[h], r)
        if old is None:
            target.pop(slot, None)
        else:
            target[slot] = old
        if r is not None and not had_bucket and not table.items[h]:
            del table.items[h]
    for shard, records, length in shards.values():
        del records[length:]  # StreamShard.add may append to or replace the list
        shard.items = records


def install_item_level_transaction_backup() -> None:
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_item_level_backup", False):
        return  # idempotent

    @functools.wraps(original)  # the original stays reachable as __wrapped__
    def transact_write_items(self: DynamoDBBackend, ops: list[dict[str, Any]]) -> None:
        saved, shards = _snapshot(self, ops)
        _in_transaction.on = True
        try:
            original(self, ops)
        except BaseException:
            _restore(saved, shards)
            raise
        finally:
            _in_transaction.on = False

    transact_write_items._item_level_backup = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore
    ddb_models.copy = _CopyShim()  # type: ignore[assignment]


def uninstall_item_level_transaction_backup() -> None:
    patched: Any = DynamoDBBackend.transact_write_items
    if getattr(patched, "_item_level_backup", False):
        DynamoDBBackend.transact_write_items = patched.__wrapped__  # type: ignore[method-assign]
        ddb_models.copy = copy


# --- queries read one partition --------------------------------------------------------------------
# moto's Table.query filters `all_items()`, which sorts every item of the table on every call, so a
# query costs O(n log n) in the table's size (~90 ms at a few thousand items, measured by the accrual
# bench). A base-table query names its partition: hand moto just that partition's items. An index
# query keeps no partition to look up, so it gets the items whose index hash key attributes match,
# found in one pass without sorting; moto then filters and sorts them by the index keys and the
# table's keys (a total order), so the answer is the one moto gives from every item. Unscoped, the
# scoring nightly bench over 100,000 customers (pages of its STATE index) ran 74 minutes before one
# request, queued behind these, outlasted boto3's 60 s read timeout.


def install_partition_scoped_queries() -> None:
    original = ddb_models.Table.query
    if getattr(original, "_partition_scoped", False):
        return

    @functools.wraps(original)
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        conditions = kwargs.get("hash_key_conditions")
        if index_name is not None:
            if not conditions:
                return original(self, hash_key, *args, **kwargs)
            scoped = _index_candidates(self, conditions)
        elif hash_key is None:
            return original(self, hash_key, *args, **kwargs)
        else:
            partition = self.items.get(hash_key)  # .get: the defaultdict must not grow an empty entry
            scoped = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
        self.all_items = lambda: scoped  # shadows the method for this call; requests are serialized
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    query._partition_scoped = True  # type: ignore[attr-defined]
    ddb_models.Table.query = query  # type: ignore[method-assign]


def _index_candidates(table: Any, conditions: list[tuple[str, Any]]) -> list[Any]:
    """The items whose attributes equal every index hash key condition, in no particular order."""
    rows = (row for partition in table.items.values() for row in (partition.values() if table.range_key_attr else [partition]))
    # moto filters these again with its own test: this only has to keep every item it would keep
    return [row for row in rows if all(_equal(row.attrs.get(name), value) for name, value in conditions)]


def _equal(found: Any, wanted: Any) -> bool:
    return found is not None and bool(found == wanted)


def uninstall_partition_scoped_queries() -> None:
    patched: Any = ddb_models.Table.query
    if getattr(patched, "_partition_scoped", False):
        ddb_models.Table.query = patched.__wrapped__  # type: ignore[method-assign]


_original_module_list = None


def install_module_list_cache() -> None:
    """moto's server lists its own package directory (a ``stat`` per entry) on every request to tell
    a service name from a host name; the list never changes while it runs. Cached: about a fifth of
    the emulator's time under a burst of bank events (profiled with py-spy while seeding the demo bank)."""
    import moto.backends as backends

    global _original_module_list
    if _original_module_list is not None:
        return
    _original_module_list = backends.list_of_moto_modules
    modules = frozenset(_original_module_list())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment,return-value]


def uninstall_module_list_cache() -> None:
    import moto.backends as backends

    global _original_module_list
    if _original_module_list is not None:
        backends.list_of_moto_modules = _original_module_list  # type: ignore[assignment]
        _original_module_list = None
