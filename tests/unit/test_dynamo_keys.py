"""`loyalty.core.dynamo`: pagination cursors are checked before DynamoDB sees them."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.core.dynamo import GSI1_KEYS, TABLE_KEYS, checked_start, decode_cursor, encode_cursor
from loyalty.core.errors import InvalidInput

MEMBER = {"pk": {"S": "CUST#c-1"}, "sk": {"S": "SEG#gold"}, "gsi1pk": {"S": "MEMBERS#gold"}, "gsi1sk": {"S": "c-1"}}


def test_a_cursor_this_listing_returned_is_its_start_key() -> None:
    key = decode_cursor(encode_cursor(MEMBER))
    assert checked_start(key, GSI1_KEYS, ("gsi1pk", "MEMBERS#gold")) == MEMBER
    assert checked_start(None, GSI1_KEYS, ("gsi1pk", "MEMBERS#gold")) is None


@pytest.mark.parametrize(
    "key",
    [
        {"a": {"S": "1"}},  # not a key of this index
        {**MEMBER, "gsi1pk": {"S": "MEMBERS#silver"}},  # another segment's listing
        {**MEMBER, "gsi1sk": {"N": "1"}},  # not a string
        {k: v for k, v in MEMBER.items() if k != "sk"},  # a key attribute missing
        {**MEMBER, "extra": {"S": "x"}},
    ],
)
def test_any_other_key_is_a_400(key: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as refused:
        checked_start(key, GSI1_KEYS, ("gsi1pk", "MEMBERS#gold"))
    assert refused.value.code == "INVALID_CURSOR"


def test_a_base_table_cursor_has_only_the_table_keys() -> None:
    key = {"pk": {"S": "RES#campaign/c-1"}, "sk": {"S": "2026-12-04T00:00:00Z#a"}}
    assert checked_start(key, TABLE_KEYS, ("pk", "RES#campaign/c-1")) == key
    with pytest.raises(InvalidInput):
        checked_start(MEMBER, TABLE_KEYS, ("pk", "CUST#c-1"))
