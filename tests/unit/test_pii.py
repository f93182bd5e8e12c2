"""Keyed hashes of device and phone identifiers (core.pii)."""

from __future__ import annotations

import hashlib

from loyalty.core import pii


def test_a_keyed_hash_is_stable_distinct_and_not_the_plain_hash() -> None:
    # Given two phone hashes as the bank sends them
    first, second = hashlib.sha256(b"13800138000").hexdigest(), hashlib.sha256(b"13800138001").hexdigest()
    # When they are keyed
    keyed = pii.keyed_hash(first)
    # Then the same input gives the same value, another input another, and neither is what came in
    assert keyed == pii.keyed_hash(first) and keyed != pii.keyed_hash(second)
    assert keyed.startswith("hk1:") and first not in keyed
    # And without the key, hashing the input again does not find it
    assert hashlib.sha256(first.encode()).hexdigest() not in keyed


def test_masked_ids_never_show_the_id() -> None:
    assert pii.masked("a1b2c3d4e5f6") == "a1b2…"
    assert pii.masked("short") == "…"
