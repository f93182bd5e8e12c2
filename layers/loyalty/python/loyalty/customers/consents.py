"""Marketing consent per customer and channel (PIPL; docs/consent.md).

A consent comes from the bank (`CustomerConsentChanged`, source `bank.core`) or from the customer
themself (`PUT /v1/customers/{customerId}/consents`). Each channel keeps the newest word on it, by
`changedAt` (ties broken by the source's id): an older event arriving late never undoes a newer
choice, and the same event twice is a no-op. It may come before the customer's profile (kept on a
placeholder the profile completes, as the member level is) and never lands on an erased customer's
tombstone, which holds none: an erasure erases consent with the rest. No consent stored for a
channel means no consent: marketing is opt-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from loyalty.customers.model import CustomerId

Channel = Literal["wecom", "sms", "push"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
Source = Literal["bank", "customer"]


@dataclass(frozen=True)
class Consent:
    channel: Channel
    granted: bool
    changed_at: str  # fixed-width ISO UTC, compared as text in conditions
    source: Source
    source_id: str  # the bank event's id, or the customer's request's Idempotency-Key


class ConsentChangedDetail(BaseModel):
    """`CustomerConsentChanged` from `bank.core` (events/schemas/inbound/CustomerConsentChanged.json).
    Unknown fields are ignored: the contract grows only by optional fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: CustomerId
    channel: Channel
    granted: StrictBool
    changedAt: datetime
    purpose: Literal["marketing"] = "marketing"

    @model_validator(mode="after")
    def _aware(self) -> ConsentChangedDetail:
        if self.changedAt.tzinfo is None:
            raise ValueError("changedAt must carry a time zone")
        return self


class ConsentsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"wecom": True, "sms": False}], "minProperties": 1})

    wecom: StrictBool | SkipJsonSchema[None] = Field(default=None, description="Marketing messages through WeCom (企业微信).")
    sms: StrictBool | SkipJsonSchema[None] = Field(default=None, description="Marketing text messages.")
    push: StrictBool | SkipJsonSchema[None] = Field(default=None, description="Marketing push notifications of the bank's app.")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(value is None for value in data.values()):
            raise ValueError("leave out a channel not changed: a consent is true or false, never null")
        return data

    @model_validator(mode="after")
    def _one_at_least(self) -> ConsentsRequest:
        if all(getattr(self, channel) is None for channel in CHANNELS):
            raise ValueError("name at least one channel: wecom, sms or push")
        return self

    def named(self) -> dict[Channel, bool]:
        return {channel: value for channel in CHANNELS if (value := getattr(self, channel)) is not None}


class ChannelConsentView(BaseModel):
    granted: bool = Field(description="False also when nothing was ever said: marketing is opt-in.")
    changedAt: str | None = Field(default=None, description="When it was given or withdrawn (UTC); none when never said.")
    source: Source | None = Field(default=None, description="Who said it last: the bank, or the customer through the app.")


class ConsentsView(BaseModel):
    customerId: str
    wecom: ChannelConsentView
    sms: ChannelConsentView
    push: ChannelConsentView

    @classmethod
    def of(cls, customer_id: str, stored: dict[Channel, Consent]) -> ConsentsView:
        def view(channel: Channel) -> ChannelConsentView:
            found = stored.get(channel)
            return ChannelConsentView(granted=False) if found is None else ChannelConsentView(
                granted=found.granted, changedAt=found.changed_at, source=found.source)

        return cls(customerId=customer_id, wecom=view("wecom"), sms=view("sms"), push=view("push"))
