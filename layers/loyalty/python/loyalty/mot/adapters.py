"""What mot reads of other capabilities, through their ports."""

from __future__ import annotations

from loyalty.mot.service import Customer


class ProfileCustomers:
    """The customer's manager, unit and value from their profile (customers' port) and the org tree."""

    def customer(self, customer_id: str) -> Customer | None:
        from loyalty.customers.ports import directory
        from loyalty.org.ports import units

        profile = directory().profile(customer_id)
        if profile is None:
            return None  # a moment before the profile: no manager known, the head office's queue takes it
        if profile.erased:
            return Customer(customer_id, None, None, None, (), 0, erased=True)
        unit = units().unit_for_branch(profile.branchId) if profile.branchId else None
        return Customer(customer_id, profile.relationshipManagerId, unit, profile.tier, tuple(profile.segments), profile.aumMinor or 0)
