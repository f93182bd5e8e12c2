"""What other capabilities may know and do of customers: the only way they reach the customers
table. Reads return the domain's `CustomerProfile`; writes that must be atomic with another
capability's own change are added to that capability's `Transaction`, so the item shape and its
conditions stay here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol

from loyalty.core.transactions import Transaction
from loyalty.customers.model import CustomerProfile


class BranchPage(NamedTuple):
    """One page of profiles, counted by core banking's `branchId` (the org capability's report of
    branch ids no org unit maps)."""

    customers_by_branch: dict[str, int]
    without_branch: int  # profiles with no branchId
    profiles_read: int
    next_cursor: str | None


class CustomerDirectory(Protocol):
    def profile(self, customer_id: str) -> CustomerProfile | None:
        """The profile, read consistently; None if core banking never sent one (a tier stored before
        the profile, on a placeholder, is not one)."""

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]:
        """Many profiles, by id; unknown ids are absent."""

    def page(self, cursor: str | None, limit: int) -> tuple[list[CustomerProfile], str | None]:
        """One page of every profile, in no particular order (a campaign's audience run); the
        cursor of the next page, None at the end. A cursor from elsewhere is a 400 INVALID_CURSOR."""

    def branches(self, cursor: str | None, limit: int) -> BranchPage:
        """One page of `limit` items of the table (a scan reading only the branch ids), erased
        customers left out; the cursor of the next, None at the end. A cursor from elsewhere is a 400
        INVALID_CURSOR."""

    def require_not_erased(self, transaction: Transaction, customer_id: str) -> None:
        """In the caller's transaction: the customer was not erased (a missing profile passes).
        Refused under the label `customer-not-erased`."""

    def record_scores(self, transaction: Transaction, customer_id: str, stage: str, segments: list[str],
                      scores: dict[str, Any], at: str) -> None:
        """In scoring's transaction: the attributes scoring keeps on the profile. Refused, under the
        label `customer-profile`, before the profile exists and on an erased customer's tombstone."""


class DynamoCustomerDirectory:
    def profile(self, customer_id: str) -> CustomerProfile | None:
        from loyalty.customers.store import DynamoCustomerStore

        return DynamoCustomerStore().get(customer_id)

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]:
        from loyalty.customers.items import CustomerItem
        from loyalty.customers.store import is_profile, profile_of

        unique = list(dict.fromkeys(customer_ids))
        found = CustomerItem.batch_get(unique, consistent_read=True) if unique else []
        return {item.customerId: profile_of(item) for item in found if is_profile(item)}

    def page(self, cursor: str | None, limit: int) -> tuple[list[CustomerProfile], str | None]:
        from loyalty.core.dynamo import decode_cursor
        from loyalty.core.errors import InvalidInput
        from loyalty.core.tables import page
        from loyalty.customers.items import CustomerItem
        from loyalty.customers.store import is_profile, profile_of

        start = decode_cursor(cursor)
        if start is not None and (set(start) != {"customerId"} or set(start["customerId"]) != {"S"}):
            raise InvalidInput("the cursor is not one this listing returned", code="INVALID_CURSOR")
        items, next_cursor = page(CustomerItem.scan(limit=limit, last_evaluated_key=start), limit)
        # A page may hold fewer profiles than items: a tier's placeholder is not one.
        return [profile_of(item) for item in items if is_profile(item)], next_cursor

    def branches(self, cursor: str | None, limit: int) -> BranchPage:
        from collections import Counter

        from loyalty.core.dynamo import decode_cursor
        from loyalty.core.errors import InvalidInput
        from loyalty.core.tables import page
        from loyalty.customers.items import CustomerItem
        from loyalty.customers.store import is_profile

        start = decode_cursor(cursor)
        if start is not None and (set(start) != {"customerId"} or set(start["customerId"]) != {"S"}):
            raise InvalidInput("the cursor is not one this listing returned", code="INVALID_CURSOR")
        results = CustomerItem.scan(limit=limit, last_evaluated_key=start, attributes_to_get=["customerId", "branchId", "changedAt", "erased"])
        items, next_cursor = page(results, limit)
        profiles = [item for item in items if is_profile(item) and not item.erased]  # a tier's placeholder is not one
        counted = Counter(item.branchId for item in profiles if item.branchId)
        return BranchPage(dict(counted), sum(1 for item in profiles if not item.branchId), len(profiles), next_cursor)

    def require_not_erased(self, transaction: Transaction, customer_id: str) -> None:
        from loyalty.customers.items import CustomerItem

        transaction.check("customer-not-erased", CustomerItem, customer_id, condition=CustomerItem.erased.does_not_exist())

    def record_scores(self, transaction: Transaction, customer_id: str, stage: str, segments: list[str],
                      scores: dict[str, Any], at: str) -> None:
        from loyalty.customers.items import CustomerItem

        transaction.update(
            "customer-profile",
            CustomerItem(customer_id),
            [CustomerItem.lifecycleStage.set(stage), CustomerItem.segments.set(segments),
             CustomerItem.scores.set(scores), CustomerItem.scoredAt.set(at)],  # type: ignore[arg-type]
            condition=CustomerItem.changedAt.exists() & CustomerItem.erased.does_not_exist(),  # a profile, not a tier's placeholder
        )


@cache
def directory() -> CustomerDirectory:
    return DynamoCustomerDirectory()


class CustomersPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any] | None:
        """The profile as stored; None if core banking never sent one."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any] | None:
        """Replaces the profile with a tombstone no later profile event can overwrite:
        `{"profileFieldsRemoved": [names], "erasedAt": iso}` (a tombstone already there stays, with
        its own time, and nothing more is removed). None (nothing written) when there is no profile."""


@cache
def privacy() -> CustomersPrivacy:
    from loyalty.customers.privacy import DynamoCustomersPrivacy

    return DynamoCustomersPrivacy()


# ---- notifications: marketing consent per channel (docs/consent.md) ---------------------------------


class CustomerConsents(Protocol):
    def granted(self, customer_id: str, channel: str) -> bool:
        """Whether the customer consents to marketing on the channel now (read consistently): never
        for an erased customer, nor on a channel nobody spoke for."""


class DynamoCustomerConsents:
    def granted(self, customer_id: str, channel: str) -> bool:
        from loyalty.customers.store import DynamoCustomerStore

        stored, erased = DynamoCustomerStore().consents(customer_id)
        found = stored.get(channel)  # type: ignore[call-overload]
        return not erased and found is not None and found.granted


def consents() -> CustomerConsents:
    return DynamoCustomerConsents()
