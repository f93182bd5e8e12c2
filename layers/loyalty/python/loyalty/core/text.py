"""Free text that people type and other systems store: tags, cost centres, reasons, notes.

Each refuses blank strings and control characters (a tab or line break is allowed in a note only):
they end up in keys, CSV exports, logs and other systems' screens. The patterns say so in the OpenAPI
document too, so a generated client knows before it sends.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

# At least one character that is neither white space nor a control character, and no control
# characters at all (no look-ahead: every regex engine a client might use understands it).
SINGLE_LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
MULTI_LINE = r"^[^\x00-\x08\x0b-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b-\x1f\x7f]*$"

Label = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True, pattern=SINGLE_LINE)]
"""A tag, a cost centre, a channel: short, one line."""

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=SINGLE_LINE)]
"""Why an operator did something, for the ledger or the audit log: one line."""

Note = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=MULTI_LINE)]
"""A reviewer's note: line breaks and tabs allowed."""
