"""What a delivery is asked to send (docs/notifications.md), and what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Channel = Literal["wecom", "sms", "push"]
# Marketing needs the customer's consent on the channel; a service message (a points-expiry notice)
# does not, and never carries an offer (docs/notifications.md, "Service messages").
Kind = Literal["marketing", "service"]
State = Literal["deferred", "sending", "delivered", "failed"]


class DeliveryRequest(BaseModel):
    """`NotificationRequested` (events/schemas/outbound/NotificationRequested.json), or an RM's
    message. Unknown fields are ignored: the event grows only by optional fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    notificationId: str = Field(min_length=1, max_length=200, description="The delivery's idempotency key, end to end.")
    customerId: str = Field(min_length=1, max_length=64)
    channel: Channel
    templateId: str = Field(min_length=1, max_length=128)
    variables: dict[str, str] = Field(default_factory=dict, max_length=50)
    campaignId: str | None = None
    arm: str | None = Field(default=None, max_length=64, description="The campaign's arm: its receipts are counted in the report per arm.")
    deliverAt: datetime | None = None
    kind: Kind = "marketing"

    @field_validator("deliverAt")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("deliverAt must carry a time zone")
        return value


class ProviderAnswer(BaseModel):
    """A provider's answer: accepted (with its message id), or refused for good (4xx, with its own
    code), or not now (5xx, a timeout, throttled: worth another attempt)."""

    model_config = ConfigDict(frozen=True)

    outcome: Literal["accepted", "refused", "unavailable"]
    providerMessageId: str | None = None
    providerCode: str | None = None
