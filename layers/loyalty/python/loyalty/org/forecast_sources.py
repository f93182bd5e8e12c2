"""The cash-need forecast's reading: other capabilities' books through their ports, in pages, folded
into the small tallies `loyalty.org.forecast` computes with (docs/org-units.md, "The cash-need forecast").

Memory stays bounded: a page of items at a time, one tally per template and per month, and the
units of the customers of one page. Work is bounded too: each scan (coupons, lots, ledger entries)
examines at most `FORECAST_MAX_ITEMS` items, beyond which the forecast is refused whole (422
`FORECAST_TOO_LARGE`), never answered from part of the books.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation
from loyalty.org import forecast as fc
from loyalty.org.model import OrgUnit
from loyalty.org.ports import OrgUnits

PAGE_ITEMS = 500
COUNTED_STATUSES = ("approved", "paused")  # campaigns that are (or may again be) granting
OUTSTANDING = ("available", "locked")
T = TypeVar("T")


@dataclass
class Scope:
    """Which customers and campaigns are the unit's: by org unit, through the org tree's port."""

    unit: OrgUnit
    units: OrgUnits
    subtree: frozenset[str]

    def holds_unit(self, unit_id: str | None) -> bool:
        """A campaign's (or a customer's) unit: None (no unit, or a branch no unit maps) is the head office's."""
        return self.unit.is_root or (unit_id is not None and unit_id in self.subtree)

    def customers_within(self, customer_ids: Iterable[str]) -> set[str]:
        """Of these customers, those whose profile's `branchId` maps to a unit of the subtree (all of
        them for the head office: no profile need be read)."""
        ids = set(customer_ids)
        if self.unit.is_root or not ids:
            return ids
        from loyalty.customers.ports import directory

        profiles = directory().profiles(sorted(ids))
        return {c for c, p in profiles.items()
                if p.branchId and self.holds_unit(self.units.unit_for_branch(p.branchId))}


def _pages(read: Callable[[str | None, int], tuple[list[T], str | None]], what: str, limit: int) -> Iterable[list[T]]:
    """Each page of a scan; a request examines up to `PAGE_ITEMS` items of the table, whatever its
    filter keeps, so that is what counts against `limit`."""
    cursor: str | None = None
    examined = 0
    while True:
        page, cursor = read(cursor, PAGE_ITEMS)
        examined += PAGE_ITEMS if cursor is not None else len(page)
        if examined > limit:
            raise BusinessRuleViolation(
                f"the forecast examines at most {limit} items for its {what}: the bank holds more. Ask for it at a unit lower in the tree "
                "or raise FORECAST_MAX_ITEMS", code="FORECAST_TOO_LARGE")
        yield page
        if cursor is None:
            return


def campaigns(scope: Scope, currency: str) -> tuple[list[fc.CampaignBudget], list[dict[str, Any]], list[dict[str, Any]]]:
    """The unit's campaigns counted (approved or paused, a total budget in minor units of `currency`),
    their units, and those of the unit left out with the reason."""
    from loyalty.campaigns.ports import books

    counted, units, left_out = [], [], []
    for budget in books().budgets():
        if not scope.holds_unit(budget.org_unit_id) or budget.status not in COUNTED_STATUSES:
            continue
        if budget.unit != "minor" or budget.currency != currency:
            reason = "budget in rewards" if budget.unit != "minor" else f"budget in {budget.currency}"
            left_out.append({"campaignId": budget.campaign_id, "reason": reason})
            continue
        counted.append(fc.CampaignBudget(budget.campaign_id, budget.total, budget.spent, budget.starts_at, budget.ends_at))
        units.append({"campaignId": budget.campaign_id, "orgUnitId": budget.org_unit_id})
    return counted, units, left_out


def coupons(scope: Scope, months: Sequence[fc.Month], now: datetime, zone: ZoneInfo, currency: str, limit: int
            ) -> tuple[list[fc.TemplateTally], list[dict[str, Any]]]:
    """Every template worth money in `currency`, with every customer's settled coupons (the rates) and
    the unit's customers' outstanding ones by the month their validity ends; templates left out."""
    from loyalty.coupons.ports import books

    tallies: dict[str, fc.TemplateTally] = {}
    left_out: list[dict[str, Any]] = []
    for value in books().template_values():
        if value.basis == "none":
            continue
        if value.currency != currency:
            left_out.append({"templateId": value.template_id, "reason": f"value in {value.currency}"})
            continue
        tallies[value.template_id] = fc.TemplateTally(value.template_id, value.value_minor, value.basis)
    at, last = iso_utc(now), months[-1].ends if months else now
    for page in _pages(books().issued, "coupons", limit):
        mine = [c for c in page if c.kind == "coupon" and c.template_id in tallies]
        live = [c for c in mine if c.status in OUTSTANDING and (c.valid_until or "") > at]
        within = scope.customers_within(c.customer_id for c in live if c.customer_id)
        for c in mine:
            tally = tallies[str(c.template_id)]
            if c.status == "redeemed":
                tally.redeemed += 1
            elif c.status == "revoked":
                tally.revoked += 1
            elif c.status == "expired" or (c.status in OUTSTANDING and (c.valid_until or "") <= at):
                tally.expired += 1
            elif c.status in OUTSTANDING and c.customer_id in within:
                ends = datetime.fromisoformat(str(c.valid_until))
                if ends >= last:
                    tally.outstanding_beyond += 1
                else:
                    label = fc.month_of(ends.astimezone(zone).date())
                    tally.outstanding[label] = tally.outstanding.get(label, 0) + 1
    return list(tallies.values()), left_out


