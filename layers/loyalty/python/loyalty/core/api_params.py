"""Typed path and query parameters shared by every capability's routes: Powertools validates them
(a 400 naming the parameter) and the OpenAPI document states their limits."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BeforeValidator
from pydantic.json_schema import JsonDict

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
# An opaque cursor from a listing's `nextCursor`: base64url of a DynamoDB key.
CURSOR_PATTERN = r"^[A-Za-z0-9_=-]+$"

CustomerIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="The bank's customer id.")]
Cursor = Annotated[
    str | None,
    Query(min_length=1, max_length=2048, pattern=CURSOR_PATTERN, description="`nextCursor` of the previous page; only the listing that returned it accepts it."),
]


def _iso_day(value: Any) -> Any:
    # Pydantic also reads a number of seconds as a date; the contract is YYYY-MM-DD only.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date is YYYY-MM-DD")
    return value


IsoDay = Annotated[dt.date, BeforeValidator(_iso_day)]  # a business date, YYYY-MM-DD


def id_path(description: str, max_length: int = 64) -> Path:
    return Path(min_length=1, max_length=max_length, pattern=ID_PATTERN, description=description)


def limit_query(default: int = 20, maximum: int = 100) -> Query:
    return Query(ge=1, le=maximum, description=f"Items per page, 1 to {maximum} (default {default}).")


def requires_any(*fields: str) -> JsonDict:
    """A model's `json_schema_extra` for "at least one of these fields, not null": the rule its
    validator enforces, stated in the document so that clients (and the contract tests) know it."""
    return {"anyOf": [{"required": [name], "properties": {name: {"not": {"type": "null"}}}} for name in fields]}
