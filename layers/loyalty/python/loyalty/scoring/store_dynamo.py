"""The scoring store on DynamoDB: `store.ScoringStore` on the models of `items.py`, with the profile
read and written through the customers port (scoring never touches the customers table itself).
Configuration, runs and managers' books are in `store_config.py`; parked events in `store_parking.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loyalty.core.transactions import MAX_ITEMS, Refused, Transaction
from loyalty.scoring.identities import SHARED_CAP
from loyalty.scoring.items import (
    MARKER_TTL_SECONDS,
    EventMarkerItem,
    FeatureStateItem,
    IdentityItem,
    ManagerEntryItem,
    MembershipItem,
    ScoringOutboxItem,
    customer_pk,
    manager_shard,
)
from loyalty.scoring.store import AlreadyApplied, InvalidWrites, Rescoring, StaleState, UnknownCustomer
from loyalty.scoring.store_config import DynamoConfigStore, DynamoRunStore
from loyalty.scoring.store_parking import DynamoParkingStore

if TYPE_CHECKING:
    from loyalty.customers.model import CustomerProfile
    from loyalty.customers.ports import CustomerDirectory


class DynamoScoringStore(DynamoConfigStore, DynamoRunStore, DynamoParkingStore):
    def __init__(self, customers: CustomerDirectory | None = None):
        if customers is None:
            from loyalty.customers.ports import directory

            customers = directory()
        self.customers = customers

    # ---- reads ------------------------------------------------------------------------------------

    def state(self, customer_id: str) -> dict[str, Any] | None:
        return FeatureStateItem.record(customer_pk(customer_id), "STATE")

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self.customers.profile(customer_id)

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]:
        return self.customers.profiles(customer_ids)

    # ---- the identity index -----------------------------------------------------------------------

    def others_on(self, keyed: str, customer_id: str) -> int:
        from pynamodb.constants import COUNT

        # One Query, as sized: PynamoDB's Model.count() pages on through the whole partition, while
        # the Limit here bounds what is read (SHARED_CAP + 1 items: one may be the customer's own).
        page = IdentityItem._get_connection().query(
            f"IDENT#{keyed}", range_key_condition=IdentityItem.sk.startswith("CUST#"),
            filter_condition=IdentityItem.sk != customer_pk(customer_id), select=COUNT, limit=SHARED_CAP + 1, consistent_read=True,
        )
        return min(int(page.get("Count", 0)), SHARED_CAP)

    def customers_on(self, keyed: str, except_customer: str, limit: int) -> list[str]:
        found = IdentityItem.query(f"IDENT#{keyed}", IdentityItem.sk.startswith("CUST#"), consistent_read=True, limit=limit + 1,
                                   attributes_to_get=["customerId"])
        return [item.customerId for item in found if item.customerId != except_customer][:limit]

    # ---- the re-scoring transaction ---------------------------------------------------------------

    def commit(self, rescorings: Sequence[Rescoring]) -> None:
        from pynamodb.exceptions import TransactWriteError

        transaction = Transaction()
        for rescoring in rescorings:
            self._add(transaction, rescoring)
        if len(transaction) > MAX_ITEMS:
            raise InvalidWrites(f"{len(transaction)} items do not fit one transaction")
        try:
            transaction.commit()
        except Refused as refused:
            if refused.failed("marker"):
                raise AlreadyApplied() from None
            if refused.failed("state"):
                raise StaleState() from None
            if refused.failed("customer-profile"):
                raise UnknownCustomer() from None
            raise StaleState() from None  # a conflict with another transaction: read again
        except TransactWriteError as error:
            if error.cause_response_code == "ValidationException":
                raise InvalidWrites(str(error)) from error
            raise

    def _add(self, transaction: Transaction, r: Rescoring) -> None:
        customer = r.customer_id
        if r.marker is not None:
            event_id, now = r.marker
            marker = EventMarkerItem(customer_pk(customer), f"EVT#{event_id}", expiresAt=now + MARKER_TTL_SECONDS)
            transaction.put("marker", marker, EventMarkerItem.pk.does_not_exist())
        state = FeatureStateItem.of(customer, r.version)
        if r.replace:
            for name, value in r.state.items():
                setattr(state, name, value)
            transaction.put("state", state)  # the version condition is the model's (VersionAttribute)
        else:
            transaction.update("state", state, [getattr(FeatureStateItem, name).set(value) for name, value in r.state.items()])
        self.customers.record_scores(transaction, customer, r.stage, r.segments, r.scores, r.at)
        for segment in r.entered:
            transaction.put("membership", MembershipItem.of(customer, segment, r.at))
        for segment in r.left:
            transaction.delete("membership", MembershipItem.key(customer, segment))
        if r.leave_manager:
            transaction.delete("manager", ManagerEntryItem.of(r.leave_manager, customer))
        if r.join_manager:
            manager = r.join_manager
            transaction.put("manager", ManagerEntryItem.of(manager, customer, customerId=customer, managerId=manager, value=r.value,
                                                           scoredAt=r.at, gsi1pk=f"RMS#{manager_shard(manager)}", gsi1sk=manager))
        ScoringOutboxItem.add_to(transaction, r.events)
        for keyed, kind in r.identities_added.items():
            # No condition: it cannot cancel the re-scoring, writing it again changes nothing, and
            # `kind` and `firstSeenAt` keep the first ones (if_not_exists).
            transaction.update("identity", IdentityItem.of(keyed, customer), [
                IdentityItem.customerId.set(customer), IdentityItem.kind.set(IdentityItem.kind | kind),
                IdentityItem.firstSeenAt.set(IdentityItem.firstSeenAt | r.at)])
        for keyed in r.identities_retired:
            transaction.delete("identity", IdentityItem.of(keyed, customer))
