"""What the API answers about customers (response models; the stored profile is `model.CustomerProfile`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from loyalty.core.money import Money


class CustomerView(BaseModel):
    """A customer's profile as the customer sees it: their own member level and lifecycle stage."""

    customerId: str
    birthday: str | None = Field(description="YYYY-MM-DD")
    branchId: str | None
    tags: list[str] = Field(description="From core banking.")
    operatorTags: list[str] = Field(description="The engine's own, set by operators.")
    aum: Money | None = Field(description="Assets under management, from core banking.")
    riskLevel: str | None
    openedAt: str | None
    channels: list[str]
    relationshipManagerId: str | None
    updatedAt: str = Field(description="When core banking last changed the profile (UTC).")
    tier: str | None = Field(description="The member level.")
    lifecycleStage: str | None


class OperatorCustomerView(CustomerView):
    """What an operator sees: also the segments the customer is in and their scores."""

    segments: list[str]
    scores: dict[str, int | float]
    scoredAt: str | None
