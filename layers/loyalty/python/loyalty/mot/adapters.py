"""What mot reads of other capabilities, through their ports."""

from __future__ import annotations

from typing import Any

from loyalty.mot.service import Customer


class ProfileCustomers:
    """The customer's manager, unit and value from their profile (customers' port) and the org tree."""

    def customer(self, customer_id: str) -> Customer | None:
        from loyalty.customers.ports import directory

        profile = directory().profile(customer_id)
        if profile is None:
            return None  # a moment before the profile: no manager known, the head office's queue takes it
        return customer_of(profile)


def customer_of(profile: Any) -> Customer:
    """The customer as MOT needs them, from their profile (customers' `CustomerProfile`)."""
    from loyalty.org.ports import units

    if profile.erased:
        return Customer(profile.customerId, None, None, None, (), 0, erased=True)
    unit = units().unit_for_branch(profile.branchId) if profile.branchId else None
    return Customer(profile.customerId, profile.relationshipManagerId, unit, profile.tier, tuple(profile.segments), profile.aumMinor or 0)
