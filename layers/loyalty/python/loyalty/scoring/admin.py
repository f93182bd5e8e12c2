"""Operator configuration: score models and segments, each saved as a new version (data, not code),
and what segments hold: their members and a size estimate."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from loyalty.core.dynamo import decode_cursor, encode_cursor
from loyalty.core.errors import InvalidInput, NotFound
from loyalty.scoring.models import AbuseModel, ChurnModel, LifecycleModel, RfmModel, ValueModel
from loyalty.scoring.scores import ManagerRollup
from loyalty.scoring.segments import MAX_SEGMENTS, Facts, SegmentDefinition, matches
from loyalty.scoring.store import MANAGER_SHARDS, ConfigStore

MODEL_CLASSES: dict[str, type[BaseModel]] = {"rfm": RfmModel, "value": ValueModel, "lifecycle": LifecycleModel, "churn": ChurnModel, "abuse": AbuseModel}
ESTIMATE_SAMPLE = 5000  # STATE items read for an estimate; below this the figure is exact


def plain(value: Any) -> Any:
    """Stored numbers as JSON numbers (DynamoDB gives Decimals back for the decimal scores)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _model_class(name: str) -> type[BaseModel]:
    if name not in MODEL_CLASSES:
        raise NotFound(f"no score model {name!r}; models are {', '.join(MODEL_CLASSES)}", code="MODEL_NOT_FOUND")
    return MODEL_CLASSES[name]


def parse_config(name: str, body: Any) -> BaseModel:
    """The configuration of model `name`; a 400 naming each problem (the body's schema depends on the
    model, so the API takes any object and the problems are found here)."""
    try:
        return _model_class(name).model_validate(body)
    except ValidationError as error:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "(body)", "in": "body", "problem": e["msg"]}
                   for e in error.errors(include_url=False, include_input=False, include_context=False)]
        raise InvalidInput("the request failed validation", code="VALIDATION_ERROR", details=details) from None


def save_model(store: ConfigStore, name: str, body: dict[str, Any], operator: str, at: str) -> dict[str, Any]:
    """A valid configuration becomes the next version and is in force at once (here; elsewhere within
    the cache time). An invalid one is a 400 with pydantic's details, and changes nothing."""
    from loyalty.scoring import service

    config = parse_config(name, body)
    version = service.model_pointers(store)[name]["version"] + 1
    store.save_version("MODEL", name, version, {"config": config.model_dump_json(), "updatedBy": operator, "updatedAt": at})
    service.forget_cached_config()
    return model_view(store, name)


def model_view(store: ConfigStore, name: str, version: int | None = None) -> dict[str, Any]:
    from loyalty.scoring import service

    _model_class(name)
    if version is None:
        return {"model": name, **service.model_pointers(store)[name]}
    if version == 0:
        from loyalty.scoring.defaults import DEFAULT_MODELS

        return {"model": name, "version": 0, "config": DEFAULT_MODELS[name], "updatedBy": "default", "updatedAt": None}
    found = store.version("MODEL", name, version)
    return {"model": name, "version": int(found["version"]), "config": json.loads(found["config"]), "updatedBy": found["updatedBy"],
            "updatedAt": found["updatedAt"]}


def save_segment(store: ConfigStore, definition: SegmentDefinition, operator: str, at: str, *, create: bool) -> dict[str, Any]:
    """A new segment takes its id once and counts against MAX_SEGMENTS (a re-scoring writes its
    membership changes in one transaction, so segments are limited); an update is the next version."""
    from loyalty.scoring import service

    body = {"definition": definition.model_dump_json(), "updatedBy": operator, "updatedAt": at}
    if create:
        store.reserve_segment(definition.segmentId, MAX_SEGMENTS)
        version = 1
    else:
        version = int(store.version("SEGMENT", definition.segmentId)["version"]) + 1
    store.save_version("SEGMENT", definition.segmentId, version, body)
    service.forget_cached_config()
    return segment_view(store.version("SEGMENT", definition.segmentId))


