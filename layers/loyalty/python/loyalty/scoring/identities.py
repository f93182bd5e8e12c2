"""Accounts sharing a device or a phone: the identity index in the scoring table (an abuse signal).

Bank events carry `deviceHash` (LoginCompleted, AccountOpened, CustomerProfileChanged) and
`phoneHash` (AccountOpened, CustomerProfileChanged), hashed by the bank. A plain hash of a phone
number is reversible by trying every number, so nothing here stores or logs them as received: only
`loyalty.core.pii.keyed_hash(value)` (an HMAC under the engine's key) is kept.

  IDENT#<keyed hash> / CUST#<customer>   customerId, kind ("device" | "phone"), firstSeenAt

One partition per hash, one item per customer seen with it: the customers sharing a hash are one
Query, and "is this hash recorded for this customer" is one GetItem. The customer's STATE item
lists their keyed hashes (`identities`: keyed hash -> kind), written in the same transaction as
the index items, so a scoring knows which hashes are new, and an erasure knows what to delete.

This module is pure (what an event carries, merging, the feature, counting through the store's
`others_on`): the items are `items.IdentityItem`, written in the re-scoring's transaction
(`store_dynamo`). Other capabilities ask `loyalty.scoring.ports.shared_identities().shares_identity`
(campaigns' member-get-member).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

Kind = Literal["device", "phone"]
# Other customers counted per hash: the abuse model's signal is full long before this
# (`sharedAccountsFull`, 3 by default), and a capped count is one small Query page.
SHARED_CAP = 50
# Hashes recorded per customer. A customer uses a phone and a few devices; past this, new hashes
# are not recorded (the STATE item and the per-scoring count stay bounded). The first ones stay.
MAX_IDENTITIES = 20
# After a customer joins a hash, the customers already on it are re-scored at once, but only while
# the hash holds at most this many (and no more than the abuse model's `sharedAccountsFull`:
# beyond it their signal was already full); the nightly run recounts everybody anyway.
NEIGHBOUR_RESCORE_LIMIT = 10
COUNT_THREADS = 8  # the nightly run's count queries for a page, in parallel

_FIELDS: tuple[tuple[str, Kind], ...] = (("deviceHash", "device"), ("phoneHash", "phone"))


# ---- pure -------------------------------------------------------------------------------------------


def carried(detail: Any) -> dict[str, Kind]:
    """The bank-supplied hashes an event's detail carries (as received: keep them in memory only),
    each with its kind; a value sent as both device and phone counts as a device."""
    found: dict[str, Kind] = {}
    for field, kind in _FIELDS:
        value = getattr(detail, field, None)
        if value:
            found.setdefault(value, kind)
    return found


def merge(known: Mapping[str, str], seen: Mapping[str, str], limit: int = MAX_IDENTITIES) -> tuple[dict[str, str], dict[str, str]]:
    """`known` (keyed hash -> kind) with the `seen` ones it lacks, up to `limit` hashes in all:
    (all of them, the ones added). A known hash keeps its kind."""
    merged, added = dict(known), {}
    for keyed, kind in seen.items():
        if keyed not in merged and len(merged) < limit:
            merged[keyed] = added[keyed] = kind
    return merged, added


def replace_phone(known: Mapping[str, str], seen: Mapping[str, str], changed_at: str, phone_as_of: str | None
                  ) -> tuple[dict[str, str], dict[str, str], list[str], str | None]:
    """A profile snapshot (`CustomerProfileChanged`, stamped `changed_at`) names the customer's one
    current phone: the other phones they were seen with are retired, so a recycled number stops
    linking them to its next owner. Only a snapshot newer than the one that last named the phone
    (`phone_as_of`) decides; an older one arriving late keeps its phone out of `seen` instead of
    bringing it back. Returns (known, seen, retired hashes, phone as of), `known` without the retired."""
    phones = [keyed for keyed, kind in seen.items() if kind == "phone"]
    if not phones:
        return dict(known), dict(seen), [], phone_as_of
    if phone_as_of is not None and changed_at <= phone_as_of:
        return dict(known), {k: v for k, v in seen.items() if k not in phones or k in known}, [], phone_as_of
    retired = [keyed for keyed, kind in known.items() if kind == "phone" and keyed not in phones]
    return {k: v for k, v in known.items() if k not in retired}, dict(seen), retired, changed_at


def shared_accounts(others_per_hash: Iterable[int]) -> int:
    """The feature `sharedIdentityAccounts`: the most other customers on any one of the customer's
    hashes (not the sum: two devices shared with the same person are one other account), capped."""
    return min(max(others_per_hash, default=0), SHARED_CAP)


def neighbours_to_rescore(others_per_hash: Mapping[str, int], added: Iterable[str], shared_accounts_full: int) -> list[str]:
    """The hashes just added whose customers' abuse signal may move: those with at least one other
    customer, and at most `shared_accounts_full` (each of those had one fewer other before: below
    full, so their signal grows) and the re-scoring limit."""
    ceiling = min(shared_accounts_full, NEIGHBOUR_RESCORE_LIMIT)
    return [h for h in added if 1 <= others_per_hash.get(h, 0) <= ceiling]


# ---- counting, on the store's identity index ------------------------------------------------------


class IdentityCounts(Protocol):
    def others_on(self, keyed: str, customer_id: str) -> int:
        """How many customers other than `customer_id` the keyed hash is recorded for, up to SHARED_CAP."""


def others_per_hash(index: IdentityCounts, customer_id: str, keyed_hashes: Iterable[str]) -> dict[str, int]:
    return {keyed: index.others_on(keyed, customer_id) for keyed in keyed_hashes}


def shared_accounts_of_many(index: IdentityCounts, customers: list[tuple[str, Iterable[str]]]) -> list[int]:
    """`sharedIdentityAccounts` of each (customer, keyed hashes), the nightly page's worth: one
    Query per hash, on a few threads (customers without hashes cost nothing)."""
    def one(customer: tuple[str, Iterable[str]]) -> int:
        return shared_accounts(others_per_hash(index, customer[0], customer[1]).values())

    if not any(hashes for _, hashes in customers):
        return [0] * len(customers)
    from concurrent.futures import ThreadPoolExecutor  # here, not at import: the ingest never needs it

    with ThreadPoolExecutor(max_workers=COUNT_THREADS) as pool:
        return list(pool.map(one, customers))
