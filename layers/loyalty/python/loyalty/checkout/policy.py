"""The stacking policy (docs/checkout.md, "The policy model"): which coupons combine on one order, in
what order they apply and on what base, which lines each covers, and how points pay. Pure.

Each coupon template belongs to a **stacking group** (its `stackingGroup` here; a template the policy
does not name is in `default`). Per group: `exclusive` (nothing else on the order with it),
`maxPerOrder`, and `combinesWith`, the other groups it may share an order with (`*`: any). Two
coupons of different groups combine only if each group names the other (or `*`): a rule one side
states is not enough, so no group is stacked on against its own rule.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ANY = "*"
DEFAULT_GROUP = "default"
Kind = Literal["threshold", "fixed_amount", "random_amount", "percentage"]
PAYMENT_KINDS: tuple[Kind, ...] = ("threshold", "fixed_amount", "random_amount", "percentage")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupRule(Strict):
    exclusive: StrictBool = Field(default=False, description="Alone on the order: no other coupon, of any group, with it.")
    maxPerOrder: Annotated[StrictInt, Field(ge=1, le=20)] = Field(default=1, description="Coupons of this group on one order.")
    combinesWith: Annotated[list[GroupName | Literal["*"]], Field(max_length=40)] = Field(
        default_factory=list, description="Groups its coupons may share an order with (`*`: any); both groups must name each other.")

    @model_validator(mode="after")
    def _exclusive_stands_alone(self) -> GroupRule:
        if self.exclusive and self.combinesWith:
            raise ValueError("an exclusive group combines with nothing: leave combinesWith empty")
        if self.exclusive and self.maxPerOrder > 1:
            raise ValueError("an exclusive group is alone on the order: maxPerOrder is 1")
        return self


class Step(Strict):
    kind: Kind
    base: Literal["original", "discounted"] = Field(
        description="What the coupon's rule reads (a threshold, a percentage): the lines as ordered, or as the coupons before it left them.")


class LineScope(Strict):
    """The lines a template's coupons cover: by category or SKU (either matching; both empty: every line)."""

    categories: Annotated[list[Key], Field(max_length=100)] = Field(default_factory=list)
    skus: Annotated[list[Key], Field(max_length=500)] = Field(default_factory=list)


class PointsRule(Strict):
    pointValueMinor: Annotated[StrictInt, Field(ge=1, le=10_000)] = Field(default=1, description="What one point pays, in minor units.")
    maxSharePercent: Annotated[StrictInt, Field(ge=0, le=100)] = Field(
        default=100, description="Points pay at most this share of what is left to pay after the coupons.")
    withCoupons: StrictBool = Field(default=True, description="Points may pay on an order that also uses coupons.")


DEFAULT_ORDER: tuple[Step, ...] = (Step(kind="threshold", base="original"), Step(kind="fixed_amount", base="original"),
                                   Step(kind="random_amount", base="original"), Step(kind="percentage", base="discounted"))


class StackingPolicy(Strict):
    """The bank's stacking policy: groups, the templates in them, the order of application, line scopes and points."""

    groups: Annotated[dict[GroupName, GroupRule], Field(max_length=40)] = Field(default_factory=lambda: {DEFAULT_GROUP: GroupRule()})
    templateGroups: Annotated[dict[Key, GroupName], Field(max_length=5_000)] = Field(
        default_factory=dict, description="Each coupon template's stacking group (`default` when left out).")
    maxCoupons: Annotated[StrictInt, Field(ge=1, le=20)] = Field(default=3, description="Coupons on one order, whatever their groups.")
    order: Annotated[list[Step], Field(min_length=len(PAYMENT_KINDS), max_length=len(PAYMENT_KINDS))] = Field(
        default_factory=lambda: list(DEFAULT_ORDER), description="The order coupons apply in, by kind, each with its base.")
    lineScopes: Annotated[dict[Key, LineScope], Field(max_length=5_000)] = Field(
        default_factory=dict, description="The lines each template's coupons cover (every line when left out).")
    points: PointsRule = PointsRule()

    @model_validator(mode="after")
    def _consistent(self) -> StackingPolicy:
        if sorted(step.kind for step in self.order) != sorted(PAYMENT_KINDS):
            raise ValueError(f"order names each payment kind once: {', '.join(PAYMENT_KINDS)}")
        if DEFAULT_GROUP not in self.groups:
            raise ValueError(f"the group {DEFAULT_GROUP!r} is required: templates the policy does not name are in it")
        unknown = sorted({g for g in self.templateGroups.values() if g not in self.groups}
                         | {g for rule in self.groups.values() for g in rule.combinesWith if g != ANY and g not in self.groups})
        if unknown:
            raise ValueError(f"unknown groups: {', '.join(unknown)}")
        for name, rule in self.groups.items():
            for other in rule.combinesWith:
                if other != ANY and self.groups[other].exclusive:
                    raise ValueError(f"group {name} combines with {other}, which is exclusive")
        return self

    def group_of(self, template_id: str) -> str:
        return self.templateGroups.get(template_id, DEFAULT_GROUP)

    def rank_of(self, kind: str) -> int:
        return next(i for i, step in enumerate(self.order) if step.kind == kind)

    def base_of(self, kind: str) -> str:
        return self.order[self.rank_of(kind)].base

    def combine(self, first: str, second: str) -> bool:
        """Coupons of these two groups may share an order (the same group: as its maxPerOrder says)."""
        if first == second:
            return not self.groups[first].exclusive
        one, two = self.groups[first], self.groups[second]
        if one.exclusive or two.exclusive:
            return False
        return (ANY in one.combinesWith or second in one.combinesWith) and (ANY in two.combinesWith or first in two.combinesWith)
