"""What other capabilities may ask of scoring: the only way they reach the scoring table. (Scores,
stage and segments are on the customer profile, `loyalty.customers.ports`; privacy's part is `privacy()`
below.)"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any, Protocol


class SharedIdentities(Protocol):
    def shares_identity(self, customer_id: str, raw_hashes: Iterable[str]) -> bool:
        """True if any of these bank-supplied device or phone hashes (as received, un-keyed) is
        recorded for the customer: one GetItem per distinct hash. The caller needs the PII key
        (`pii_key` in the topology) and read access to the scoring table."""

    def shares_keyed_identity(self, customer_id: str, keyed_hashes: Iterable[str]) -> bool:
        """The same, for hashes already keyed (`core.pii.keyed_hash`): what a consumer that kept an
        event for later (campaigns' parked sign-ups) holds instead of the values as received."""


class DynamoSharedIdentities:
    def shares_identity(self, customer_id: str, raw_hashes: Iterable[str]) -> bool:
        from loyalty.core.pii import keyed_hash

        return self.shares_keyed_identity(customer_id, (keyed_hash(raw) for raw in dict.fromkeys(raw_hashes) if raw))

    def shares_keyed_identity(self, customer_id: str, keyed_hashes: Iterable[str]) -> bool:
        return any(_recorded(keyed, customer_id) for keyed in dict.fromkeys(keyed_hashes) if keyed)


def _recorded(keyed: str, customer_id: str) -> bool:
    from loyalty.scoring.items import IdentityItem, customer_pk

    try:
        IdentityItem.get(f"IDENT#{keyed}", customer_pk(customer_id), consistent_read=True, attributes_to_get=["pk"])
        return True
    except IdentityItem.DoesNotExist:
        return False


@cache
def shared_identities() -> SharedIdentities:
    return DynamoSharedIdentities()


class ScoringPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """`{"scoring": [...], "identities": [...]}`: both empty when scoring holds nothing on them."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """`{"scoringItemsDeleted": n}`: the customer's items and index entries deleted."""


@cache
def privacy() -> ScoringPrivacy:
    """Scoring's part of PIPL export and erasure (`loyalty.scoring.privacy`)."""
    from loyalty.scoring.privacy import DynamoScoringPrivacy

    return DynamoScoringPrivacy()