def points(scope: Scope, months: Sequence[fc.Month], today: str, limit: int) -> tuple[dict[str, int], int, int, int]:
    """The unit's customers' points by the month their lot expires (a lot is valid through its date;
    lots lapsed before `today` and not swept yet are left out), the points expiring after the
    horizon, and the points those customers redeemed and let expire (from the ledger)."""
    from loyalty.points.ports import books

    labels = {m.label for m in months}
    by_month: dict[str, int] = {}
    beyond = 0
    for page in _pages(books().lots, "points lots", limit):
        live = [lot for lot in page if lot.expires_on >= today and lot.remaining > 0]
        within = scope.customers_within(lot.customer_id for lot in live)
        for lot in live:
            if lot.customer_id in within:
                label = lot.expires_on[:7]
                if label in labels:
                    by_month[label] = by_month.get(label, 0) + lot.remaining
                else:
                    beyond += lot.remaining
    redeemed = expired = 0
    for settled in _pages(books().settled, "ledger entries", limit):
        within = scope.customers_within(s.customer_id for s in settled)
        for entry in settled:
            if entry.customer_id in within:
                if entry.kind == "redeem":
                    redeemed -= entry.points
                else:
                    expired -= entry.points
    return by_month, beyond, redeemed, expired


def build(unit: OrgUnit, units: OrgUnits, months_count: int, now: datetime) -> dict[str, Any]:
    """The forecast of `unit` (its subtree) for `months_count` months from the one `now` is in: the
    answer of `GET /v1/admin/org-units/{unitId}/forecast`."""
    from loyalty.core.config import get_settings

    settings = get_settings()
    zone, currency, limit = settings.bank_zone, settings.point_value_currency, settings.forecast_max_items
    value = Fraction(str(settings.point_value_minor))
    scope = Scope(unit, units, units.subtree(unit.unitId) or frozenset({unit.unitId}))
    months = fc.months_ahead(now, months_count, zone)
    today = now.astimezone(zone).date().isoformat()

    budgets, campaign_units, campaigns_left_out = campaigns(scope, currency)
    spreads = [fc.campaign_forecast(b, now, months) for b in budgets]
    tallies, templates_left_out = coupons(scope, months, now, zone, currency, limit)
    rates = fc.coupon_rates(tallies)
    by_template = fc.coupon_amounts(tallies, rates, months)
    outstanding = {t.template_id: t.outstanding for t in tallies}
    expiring, points_beyond, redeemed, expired = points(scope, months, today, limit)
    points_rate = fc.points_rate(redeemed, expired)

    lines: list[dict[str, Any]] = []
    for month in months:
        campaign_parts: list[dict[str, Any]] = [{"campaignId": s.campaign_id, "amountMinor": s.by_month[month.label]} for s in spreads if s.by_month[month.label]]
        coupon_parts: list[dict[str, Any]] = [{"templateId": t, "outstanding": outstanding[t][month.label], "amountMinor": amount}
                        for t, amount in sorted(by_template[month.label].items())]
        points_expiring = expiring.get(month.label, 0)
        expected, points_minor = fc.points_amount(points_expiring, points_rate, value)
        campaigns_minor = sum(p["amountMinor"] for p in campaign_parts)
        coupons_minor = sum(p["amountMinor"] for p in coupon_parts)
        lines.append({
            "month": month.label,
            "campaigns": {"amountMinor": campaigns_minor, "byCampaign": campaign_parts},
            "coupons": {"amountMinor": coupons_minor, "outstanding": sum(p["outstanding"] for p in coupon_parts),
                        "byTemplate": coupon_parts},
            "points": {"amountMinor": points_minor, "expiringPoints": points_expiring, "expectedPoints": _shown(expected),
                       "redemptionRate": _shown(points_rate.value), "pointValueMinor": _shown(value)},
            "totalMinor": campaigns_minor + coupons_minor + points_minor,
        })
    unit_of = {c["campaignId"]: c["orgUnitId"] for c in campaign_units}
    return {
        "unitId": unit.unitId,
        "currency": currency,
        "asOf": iso_utc(now),
        "months": lines,
        "totalMinor": sum(line["totalMinor"] for line in lines),
        "campaigns": [{"campaignId": s.campaign_id, "orgUnitId": unit_of[s.campaign_id], "totalMinor": b.total, "spentMinor": b.spent,
                       "remainingMinor": s.remaining, "method": s.method, "burnPerDayMinor": _shown(s.burn_per_day),
                       "startsAt": iso_utc(b.starts_at), "endsAt": iso_utc(b.ends_at), "afterHorizonMinor": s.beyond}
                      for b, s in zip(budgets, spreads, strict=True)],
        "templates": [{"templateId": t.template_id, "valueMinor": t.value_minor, "valueBasis": t.basis, "redeemed": t.redeemed,
                       "expired": t.expired, "revoked": t.revoked, "redemptionRate": _shown(rates[t.template_id].value),
                       "rateBasis": rates[t.template_id].basis, "outstandingAfterHorizon": t.outstanding_beyond}
                      for t in sorted(tallies, key=lambda t: t.template_id) if t.settled or t.outstanding or t.outstanding_beyond],
        "points": {"redeemed": redeemed, "expired": expired, "redemptionRate": _shown(points_rate.value), "rateBasis": points_rate.basis,
                   "pointValueMinor": _shown(value), "expiringAfterHorizon": points_beyond},
        "leftOut": {"campaigns": campaigns_left_out, "templates": templates_left_out},
    }


def _shown(value: Fraction) -> float:
    """A rate or a fraction of points, shown to 4 decimals (the figures are computed exactly)."""
    return round(float(value), 4)
