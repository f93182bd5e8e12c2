"""The `CPN#<id>` / `CPN` key: one key, three item shapes, told apart by a discriminator.

A claim's or a command's id (derived from the Idempotency-Key or the command id) holds whatever
that claim or command left: the coupon, a bundle's claim record (its parts have ids of their own),
or the refusal of a command. The discriminator is what only that shape stores: `failure`
(IssueFailure), `bundleParts` (BundleRecord), else a coupon. PynamoDB's `DiscriminatorAttribute`
is not used: it needs a stored class value that today's items do not have, and a query on a
discriminated model filters on that value, so the wallet would lose every coupon written before.

The coupon item's stored names are snake_case (as they always were); its Python names are camelCase,
as the rest of the table's, each naming its stored name with `attr_name`.
"""

from __future__ import annotations

import json
from dataclasses import fields
from functools import cache
from typing import Any

from pynamodb.attributes import Attribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.constants import STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.tables import text_list
from loyalty.coupons import records
from loyalty.coupons.items import CouponsTable
from loyalty.coupons.logic import BundleClaim, Coupon, IssueRefusal

LIVE = ("available", "locked")  # the statuses the expiry sweep may still have to change


class JsonText(Attribute[Any]):
    """A JSON value stored as compact text (the coupon's benefit, funding and redemption rules)."""

    attr_type = STRING

    def serialize(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    def deserialize(self, value: str) -> Any:
        return json.loads(value)


class Wallet(GlobalSecondaryIndex["CouponItem"]):
    """gsi1 `CUST#<customer>`: a customer's coupons, by issue time."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Expiry(GlobalSecondaryIndex["CouponItem"]):
    """gsi2 `EXP#<validUntil date>#<shard>`: live coupons by the end of their validity (sparse)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class CouponItem(CouponsTable):
    """A coupon. `version` conditions every transition: PynamoDB's VersionAttribute writes the
    version read plus one, on condition the stored one is still the one read (as `version = :read`
    did); a new coupon is written with 1."""

    couponId = UnicodeAttribute(attr_name="coupon_id")
    templateId = UnicodeAttribute(attr_name="template_id")
    customerId = UnicodeAttribute(attr_name="customer_id")
    kind = UnicodeAttribute()
    benefit = JsonText()
    status = UnicodeAttribute()
    validFrom = UnicodeAttribute(attr_name="valid_from")
    validUntil = UnicodeAttribute(attr_name="valid_until")
    issuedAt = UnicodeAttribute(attr_name="issued_at")
    source = UnicodeAttribute()
    funding = JsonText()
    fingerprint = UnicodeAttribute()
    redemption = JsonText(null=True)  # coupons issued before redemption rules have none: usable anywhere
    version = VersionAttribute()
    campaignId = UnicodeAttribute(attr_name="campaign_id", null=True)
    commandId = UnicodeAttribute(attr_name="command_id", null=True)
    bundleId = UnicodeAttribute(attr_name="bundle_id", null=True)
    amountMinor = NumberAttribute(attr_name="amount_minor", null=True)
    code = UnicodeAttribute(null=True)
    lockOrderId = UnicodeAttribute(attr_name="lock_order_id", null=True)
    lockedUntil = UnicodeAttribute(attr_name="locked_until", null=True)
    redeemedOrderId = UnicodeAttribute(attr_name="redeemed_order_id", null=True)
    redeemedAt = UnicodeAttribute(attr_name="redeemed_at", null=True)
    discountMinor = NumberAttribute(attr_name="discount_minor", null=True)
    revokedAt = UnicodeAttribute(attr_name="revoked_at", null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute(null=True)  # only while live
    gsi2sk = UnicodeAttribute(null=True)
    wallet = Wallet()
    expiry = Expiry()

    @classmethod
    def of(cls, coupon: Coupon) -> CouponItem:
        """The coupon as stored, its version as it is."""
        return cls._built(coupon, coupon.version)

    @classmethod
    def written_over(cls, before: Coupon | None, after: Coupon) -> CouponItem:
        """`after`, to be saved over `before` (None: a new coupon). The model carries before's
        version: PynamoDB conditions the write on it and stores it plus one, which is after's."""
        if after.version != (before.version + 1 if before else 1):
            raise ValueError(f"coupon {after.coupon_id}: version {after.version} does not follow the one read")
        return cls._built(after, before.version if before else None)

    @classmethod
    def _built(cls, coupon: Coupon, version: int | None) -> CouponItem:
        key = records.coupon_key(coupon.coupon_id)
        values = {name: getattr(coupon, field) for name, field in _domain_fields().items()}
        item = cls(key["pk"], key["sk"], **{k: v for k, v in values.items() if v is not None},
                   gsi1pk=records.wallet_index_key(coupon.customer_id), gsi1sk=f"{coupon.issued_at}#{coupon.coupon_id}")
        if coupon.status in LIVE:  # sparse: only coupons the sweep may still have to expire
            item.gsi2pk = records.expiry_index_key(coupon.valid_until, coupon.coupon_id)
            item.gsi2sk = f"{coupon.valid_until}#{coupon.coupon_id}"
        if version is not None:  # unset, PynamoDB writes 1 on condition that no version is stored
            item.version = version
        return item

    def coupon(self) -> Coupon:
        values = {field: getattr(self, name) for name, field in _domain_fields().items()}
        return Coupon(**{**values, "redemption": self.redemption or {}, "version": int(self.version or 0)})

    def wallet_cursor(self) -> dict[str, Any]:
        """The key a wallet listing resumes after this coupon (the wallet index's and the table's)."""
        return {"pk": {"S": self.pk}, "sk": {"S": self.sk}, "gsi1pk": {"S": self.gsi1pk}, "gsi1sk": {"S": self.gsi1sk}}


@cache
def _domain_fields() -> dict[str, str]:
    """Python attribute name → the `Coupon` field it holds (the stored name is the field's name)."""
    names = {f.name for f in fields(Coupon)} - {"version"}
    return {name: attribute.attr_name for name, attribute in CouponItem.get_attributes().items() if attribute.attr_name in names}


class BundleRecord(CouponsTable):
    """A bundle's claim, under the claim's own id: its parts have ids of their own, so without it the
    same Idempotency-Key could later serve a different template."""

    bundleParts = text_list()
    templateId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    fingerprint = UnicodeAttribute()

    @classmethod
    def of(cls, claim: BundleClaim) -> BundleRecord:
        key = records.coupon_key(claim.bundle_id)
        return cls(key["pk"], key["sk"], bundleParts=list(claim.parts), templateId=claim.template_id,
                   customerId=claim.customer_id, fingerprint=claim.fingerprint)

    def claim(self) -> BundleClaim:
        return BundleClaim(self.pk.removeprefix("CPN#"), tuple(self.bundleParts or ()), self.templateId, self.customerId,
                           self.fingerprint)


class IssueFailure(CouponsTable):
    """A refused `IssueCoupon` command: takes its coupon id for good, so a redelivered command is not
    served later, after its sender has rolled its budget back."""

    failure = UnicodeAttribute()  # the refusal's code

    @classmethod
    def of(cls, refusal: IssueRefusal) -> IssueFailure:
        key = records.coupon_key(refusal.coupon_id)
        return cls(key["pk"], key["sk"], failure=refusal.code)

    def refusal(self) -> IssueRefusal:
        return IssueRefusal(self.pk.removeprefix("CPN#"), self.failure)


class Revocation(CouponsTable):
    """`REVOKE#<coupon id>` / `REVOKE`: a `RevokeCoupon` command answered (its coupon id is the
    command's, as the coupon's), written with the answer's event: a redelivered command finds it."""

    outcome = UnicodeAttribute()  # revoked, not_issued, or the refusal's code
    at = UnicodeAttribute()

    @classmethod
    def of(cls, coupon_id: str, outcome: str, at: str) -> Revocation:
        pk, sk = cls.key_of(coupon_id).values()
        return cls(pk, sk, outcome=outcome, at=at)

    @staticmethod
    def key_of(coupon_id: str) -> dict[str, str]:
        return {"pk": f"REVOKE#{coupon_id}", "sk": "REVOKE"}


CpnItem = CouponItem | BundleRecord | IssueFailure


def cpn_item(raw: dict[str, Any]) -> CpnItem:
    """The model of a `CPN#` item read raw, by its discriminator."""
    if "failure" in raw:
        return IssueFailure.from_raw_data(raw)
    if "bundleParts" in raw:
        return BundleRecord.from_raw_data(raw)
    return CouponItem.from_raw_data(raw)


def read_cpn(coupon_id: str) -> CpnItem | None:
    """One consistent GetItem, whatever the shape: PynamoDB's `get` instantiates the model it is
    called on, and which one is known only once the item is read."""
    key = records.coupon_key(coupon_id)
    found = CouponItem._get_connection().get_item(key["pk"], range_key=key["sk"], consistent_read=True)
    return cpn_item(found["Item"]) if "Item" in found else None
