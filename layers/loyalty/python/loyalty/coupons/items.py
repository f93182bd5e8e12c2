"""The coupons table's items as PynamoDB models. Owned by the coupons capability: no other module
reads or writes them (other capabilities use `loyalty.coupons.ports`).

  pk                          sk                   model           indexes
  TPL#<template>              META                 TemplateItem    gsi1 TEMPLATES / <createdAt>#<template>
  STOCK#<template>#<n>        STOCK                StockShard
  DAYSTOCK#<t>#<date>#<n>     DAY                  DayStock        TTL expiresAt
  LIMIT#<t>#<customer>        LIFE | DAY#<date>    ClaimCounter    TTL expiresAt (dated counters)
  CPN#<coupon>                CPN                  CouponItem | BundleRecord | IssueFailure (`items_coupon`)
  CODE#<t>#<bucket>           <code>               CodeItem        gsi2 FREECODE#<t>#<bucket> while free
  UPLOAD#<t>#<upload>         CHUNK#<n>            UploadChunk     TTL expiresAt
  SWEEP                       <job>                SweepMarker
  OUTBOX#<event>              OUTBOX               CouponsOutbox   TTL expiresAt

Python attribute names are camelCase, as the API's. Stored names are kept as today's items have
them: where one is not camelCase (`count`, and the coupon's snake_case names) the model names it
with `attr_name`.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.core.outbox import OutboxItem
from loyalty.core.tables import ItemModel
from loyalty.coupons import records
from loyalty.coupons.model import Template, TemplateCreate


class CouponsTable(ItemModel):
    """The base of every item model of the coupons table (`pk`/`sk` strings)."""

    table_setting = "coupons_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class CouponsOutbox(OutboxItem):
    table_setting = "coupons_table"

    class Meta:
        table_name = None


# ---- templates ------------------------------------------------------------------------------------


class TemplateList(GlobalSecondaryIndex["TemplateItem"]):
    """gsi1 `TEMPLATES`: every template, by creation time."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class TemplateItem(CouponsTable):
    """A template's definition and lifecycle. `version` conditions every whole-item change: PynamoDB's
    VersionAttribute writes the version read plus one, on condition the stored one is still the one
    read (as `version = :read` did); a new template is written with 1."""

    definition = UnicodeAttribute()  # the TemplateCreate, as JSON text
    status = UnicodeAttribute()
    version = VersionAttribute()
    stockAdded = NumberAttribute()
    createdAt = UnicodeAttribute()
    createdBy = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    listing = TemplateList()

    @classmethod
    def key(cls, template_id: str) -> TemplateItem:
        return cls(f"TPL#{template_id}", "META")

    @classmethod
    def of(cls, template: Template) -> TemplateItem:
        """The template as stored, its version as it is."""
        return cls._built(template, template.version)

    @classmethod
    def written_over(cls, before: Template | None, after: Template) -> TemplateItem:
        """`after`, to be saved over `before` (None: a new template). The model carries before's
        version: PynamoDB conditions the write on it and stores it plus one, which is after's."""
        if after.version != (before.version + 1 if before else 1):
            raise ValueError(f"template {after.template_id}: version {after.version} does not follow the one read")
        return cls._built(after, before.version if before else None)

    @classmethod
    def _built(cls, template: Template, version: int | None) -> TemplateItem:
        item = cls(
            f"TPL#{template.template_id}", "META", definition=_stored(template.definition), status=template.status,
            stockAdded=template.stockAdded, createdAt=template.createdAt, createdBy=template.createdBy, updatedAt=template.updatedAt,
            gsi1pk="TEMPLATES", gsi1sk=f"{template.createdAt}#{template.template_id}",
        )
        if version is not None:  # unset, PynamoDB writes 1 on condition that no version is stored
            item.version = version
        return item

    def template(self) -> Template:
        return Template(definition=TemplateCreate.model_validate_json(self.definition), status=self.status,  # type: ignore[arg-type]
                        version=int(self.version or 0), stockAdded=int(self.stockAdded), createdAt=self.createdAt,
                        createdBy=self.createdBy, updatedAt=self.updatedAt)


# ---- stock and counters ---------------------------------------------------------------------------


class StockShard(CouponsTable):
    """One shard of a template's stock; `active` mirrors the template's status, so that a pause
    stops claims at once, whatever a claimer's cached template says."""

    left = NumberAttribute()
    active = BooleanAttribute()

    @classmethod
    def key(cls, template_id: str, shard: int) -> StockShard:
        key = records.shard_key(template_id, shard)
        return cls(key["pk"], key["sk"])


class DayStock(CouponsTable):
    """A shard's issues on one business date, against the template's daily stock."""

    issued = NumberAttribute(attr_name="count", null=True)  # `count` would hide Model.count
    expiresAt = NumberAttribute(null=True)

    @classmethod
    def key(cls, template_id: str, business_date: str, shard: int) -> DayStock:
        key = records.daily_shard_key(template_id, business_date, shard)
        return cls(key["pk"], key["sk"])


class ClaimCounter(CouponsTable):
    """A customer's claims of a template: for life (`LIFE`) or on one business date (`DAY#<date>`)."""

    claims = NumberAttribute(attr_name="count", null=True)  # `count` would hide Model.count
    expiresAt = NumberAttribute(null=True)  # dated counters only

    @classmethod
    def key(cls, template_id: str, customer_id: str, period: str) -> ClaimCounter:
        key = records.limit_key(template_id, customer_id, period)
        return cls(key["pk"], key["sk"])


# ---- voucher codes --------------------------------------------------------------------------------


class FreeCodes(GlobalSecondaryIndex["CodeItem"]):
    """gsi2 `FREECODE#<t>#<bucket>`: a template's codes not assigned yet (sparse: assigning removes them)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class CodeItem(CouponsTable):
    """An uploaded voucher code (the sort key); `assignedTo` the coupon it went to."""

    uploadId = UnicodeAttribute(null=True)
    assignedTo = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    free = FreeCodes()

    @classmethod
    def key(cls, template_id: str, code: str) -> CodeItem:
        key = records.code_key(template_id, code)
        return cls(key["pk"], key["sk"])

    @classmethod
    def uploaded(cls, template_id: str, code: str, upload_id: str) -> CodeItem:
        item = cls.key(template_id, code)
        item.uploadId = upload_id
        item.gsi2pk = records.free_codes_index_key(template_id, records.code_bucket(code))
        item.gsi2sk = code
        return item


class UploadChunk(CouponsTable):
    """One applied chunk of a code upload: a retried upload skips it, so no stock is added twice."""

    expiresAt = NumberAttribute()


# ---- jobs -----------------------------------------------------------------------------------------


class SweepMarker(CouponsTable):
    """A job's bookmark (pk `SWEEP`), e.g. the last date the expiry sweep finished."""

    value = UnicodeAttribute()


def _stored(definition: TemplateCreate) -> str:
    """The definition as JSON text; a head office's template (no org unit), or one with the default
    return policy, as it was written before templates had them, so items written before and after
    read and compare the same."""
    left_out: dict[str, Any] = {} if definition.orgUnitId is not None else {"orgUnitId": True}
    if definition.redemption.returnPolicy == "on_full_refund":
        left_out["redemption"] = {"returnPolicy"}
    return definition.model_dump_json(exclude=left_out or None)
