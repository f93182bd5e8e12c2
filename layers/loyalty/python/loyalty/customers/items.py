"""The customers table's item: the profile (`customerId` the key). Owned by the customers capability:
other capabilities read and change it only through `loyalty.customers.ports`."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from loyalty.core.tables import ItemModel, text_list


class CustomerItem(ItemModel):
    """A profile: core banking's newest snapshot, the engine's own tags, and the attributes points
    (`tier`) and scoring (`lifecycleStage`, `segments`, `scores`, `scoredAt`) keep on it. Stored
    attribute names are camelCase, as the API's."""

    table_setting = "customers_table"

    class Meta:
        table_name = None

    customerId = UnicodeAttribute(hash_key=True)
    changedAt = UnicodeAttribute(null=True)  # fixed-width ISO UTC, compared as text in conditions
    sourceEventId = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    branchId = UnicodeAttribute(null=True)
    tags = text_list(null=True)
    operatorTags = text_list(null=True)
    operatorTagsChangedAt = UnicodeAttribute(null=True)
    aumMinor = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    riskLevel = UnicodeAttribute(null=True)
    openedAt = UnicodeAttribute(null=True)
    channels = text_list(null=True)
    relationshipManagerId = UnicodeAttribute(null=True)
    tier = UnicodeAttribute(null=True)
    tierChangedAt = UnicodeAttribute(null=True)
    tierSourceEventId = UnicodeAttribute(null=True)
    lifecycleStage = UnicodeAttribute(null=True)
    segments = text_list(null=True)
    scores = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: score name to number
    scoredAt = UnicodeAttribute(null=True)
    erased = BooleanAttribute(null=True)
    erasedAt = UnicodeAttribute(null=True)
    # Marketing consent, one set per channel (loyalty.customers.consents): the newest word on it wins.
    consentWecom = BooleanAttribute(null=True)
    consentWecomAt = UnicodeAttribute(null=True)
    consentWecomSource = UnicodeAttribute(null=True)  # bank#<event id> | customer#<key>
    consentSms = BooleanAttribute(null=True)
    consentSmsAt = UnicodeAttribute(null=True)
    consentSmsSource = UnicodeAttribute(null=True)
    consentPush = BooleanAttribute(null=True)
    consentPushAt = UnicodeAttribute(null=True)
    consentPushSource = UnicodeAttribute(null=True)

    def plain(self) -> dict[str, Any]:
        """The item as plain values, for the domain's `CustomerProfile`. PynamoDB reads numbers as
        JSON does (integers exact); only the raw map of scores needs turning into a dict."""
        values = dict(self.attribute_values)
        if self.scores is not None:
            values["scores"] = self.scores.as_dict()
        return values


# The attributes a profile snapshot from core banking sets (`logic.snapshot_from_event`).
SNAPSHOT_ATTRIBUTES = (
    "changedAt", "sourceEventId", "birthday", "branchId", "tags", "aumMinor", "currency", "riskLevel", "openedAt",
    "channels", "relationshipManagerId",
)
