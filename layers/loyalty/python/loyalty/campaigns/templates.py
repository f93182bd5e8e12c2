"""Ready-made campaigns (活动模板): an operator fills in a few parameters, the template writes the
rest. Each returns a full `CampaignDefinition`, validated like one written by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from loyalty.campaigns.model import CampaignDefinition, FromTemplate
from loyalty.core.errors import InvalidInput, NotFound
from loyalty.core.money import DEFAULT_CURRENCY


def _coupon_and_notice(p: dict[str, Any]) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [{"type": "issue_coupon", "templateId": p["couponTemplateId"], "costMinor": p.get("couponCostMinor", 0)}]
    if p.get("notifyTemplateId"):
        actions.append({"type": "notify", "channel": p.get("channel", "push"), "templateId": p["notifyTemplateId"]})
    return actions


def _threshold(p: dict[str, Any], default: int | None = None) -> dict[str, Any]:
    """`minAmountMinor` (required unless there is a default) in `currency` (default CNY)."""
    minimum = p["minAmountMinor"] if default is None else p.get("minAmountMinor", default)
    return {"minAmountMinor": minimum, "currency": p.get("currency", DEFAULT_CURRENCY)}


def spend_x_get_coupon(p: dict[str, Any]) -> dict[str, Any]:
    """A card transaction of at least `minAmountMinor` (in `mccs`, if given) earns a coupon; once per
    customer unless `perCustomer` says otherwise."""
    return {
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", **_threshold(p), "mccs": p.get("mccs", [])},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _coupon_and_notice(p)}],
        "frequencyCaps": {"lifetime": p.get("perCustomer", 1)},
    }


def first_salary_gift(p: dict[str, Any]) -> dict[str, Any]:
    """The first salary credit the campaign sees for a customer earns a gift coupon."""
    return {
        "trigger": {"type": "event", "eventType": "SalaryCredited", **_threshold(p, 0)},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _coupon_and_notice(p)}],
        "frequencyCaps": {"lifetime": 1},
    }


def deposit_increase_gift(p: dict[str, Any]) -> dict[str, Any]:
    """A balance increase of at least `minIncreaseMinor` (LargeBalanceMovement) earns points."""
    return {
        "trigger": {"type": "event", "eventType": "LargeBalanceMovement", "minAmountMinor": p["minIncreaseMinor"],
                    "currency": p.get("currency", DEFAULT_CURRENCY)},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [
            {"type": "award_points", "points": p["points"], "costCentre": p["pointsCostCentre"], "costMinor": p.get("costMinor", 0)}]}],
        "frequencyCaps": {"monthly": 1},
    }


def birthday_gift(p: dict[str, Any]) -> dict[str, Any]:
    """Every day at 09:00 (bank time): customers whose birthday it is get a coupon, once a year."""
    return {
        "trigger": {"type": "schedule", "expression": p.get("expression", "cron(0 9 * * ? *)"), "timezone": p.get("timezone", "Asia/Shanghai")},
        "audience": {"birthdayToday": True},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _coupon_and_notice(p)}],
        "frequencyCaps": {"yearly": 1},
    }


def _reward(p: dict[str, Any]) -> list[dict[str, Any]]:
    """Points when the parameters name them, else a coupon; with a notice if asked."""
    if p.get("points"):
        actions: list[dict[str, Any]] = [
            {"type": "award_points", "points": p["points"], "costCentre": p["pointsCostCentre"], "costMinor": p.get("costMinor", 0)}]
        if p.get("notifyTemplateId"):
            actions.append({"type": "notify", "channel": p.get("channel", "push"), "templateId": p["notifyTemplateId"]})
        return actions
    return _coupon_and_notice(p)


def check_in_streak(p: dict[str, Any]) -> dict[str, Any]:
    """签到: every `days` consecutive days of check-ins earn points (or a coupon); a missed day
    starts the count again. At most `perMonth` rewards a month (default 4)."""
    return {
        "trigger": {"type": "event", "eventType": "CheckInCompleted", "streakDays": p["days"]},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _reward(p)}],
        "frequencyCaps": {"monthly": p.get("perMonth", 4)},
    }


def card_spend_task(p: dict[str, Any]) -> dict[str, Any]:
    """A task (任务中心): `count` card transactions of at least `minAmountMinor` within `withinDays`
    days earn the reward, once per customer unless `perCustomer` says otherwise."""
    return {
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", **_threshold(p), "mccs": p.get("mccs", []),
                    "target": {"count": p["count"], "withinDays": p.get("withinDays", 30)}},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _reward(p)}],
        "frequencyCaps": {"lifetime": p.get("perCustomer", 1)},
    }


def mgm_referral(p: dict[str, Any]) -> dict[str, Any]:
    """MGM (老带新): an invitee who signs up with an inviter's code and makes a card transaction of at
    least `minAmountMinor` within `withinDays` (default 30) days gets a coupon; the inviter gets
    `inviterPoints`. Self-referral (same device or phone) is refused. At most `inviterPerMonth`
    (default 10) rewards a month for one inviter."""
    invitee = {"couponTemplateId": p["inviteeCouponTemplateId"], "couponCostMinor": p.get("inviteeCostMinor", 0)}
    inviter = {"points": p["inviterPoints"], "pointsCostCentre": p["pointsCostCentre"], "costMinor": p.get("inviterCostMinor", 0)}
    return {
        "trigger": {"type": "referral", **_threshold(p, 0), "withinDays": p.get("withinDays", 30),
                    "inviterActions": _reward(inviter)},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": _coupon_and_notice(invitee)}],
        "frequencyCaps": {"monthly": p.get("inviterPerMonth", 10)},
    }


TEMPLATES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "spend_x_get_coupon": spend_x_get_coupon,
    "first_salary_gift": first_salary_gift,
    "deposit_increase_gift": deposit_increase_gift,
    "birthday_gift": birthday_gift,
    "check_in_streak": check_in_streak,
    "card_spend_task": card_spend_task,
    "mgm_referral": mgm_referral,
}


def describe() -> list[dict[str, str]]:
    return [{"template": name, "description": " ".join((build.__doc__ or "").split())} for name, build in TEMPLATES.items()]


def build(template: str, request: FromTemplate) -> CampaignDefinition:
    if template not in TEMPLATES:
        raise NotFound(f"campaign template {template} does not exist", code="CAMPAIGN_TEMPLATE_NOT_FOUND")
    try:
        shape = TEMPLATES[template](request.parameters)
    except (KeyError, TypeError) as missing:
        raise InvalidInput(f"template {template} needs parameter {missing}", code="VALIDATION_ERROR") from None
    body = {**request.model_dump(mode="json", exclude={"parameters"}), **shape}
    try:
        return CampaignDefinition.model_validate(body)
    except ValidationError as error:
        # As the API's own validation errors: the fields are those of the campaign the template wrote.
        details = [{"field": ".".join(str(part) for part in e["loc"]) or "(body)", "in": "body", "problem": e["msg"]}
                   for e in error.errors(include_url=False, include_input=False, include_context=False)]
        raise InvalidInput(f"template {template} with these parameters is not valid", code="VALIDATION_ERROR",
                           details=details) from None