def segment_view(record: dict[str, Any]) -> dict[str, Any]:
    return {**json.loads(record["definition"]), "version": int(record["version"]), "updatedBy": record["updatedBy"], "updatedAt": record["updatedAt"]}


def segments(store: ConfigStore, limit: int, cursor: str | None) -> dict[str, Any]:
    """The current version of each segment, by id."""
    items, following = store.in_force_page("SEGMENT", limit, cursor)
    return {"items": [segment_view(item) for item in items], "nextCursor": following}


def members(store: ConfigStore, segment_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    store.version("SEGMENT", segment_id)  # 404 for a segment that does not exist
    items, following = store.members(segment_id, limit, cursor)
    return {"items": [{"customerId": i["customerId"], "since": i["since"]} for i in items], "nextCursor": following}


def estimate(store: ConfigStore, segment_id: str) -> dict[str, Any]:
    """The rule applied to a sample of scored customers (the facts and scores of their last scoring).
    Customers are read bucket by bucket, and buckets are by a hash of the id, so the first ones are a
    fair sample; when every bucket fits in the sample the count is exact, otherwise it is scaled to
    the customers the last nightly run saw."""
    saved = store.version("SEGMENT", segment_id)
    definition = SegmentDefinition.model_validate_json(saved["definition"])
    sampled = matched = 0
    start: dict[str, Any] | None = None
    while sampled < ESTIMATE_SAMPLE:
        page, start = store.states_page(0, 1, start, 1000)
        for record in page:
            sampled += 1
            f = record.get("facts") or {}
            facts = Facts(frozenset(f.get("tags") or []), f.get("tier"), f.get("branchId"), f.get("riskLevel"), f.get("aumMinor"))
            matched += matches(definition.rule, facts, plain(record.get("scores") or {}), record.get("stage") or "")
        if start is None:
            break
    exact = start is None
    population = sampled if exact else int((store.latest_run() or {}).get("customers", sampled))
    estimated = matched if exact else round(matched / sampled * max(population, sampled)) if sampled else 0
    return {"segmentId": segment_id, "version": int(saved["version"]), "sampled": sampled, "matched": matched, "exact": exact, "estimatedMembers": estimated}


def manager_value(store: ConfigStore, manager_id: str) -> dict[str, Any]:
    """A relationship manager's book: their customers and the sum and mean of their value scores
    (客户贡献分值), from the index the re-scorings keep (RM#<manager>), as of each customer's last
    scoring. The engine has no register of managers: one without customers has an empty book."""
    from loyalty.scoring.scores import rollup_by_manager

    return book_view(manager_id, rollup_by_manager((manager_id, value) for value in store.manager_values(manager_id)).get(manager_id))


def book_view(manager_id: str, found: ManagerRollup | None) -> dict[str, Any]:
    if found is None:
        return {"managerId": manager_id, "customers": 0, "totalValue": 0.0, "meanValue": None}
    return {"managerId": manager_id, "customers": found.customers, "totalValue": round(found.totalValue, 2), "meanValue": round(found.meanValue, 2)}


def manager_books(store: ConfigStore, limit: int, cursor: str | None) -> dict[str, Any]:
    """Every relationship manager's book, `limit` managers a page (whole books), in the shape of
    `manager_value`. Ordered by manager id within each of the index's shards, not overall."""
    from loyalty.scoring.scores import rollup_by_manager

    position = decode_cursor(cursor) or {"shard": 0, "after": None}
    shard, after = position.get("shard"), position.get("after")
    if set(position) != {"shard", "after"} or type(shard) is not int or not 0 <= shard < MANAGER_SHARDS or not isinstance(after, str | None):
        raise InvalidInput("cursor is not one this API returned", code="INVALID_CURSOR")
    books, following = store.manager_books(limit, shard, after)
    rollups = rollup_by_manager((manager, value) for manager, values in books.items() for value in values)
    return {"items": [book_view(manager, found) for manager, found in rollups.items()], "nextCursor": encode_cursor({"shard": following[0], "after": following[1]} if following else None)}

