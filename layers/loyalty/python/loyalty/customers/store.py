"""Profile persistence. Ordering and idempotency live in one conditional write, never a read first.

A `TierChanged` may come before the customer's first `CustomerProfileChanged` (points books earnings
from bank events without a profile). It is stored at once, on a **placeholder**: the item with only
`customerId` and the tier's attributes, no `changedAt`. A placeholder is not a profile: every read
answers None for it (`is_profile`), and every write that needs a profile is conditioned on
`changedAt` existing. The first snapshot is applied onto it like onto nothing (it sets only core
banking's attributes), so the tier stays. docs/data-model.md, `customers`."""

from __future__ import annotations

from typing import Any, Protocol

from pynamodb.expressions.update import Action

from loyalty.core.errors import Conflict, NotFound
from loyalty.customers.consents import CHANNELS, Channel, Consent
from loyalty.customers.items import SNAPSHOT_ATTRIBUTES, CustomerItem
from loyalty.customers.model import CustomerProfile


class CustomerStore(Protocol):
    def get(self, customer_id: str) -> CustomerProfile | None: ...

    def apply_snapshot(self, customer_id: str, attributes: dict[str, Any]) -> bool:
        """Store the snapshot unless a newer or the same event is already stored; True if applied."""

    def set_operator_tags(self, customer_id: str, tags: list[str], changed_at: str) -> CustomerProfile: ...

    def apply_tier(self, customer_id: str, tier: str, changed_at: str, event_id: str) -> bool:
        """True if stored (on the profile, or on a placeholder until it comes), False if the same or a
        newer tier is stored, or the customer was erased."""

    def apply_consents(self, customer_id: str, consents: list[Consent]) -> list[Channel]:
        """Those of `consents` newer than the word stored on their channel, in one write (as the tier:
        on the profile or a placeholder, never on a tombstone); the channels written (none: each had
        the same or a newer word, or the customer was erased)."""

    def consents(self, customer_id: str) -> tuple[dict[Channel, Consent], bool]:
        """The consents stored, by channel, and whether the customer was erased."""


def is_profile(item: CustomerItem) -> bool:
    """A snapshot from core banking was stored (or the erasure's tombstone): not a tier's placeholder."""
    return item.changedAt is not None


def profile_of(item: CustomerItem) -> CustomerProfile:
    return CustomerProfile.model_validate(item.plain())


