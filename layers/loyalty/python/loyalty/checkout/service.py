"""Checkout's operations (docs/checkout.md): the stacking policy's maker-checker versions, and quotes.

The policy in force is read from memory for `RULES_CACHE_SECONDS` (30 s) on the quote's path, like
the other rules of the engine; an approved version reaches every warm function within that time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from loyalty.checkout import quote as quoting
from loyalty.checkout.policy import StackingPolicy
from loyalty.checkout.pricing import Candidate, Order
from loyalty.checkout.store import PolicyStore, PolicyVersion
from loyalty.core import config_cache
from loyalty.core.auth import APPROVERS, Caller
from loyalty.core.clock import iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound

DEFAULT = PolicyVersion(0, StackingPolicy(), "approved", "system", "1970-01-01T00:00:00Z")
WALLET_LIMIT = 200  # coupons of one wallet a quote reads, newest first


# ---- the policy --------------------------------------------------------------------------------------


def in_force(store: PolicyStore) -> PolicyVersion:
    """The approved version in force; the built-in default (version 0) before any is approved."""
    current = store.head().current
    found = store.version(current) if current is not None else None
    return found or DEFAULT


def in_force_cached(store: PolicyStore) -> PolicyVersion:
    return config_cache.cached(("checkout", "policy"), get_settings().rules_cache_seconds, lambda: in_force(store))


def pending(store: PolicyStore) -> PolicyVersion | None:
    """The latest version, while it waits for its approval."""
    head = store.head()
    if head.latest == 0 or head.latest == head.current:
        return None
    found = store.version(head.latest)
    return found if found is not None and found.status == "pending" else None


def version(store: PolicyStore, number: int) -> PolicyVersion:
    found = DEFAULT if number == 0 else store.version(number)
    if found is None:
        raise NotFound(f"stacking policy version {number} does not exist", code="POLICY_VERSION_NOT_FOUND")
    return found


def propose(store: PolicyStore, policy: StackingPolicy, author: str, note: str | None, now: datetime) -> PolicyVersion:
    """The next version, pending until an approver other than its author approves it (a pending
    version not approved is replaced by the next proposal: only the latest can be approved)."""
    head = store.head()
    proposed = PolicyVersion(head.latest + 1, policy, "pending", author, iso_utc(now), note)
    store.propose(proposed, head)
    return proposed


def approve(store: PolicyStore, number: int, caller: Caller, now: datetime) -> PolicyVersion:
    """The pending version in force: by an approver, never its author, and only the latest one."""
    if APPROVERS not in caller.groups:
        raise Forbidden("approving the stacking policy needs the approvers group", code="APPROVER_REQUIRED")
    head = store.head()
    found = version(store, number)
    if found.author == caller.subject:
        raise Forbidden("the author of a policy version may not approve it", code="APPROVER_IS_AUTHOR")
    if found.status != "pending" or number != head.latest:
        raise Conflict(f"version {number} is {found.status if found.status != 'pending' else 'not the latest'}: only the latest "
                       "pending version is approved", code="POLICY_NOT_PENDING")
    approved = PolicyVersion(found.version, found.policy, "approved", found.author, found.createdAt, found.note, caller.subject,
                             iso_utc(now))
    store.approve(approved, head)
    config_cache.forget(("checkout", "policy"))
    return approved


# ---- quotes --------------------------------------------------------------------------------------------


def candidates_of(customer_id: str, now: datetime, chosen: Sequence[str] = ()) -> list[Candidate]:
    """The customer's usable coupons (one query of the wallet), and any coupon chosen that is theirs
    but no longer usable (read one by one: it is left out with its reason, not refused as another's)."""
    from loyalty.coupons.ports import wallet

    usable = wallet().usable(customer_id, now, WALLET_LIMIT)
    missing = [c for c in chosen if c not in {u.couponId for u in usable}]
    found = usable + (wallet().owned(customer_id, missing, now) if missing else [])
    return [Candidate(c.couponId, c.templateId, c.kind, c.benefit, c.validFrom, c.validUntil, c.status, c.redemption, c.amountMinor,
                      c.lockOrderId) for c in found]


def quote(store: PolicyStore, customer_id: str, order: Order, now: datetime, *, coupon_ids: list[str], best: bool,
          points: int | Literal["max"]) -> tuple[quoting.Quote, int]:
    """The quote and the policy version it was priced under. Reads the wallet (one query), the
    balance only when points are asked for, and the policy from memory; writes nothing."""
    if best and coupon_ids:
        raise BusinessRuleViolation("choose coupons, or ask for the best: not both", code="QUOTE_CHOICE_AMBIGUOUS")
    policy = in_force_cached(store)
    balance = 0
    if points != 0:
        from loyalty.points.ports import balance as balances

        balance = balances().spendable(customer_id, now)
    found = quoting.quote(order, candidates_of(customer_id, now, coupon_ids), policy.policy, iso_utc(now), coupon_ids=coupon_ids, best=best,
                          points=points, balance=balance)
    return found, policy.version
