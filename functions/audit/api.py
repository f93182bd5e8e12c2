"""The operator audit log, read: by resource, by operator or by business day, newest first."""

import datetime as dt
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from loyalty.core.api import Routes, serve
from loyalty.core.api_params import Cursor, IsoDay, limit_query
from loyalty.core.api_responses import SparseView
from loyalty.core.audit import query
from loyalty.core.clock import business_date, utc_now
from loyalty.core.config import get_settings
from loyalty.core.dynamo import decode_cursor, encode_cursor
from loyalty.core.text import SINGLE_LINE
from loyalty.org.scope import HeadOffice

routes = Routes("audit")


class AuditEntry(SparseView):  # as stored: no `before`, `status` or `after` it did not record, rather than nulls
    """One phase of an operator's mutating call. Fields without a value are left out."""

    actionId: str = Field(description="The call: its `requested` entry and its outcome share it.")
    phase: Literal["requested", "completed", "refused", "replayed"] = Field(
        description="`requested` before it ran; then `completed` (2xx/3xx), `refused` (4xx/5xx) or `replayed` (an idempotent replay)."
    )
    at: str = Field(description="When (UTC).")
    who: str = Field(description="The operator (their token's subject).")
    route: str = Field(description="Method and route template, e.g. `PUT /v1/admin/segments/{segmentId}`.")
    resource: str = Field(description="What it acted on: the collection and the first id in the path (`segments/payroll`), or `customers/<id>`.")
    request: str | None = Field(default=None, description="The request body as JSON text, clipped at 16,000 characters; left out of exports and erasures.")
    idempotencyKey: str | None = None
    before: str | None = Field(default=None, description="`requested` only: the state before, as JSON text, for routes that load it.")
    status: int | None = Field(default=None, description="The outcome's HTTP status (not on `requested`).")
    after: str | None = Field(default=None, description="The outcome's response (or what the route keeps of it) as JSON text, clipped.")


class AuditPage(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first. Filtered pages may hold fewer than `limit`, even none, while `nextCursor` goes on.")
    nextCursor: str | None


Resource = Annotated[str | None, Query(min_length=1, max_length=300, pattern=SINGLE_LINE,
                                       description="Entries about this resource: `customers/<id>`, `segments/<id>`, `coupon-templates/<id>`...")]
Actor = Annotated[str | None, Query(min_length=1, max_length=128, pattern=SINGLE_LINE, description="Entries of this operator (their token's subject).")]
Day = Annotated[IsoDay | None, Query(description="Entries of this business day in the bank's time zone (YYYY-MM-DD).")]


@routes.get(
    "/v1/admin/audit",
    scope=HeadOffice(),
    summary="Read the operator audit log",
    operation_id="listAuditEntries",
    errors={400: ["INVALID_CURSOR"]},
)
def search(
    resource: Resource = None,
    actor: Actor = None,
    date: Day = None,
    limit: Annotated[int, limit_query(default=50, maximum=200)] = 50,
    cursor: Cursor = None,
) -> AuditPage:
    """Newest first. Any of `resource`, `actor` and `date` may be combined; an entry must match every
    one given. Without any, the entries of the bank's current business day (give `date` to page
    through a day across midnight). The log is read by the
    most selective filter given (resource, else actor, else date) and the others are applied to each
    page, so a page may hold fewer than `limit` entries, or none, while `nextCursor` goes on: read on
    until it is null. A cursor is accepted only by the listing that returned it."""
    zone = get_settings().bank_zone
    day = date or (None if resource or actor else business_date(utc_now(), zone))
    by, value = ("resource", resource) if resource else ("actor", actor) if actor else ("date", day.isoformat() if day else "")
    items, last = query(by, value, limit, decode_cursor(cursor))
    kept = [item for item in items
            if (resource is None or item.get("resource") == resource) and (actor is None or item.get("who") == actor)
            and (day is None or business_date(dt.datetime.fromisoformat(item["at"]), zone) == day)]
    return AuditPage(items=[AuditEntry.model_validate(item) for item in kept], nextCursor=encode_cursor(last))


handler = serve(routes)
