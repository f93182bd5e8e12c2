"""The operator audit log, read: by resource, by operator or by business day, newest first."""

from typing import Any

from loyalty.core.audit import query
from loyalty.core.dynamo import decode_cursor, encode_cursor
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, api_router, ok

FILTERS = ("resource", "actor", "date")


@api_handler()
def search(request: Request[Any]) -> Response:
    chosen = {k: v for k, v in request.query.items() if k in FILTERS}
    if len(chosen) != 1:
        raise InvalidInput("give exactly one of resource, actor or date (YYYY-MM-DD)", code="VALIDATION_ERROR")
    limit = request.query.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise InvalidInput("limit must be 1 to 200", code="VALIDATION_ERROR")
    (by, value), = chosen.items()
    items, last = query(by, value, int(limit), decode_cursor(request.query.get("cursor")))
    return ok({"items": items, "nextCursor": encode_cursor(last)})


handler = api_router({"GET /v1/admin/audit": search})
