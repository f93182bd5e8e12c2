"""The operator audit log: every mutating `/v1/admin` call, append-only, in the `audit` table.

Two entries per action: `requested` before it runs (if that write fails the action is refused, so
nothing happens unaudited) and `completed` (or `refused`) after, with the status and the result.
Writers may only PutItem, conditioned on the entry being new: no function can change or delete an
entry (the IAM grant is `append`). Who, when, what (route, resource, body), the state before (for
routes that name a loader) and after (the response).

  pk  RES#<resource>            sk  <at>#<action id>#<phase>       by resource
  gsi1pk ACTOR#<operator>       gsi1sk <at>#<action id>#<phase>    by operator
  gsi2pk DAY#<business date>    gsi2sk <at>#<action id>#<phase>    by day
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.clock import business_date, iso_utc, utc_now
from loyalty.core.config import get_settings
from loyalty.core.dynamo import GSI1_KEYS, GSI2_KEYS, TABLE_KEYS, checked_start
from loyalty.core.tables import ItemModel

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

    from loyalty.core.api import Audit, Call

MAX_STORED_CHARS = 16_000
ADMIN_PREFIX = "/v1/admin/"


def resource_of(request: Call) -> str:
    """`coupon-templates/tpl-1` for /v1/admin/coupon-templates/{templateId}/status: the collection
    and the first id in the path; `customers/<id>` when the path names none and the body names the
    customer (an operator redeeming points on their behalf); else the collection alone."""
    parts = request.resource.removeprefix(ADMIN_PREFIX).removeprefix("/v1/").split("/")
    ids = [request.path_params.get(p.strip("{}"), "") for p in parts if p.startswith("{")]
    customer = getattr(request.body, "customerId", None)
    if not ids and isinstance(customer, str) and customer:
        return f"customers/{customer}"
    return "/".join([parts[0], *ids[:1]])


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= MAX_STORED_CHARS else text[:MAX_STORED_CHARS] + "…"


class ByActor(GlobalSecondaryIndex["AuditEntry"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByDay(GlobalSecondaryIndex["AuditEntry"]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class AuditEntry(ItemModel):
    """One phase of an operator's call; never changed or deleted once written."""

    table_setting = "audit_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)  # RES#<resource>
    sk = UnicodeAttribute(range_key=True)  # <at>#<action id>#<phase>
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    by_actor = ByActor()
    by_day = ByDay()
    at = UnicodeAttribute()
    actionId = UnicodeAttribute()
    phase = UnicodeAttribute()
    who = UnicodeAttribute()
    route = UnicodeAttribute()
    resource = UnicodeAttribute()
    request = UnicodeAttribute(null=True)
    idempotencyKey = UnicodeAttribute(null=True)
    before = UnicodeAttribute(null=True)
    status = NumberAttribute(null=True)
    after = UnicodeAttribute(null=True)

    def view(self) -> dict[str, Any]:
        hidden = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
        return {k: v for k, v in self.attribute_values.items() if k not in hidden}


class AuditLog:
    def append(self, entry: dict[str, Any], now: datetime) -> None:
        at = iso_utc(now)
        sort = f"{at}#{entry['actionId']}#{entry['phase']}"
        day = business_date(now, get_settings().bank_zone).isoformat()
        item = AuditEntry(f"RES#{entry['resource']}", sort, at=at, gsi1pk=f"ACTOR#{entry['who']}", gsi1sk=sort,
                          gsi2pk=f"DAY#{day}", gsi2sk=sort, **{k: v for k, v in entry.items() if v is not None})
        item.save(AuditEntry.pk.does_not_exist())


def default_log() -> AuditLog:
    return AuditLog()


def audited(call: Call, run: Callable[[], Response], options: Audit, log: AuditLog | None = None) -> Response:
    """Runs an operator's mutating call between its two audit entries."""
    log = log or default_log()
    body = call.body.model_dump(mode="json") if call.body is not None and options.bodies else None
    entry = {"actionId": uuid.uuid4().hex, "who": call.caller.subject, "route": f"{call.method} {call.resource}",
             "resource": resource_of(call), "request": _clip(body), "idempotencyKey": call.idempotency_key}
    if options.before is not None:
        entry["before"] = _clip(_safely(options.before, call))
    log.append({**entry, "phase": "requested"}, utc_now())
    response = run()
    status = response.status_code
    phase = "completed" if status < 400 else "refused"
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    kept = options.after(response.body) if options.after and status < 400 else response.body
    log.append({**{k: v for k, v in entry.items() if k != "before"}, "phase": "replayed" if replayed else phase,
                "status": status, "after": _clip(kept) if options.bodies else None}, utc_now())
    return response


def _safely(load: Callable[[Call], Any], request: Call) -> Any:
    from loyalty.core.errors import DomainError

    try:
        return load(request)
    except DomainError:
        return None  # nothing there yet: a create


INDEX_BY: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "resource": (AuditEntry, TABLE_KEYS, "RES#"),
    "actor": (AuditEntry.by_actor, GSI1_KEYS, "ACTOR#"),
    "date": (AuditEntry.by_day, GSI2_KEYS, "DAY#"),
}


def query(by: str, value: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A page of the log by resource, operator or business day, newest first."""
    source, names, prefix = INDEX_BY[by]
    partition = prefix + value
    results = source.query(partition, scan_index_forward=False, limit=limit,
                           last_evaluated_key=checked_start(cursor, names, (names[-2], partition)))
    items = [entry.view() for _, entry in zip(range(limit), results, strict=False)]
    return items, results.last_evaluated_key


def about(resource: str) -> list[dict[str, Any]]:
    """Every entry on one resource, oldest first (a PIPL export's operator actions)."""
    return [entry.view() for entry in AuditEntry.query(f"RES#{resource}", consistent_read=True)]
