"""Request-body types that take JSON as the document states it, and nothing pydantic would coerce.

Powertools validates the parsed body in pydantic's lax mode, which would read `0` as `false`, a
number as a time of day or an epoch instant: values the OpenAPI document says are refused. Strict
mode cannot be used whole (it refuses ISO strings for dates in Python mode), so these types are
strict where lax mode would coerce, and take ISO 8601 text for dates and times.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field, StrictBool, StringConstraints


def _text(value: object) -> object:
    if not isinstance(value, str | date | time):  # date covers datetime; objects come from our own code
        raise ValueError("expected ISO 8601 text")
    return value


Flag = StrictBool
Instant = Annotated[AwareDatetime, BeforeValidator(_text)]
"""A moment with its UTC offset, e.g. 2027-01-01T00:00:00+08:00."""
NaiveInstant = Annotated[datetime, BeforeValidator(_text)]
Day = Annotated[date, BeforeValidator(_text)]
"""A calendar date, YYYY-MM-DD."""
TimeOfDay = Annotated[time, BeforeValidator(_text)]
"""HH:MM or HH:MM:SS."""

OrgUnitRef = Annotated[
    str | None,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$"),
    Field(
        default=None,
        description='The org unit it belongs to (docs/security.md, "Org scope"): only operators of that unit\'s subtree '
        "see or change it. Left out on creation: the creator's own unit (the head office's for a head office "
        "operator).",
    ),
]
"""A resource's org unit (`loyalty.org`), on the definitions operators write."""