class DynamoCustomerStore:
    def get(self, customer_id: str) -> CustomerProfile | None:
        try:
            item = CustomerItem.get(customer_id, consistent_read=True)
        except CustomerItem.DoesNotExist:
            return None
        return profile_of(item) if is_profile(item) else None

    def apply_snapshot(self, customer_id: str, attributes: dict[str, Any]) -> bool:
        from pynamodb.exceptions import UpdateError

        from loyalty.core.dynamo import is_condition_failure

        fields = {name: getattr(CustomerItem, name) for name in SNAPSHOT_ATTRIBUTES}
        actions: list[Action] = [field.set(attributes[name]) if attributes.get(name) is not None else field.remove()
                                 for name, field in fields.items()]
        changed, source = attributes["changedAt"], attributes["sourceEventId"]
        # Newer wins, ties broken by event id; the same event again matches neither branch. A tier's
        # placeholder has no changedAt: the first snapshot completes it.
        newer = (CustomerItem.changedAt.does_not_exist() | (CustomerItem.changedAt < changed)
                 | ((CustomerItem.changedAt == changed) & (CustomerItem.sourceEventId < source)))
        try:
            CustomerItem(customer_id).update(actions, condition=newer)
            return True
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise

    def apply_tier(self, customer_id: str, tier: str, changed_at: str, event_id: str) -> bool:
        from pynamodb.exceptions import UpdateError

        from loyalty.core.dynamo import is_condition_failure

        item = CustomerItem(customer_id)
        # Onto the profile, or a placeholder (no item: one is created); never onto a tombstone. Newer
        # wins, ties broken by event id (the same event is a no-op).
        onto = (CustomerItem.erased.does_not_exist()
                & (CustomerItem.tierChangedAt.does_not_exist() | (CustomerItem.tierChangedAt < changed_at)
                   | ((CustomerItem.tierChangedAt == changed_at) & (CustomerItem.tierSourceEventId < event_id))))
        try:
            item.update([CustomerItem.tier.set(tier), CustomerItem.tierChangedAt.set(changed_at),
                         CustomerItem.tierSourceEventId.set(event_id)], condition=onto)
            return True
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise

    def apply_consents(self, customer_id: str, consents: list[Consent]) -> list[Channel]:
        from pynamodb.exceptions import UpdateError

        from loyalty.core.dynamo import is_condition_failure

        for _ in range(3):  # the read only picks the channels to write; the write's condition decides
            stored, erased = self.consents(customer_id)
            newer = [c for c in consents if _newer(c, stored.get(c.channel))]
            if erased or not newer:
                return []
            onto = CustomerItem.erased.does_not_exist()
            actions: list[Action] = []
            for consent in newer:
                granted, at, source = _consent_attributes(consent.channel)
                source_id = _source_id(consent)
                # Newer wins, ties broken by the source's id (the same event again matches neither).
                onto &= at.does_not_exist() | (at < consent.changed_at) | ((at == consent.changed_at) & (source < source_id))
                actions += [granted.set(consent.granted), at.set(consent.changed_at), source.set(source_id)]
            try:
                CustomerItem(customer_id).update(actions, condition=onto)
                return [c.channel for c in newer]
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
        return []

    def consents(self, customer_id: str) -> tuple[dict[Channel, Consent], bool]:
        try:
            item = CustomerItem.get(customer_id, consistent_read=True)
        except CustomerItem.DoesNotExist:
            return {}, False
        found: dict[Channel, Consent] = {}
        for channel in CHANNELS:
            granted, at, source = (getattr(item, attribute.attr_name) for attribute in _consent_attributes(channel))
            if at is not None:
                kind, _, source_id = str(source).partition("#")
                found[channel] = Consent(channel, bool(granted), at, "bank" if kind == "bank" else "customer", source_id)
        return found, bool(item.erased)

    def set_operator_tags(self, customer_id: str, tags: list[str], changed_at: str) -> CustomerProfile:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import from_item, is_condition_failure

        actions: list[Action] = [CustomerItem.operatorTags.set(tags) if tags else CustomerItem.operatorTags.remove(),
                                 CustomerItem.operatorTagsChangedAt.set(changed_at)]
        known = CustomerItem.changedAt.exists() & CustomerItem.erased.does_not_exist()  # not a tier's placeholder
        # PynamoDB's update() cannot ask for the refused item (erased or missing?); its request can.
        request = CustomerItem(customer_id).get_update_kwargs_from_instance(actions, known, return_values_on_condition_failure="ALL_OLD")
        try:
            result = dynamodb().update_item(**request, ReturnValues="ALL_NEW")
        except Exception as error:
            if is_condition_failure(error):
                if "erased" in (getattr(error, "response", {}).get("Item") or {}):
                    raise Conflict(f"customer {customer_id} was erased", code="CUSTOMER_ERASED") from None
                raise NotFound(f"customer {customer_id} is not known", code="CUSTOMER_NOT_FOUND") from None
            raise
        return CustomerProfile.model_validate(from_item(result["Attributes"]))


def _consent_attributes(channel: Channel) -> tuple[Any, Any, Any]:
    """The channel's attributes of the item: whether granted, when, and by which source."""
    name = f"consent{channel.capitalize()}"
    return getattr(CustomerItem, name), getattr(CustomerItem, f"{name}At"), getattr(CustomerItem, f"{name}Source")


def _source_id(consent: Consent) -> str:
    return f"{consent.source}#{consent.source_id}"


def _newer(consent: Consent, stored: Consent | None) -> bool:
    return stored is None or (consent.changed_at, _source_id(consent)) > (stored.changed_at, _source_id(stored))
