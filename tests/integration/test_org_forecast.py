"""The cash-need forecast (`GET /v1/admin/org-units/{unitId}/forecast`) on the local cloud.

A year of a branch's books is seeded: coupons of two templates issued over the past year (redeemed,
expired, revoked, and outstanding ones ending over the next 14 months) and points lots expiring over
the next 14 months with a year of redemptions and expiries on the ledger, for customers of a branch,
its sub-branch, another branch and a branch id no unit maps. Coupons and points are written as their
capabilities store them (their own item models; each account's balance, lots and ledger agree, so
the liability report and the reconciliation still balance). The endpoint's figures are then checked
against a calculation written here, from the seeded data alone. Campaigns have no org unit yet: they
are the head office's, so a branch's campaign part is nothing, and the head office's lists them.

The session's cloud is shared: everything here has ids of its own, and the rates are those of this
test's own templates and customers."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.cloud import LocalCloud
from loyalty.coupons.items_coupon import CouponItem
from loyalty.coupons.logic import Coupon
from loyalty.points.items import BALANCE, BalanceItem, LotItem, account_pk, lot_index_keys
from loyalty.points.ledger import Entry
from loyalty.points.store import _entry_item
from tests.support import org
from tests.support import scoring as scr
from tests.support.api import Api, eventually
from tests.support.campaigns import card_spend, coupon_campaign, launch, open_window, trigger
from tests.support.coupons import FUNDING, active_template, create_template, fixed_amount, percentage, template_body
from tests.support.org import HQ, ROOT, error_code, operator, unique

ZONE = ZoneInfo("Asia/Shanghai")
FACE, UNIT_COST = 1_234, 500  # the percentage template is worth its funding's unit cost
assert FUNDING["unitCostMinor"] == UNIT_COST


def bank_month(offset: int) -> tuple[int, int]:
    today = datetime.now(ZONE).date()
    index = today.year * 12 + today.month - 1 + offset
    return index // 12, index % 12 + 1


def label(offset: int) -> str:
    year, month = bank_month(offset)
    return f"{year:04d}-{month:02d}"


def mid_month(offset: int) -> datetime:
    """Noon on the 15th of the month `offset` months from this one, bank time."""
    return datetime.combine(date(*bank_month(offset), 15), time(12), ZONE)


def last_day(offset: int) -> date:
    year, month = bank_month(offset + 1)
    return date(year, month, 1) - timedelta(days=1)


def utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Seeded:
    branch: str
    sub: str
    other: str
    customers: dict[str, str]  # customer → unit (None-mapped customers under "nowhere")
    templates: dict[str, int]  # template → value per coupon
    settled: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    outstanding: list[tuple[str, str, datetime]] = field(default_factory=list)  # template, customer, validUntil
    lots: list[tuple[str, str, int]] = field(default_factory=list)  # customer, expiresOn, remaining
    ledger: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))  # customer → kind → points


def put_coupon(template_id: str, value: int, customer: str, status: str, until: datetime, issued: datetime) -> None:
    coupon_id = unique("fc")
    CouponItem.written_over(None, Coupon(coupon_id, template_id, customer, "fixed_amount", fixed_amount(value), status, utc_text(issued - timedelta(days=1)),
                         utc_text(until), utc_text(issued), "claim", dict(FUNDING), unique("fp"))).save()


def put_account(customer: str, lots: list[tuple[str, int]], redeemed: int, expired: int) -> None:
    """Lots, the balance they make, and a ledger that sums to it: one earn, the redemptions, the expiries."""
    available = sum(points for _, points in lots)
    for expires_on, points in lots:
        lot_id = f"{expires_on}#cc-forecast#r1"
        index = lot_index_keys(customer, lot_id, expires_on)
        LotItem(account_pk(customer), f"LOT#{lot_id}", lotId=lot_id, expiresOn=expires_on, remaining=points, costCentre="cc-forecast",
                ruleId="r1", customerId=customer, gsi2pk=index["gsi2pk"], gsi2sk=index["gsi2sk"]).save()
    BalanceItem(account_pk(customer), BALANCE, customerId=customer, available=available, debt=0, growth=0, held=0).save()
    at = utc_text(datetime.now(UTC) - timedelta(days=200))
    entries = [Entry(f"earn:forecast:{customer}", "earn", available + redeemed + expired, at, "cc-forecast", {"test": "forecast"})]
    if redeemed:
        entries.append(Entry(f"redeem:forecast:{customer}", "redeem", -redeemed, at, "cc-forecast", {"test": "forecast"}))
    if expired:
        entries.append(Entry(f"expire:forecast:{customer}", "expire", -expired, at, "cc-forecast", {"test": "forecast"}))
    for entry in entries:
        _entry_item(customer, entry).save()


@pytest.fixture(scope="module")
def seeded(cloud: LocalCloud, api: Api) -> Seeded:
    org.ensure_head_office(api)
    codes = {name: unique(f"code-{name}") for name in ("a", "a1", "b")}
    branch = org.branch(api, branchCode=codes["a"])
    sub = str(org.create(api, unique("sub"), "sub_branch", branch, branchCode=codes["a1"])["unitId"])
    other = org.branch(api, branchCode=codes["b"])
    customers = {unique("fa"): branch, unique("fa"): branch, unique("fa1"): sub, unique("fb"): other, unique("fx"): "nowhere"}
    for customer, unit in customers.items():
        code = {branch: codes["a"], sub: codes["a1"], other: codes["b"]}.get(unit, unique("code-unmapped"))
        scr.put_profile(cloud, customer, branchId=code)
    face = create_template(api, template_body(benefit=fixed_amount(FACE)))["templateId"]
    cost = create_template(api, template_body(benefit=percentage()))["templateId"]
    seed = Seeded(branch, sub, other, customers, {str(face): FACE, str(cost): UNIT_COST})
    rng = random.Random(18)
    now = datetime.now(UTC)
    # A year of settled coupons: their rates (every customer's, strangers' too)
    for template_id, (redeemed, expired, revoked) in ((face, (30, 12, 3)), (cost, (9, 14, 0))):
        for status, count in (("redeemed", redeemed), ("expired", expired), ("revoked", revoked)):
            for _ in range(count):
                issued = now - timedelta(days=rng.randint(20, 360))
                put_coupon(template_id, seed.templates[template_id], unique("stranger"), status, issued + timedelta(days=15), issued)
                seed.settled[template_id][status] += 1
        # one left available past its validity, the sweep not run yet: expired
        put_coupon(template_id, seed.templates[template_id], unique("stranger"), "available", now - timedelta(hours=2), now - timedelta(days=40))
        seed.settled[template_id]["expired"] += 1
    # Outstanding coupons of every customer, ending over the next 14 months (the horizon is 12)
    for customer in customers:
        for _ in range(6):
            template_id = rng.choice(sorted(seed.templates))
            until = mid_month(rng.randint(1, 14))
            put_coupon(template_id, seed.templates[template_id], customer, rng.choice(["available", "available", "locked"]), until,
                       now - timedelta(days=5))
            seed.outstanding.append((template_id, customer, until))
    # Points: lots expiring at the ends of the next 14 months, and a year of redemptions and expiries
    for customer in customers:
        lots = sorted({(last_day(rng.randint(0, 13)).isoformat(), rng.randint(1, 5_000)) for _ in range(4)})
        lots = list({expires_on: points for expires_on, points in lots}.items())
        redeemed, expired = rng.randint(200, 2_000), rng.randint(100, 900)
        put_account(customer, lots, redeemed, expired)
        seed.lots += [(customer, expires_on, points) for expires_on, points in lots]
        seed.ledger[customer]["redeem"] += redeemed
        seed.ledger[customer]["expire"] += expired
    return seed


# ---- the calculation, written here from the seeded data alone -------------------------------------------


def half_up(value: Fraction) -> int:
    return int((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected(seed: Seeded, units: set[str], months: int) -> dict[str, Any]:
    """By month: the coupons' amount per template and the points' amount, for customers of `units`."""
    mine = {c for c, u in seed.customers.items() if u in units}
    labels = [label(i) for i in range(months)]
    rates = {}
    for template_id, counts in seed.settled.items():
        settled = counts["redeemed"] + counts["expired"] + counts["revoked"]
        assert settled >= 20  # both templates' own rates are used
        rates[template_id] = Fraction(counts["redeemed"], settled)
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for template_id, customer, until in seed.outstanding:
        month = f"{until.year:04d}-{until.month:02d}"
        if customer in mine and month in labels:
            counted[(month, template_id)] += 1
    redeemed = sum(seed.ledger[c]["redeem"] for c in mine)
    expired = sum(seed.ledger[c]["expire"] for c in mine)
    points_rate = Fraction(redeemed, redeemed + expired) if redeemed + expired >= 1000 else Fraction(1)
    expiring: dict[str, int] = defaultdict(int)
    for customer, expires_on, points in seed.lots:
        if customer in mine:
            expiring[expires_on[:7]] += points
    lines = {}
    for month in labels:
        coupons = {t: half_up(seed.templates[t] * n * rates[t]) for (m, t), n in sorted(counted.items()) if m == month}
        points_minor = half_up(expiring[month] * points_rate)  # a point is worth 1 minor unit (POINT_VALUE_MINOR's default)
        lines[month] = {"coupons": coupons, "points": points_minor, "expiring": expiring[month],
                        "total": sum(coupons.values()) + points_minor}
    return {"lines": lines, "rates": rates, "pointsRate": points_rate, "redeemed": redeemed, "expired": expired}


def forecast(api: Api, unit: str, who: dict[str, Any] = HQ, months: int | None = None) -> Any:
    query = f"?months={months}" if months else ""
    return api.call("GET", f"{ROOT}/{unit}/forecast{query}", **who)


def check(found: dict[str, Any], wanted: dict[str, Any]) -> None:
    assert [line["month"] for line in found["months"]] == list(wanted["lines"])
    for line in found["months"]:
        want = wanted["lines"][line["month"]]
        assert {p["templateId"]: p["amountMinor"] for p in line["coupons"]["byTemplate"]} == want["coupons"], line["month"]
        assert (line["points"]["expiringPoints"], line["points"]["amountMinor"]) == (want["expiring"], want["points"]), line["month"]
        assert line["campaigns"] == {"amountMinor": 0, "byCampaign": []}  # campaigns of no unit are the head office's
        assert line["totalMinor"] == want["total"]
    assert found["totalMinor"] == sum(want["total"] for want in wanted["lines"].values())
    assert found["points"]["redeemed"] == wanted["redeemed"] and found["points"]["expired"] == wanted["expired"]
    assert found["points"]["redemptionRate"] == round(float(wanted["pointsRate"]), 4)
    rates = {t["templateId"]: t for t in found["templates"]}
    for template_id, rate in wanted["rates"].items():
        if template_id in rates:
            assert (rates[template_id]["redemptionRate"], rates[template_id]["rateBasis"]) == (round(float(rate), 4), "observed")


def test_the_forecast_of_a_seeded_year_agrees_with_a_calculation_made_here(api: Api, seeded: Seeded) -> None:
    # When the branch's forecast is asked for, 12 months ahead (the default)
    response = forecast(api, seeded.branch)
    assert response.status_code == 200, response.text
    found = response.json()
    # Then every month's coupons, points and total are the calculation's, for the branch and its sub-branch
    wanted = expected(seeded, {seeded.branch, seeded.sub}, 12)
    assert any(line["total"] for line in wanted["lines"].values())
    check(found, wanted)
    assert found["currency"] == "CNY" and found["campaigns"] == []
    # And the templates' values and counts are listed with the rates
    listed = {t["templateId"]: t for t in found["templates"]}
    for template_id, counts in seeded.settled.items():
        assert (listed[template_id]["redeemed"], listed[template_id]["expired"], listed[template_id]["revoked"]) == (
            counts["redeemed"], counts["expired"], counts["revoked"])
        assert listed[template_id]["valueMinor"] == seeded.templates[template_id]
    assert {t["valueBasis"] for t in listed.values() if t["templateId"] in seeded.templates} == {"face", "unit_cost"}
    # And what ends after the horizon is counted apart
    after = sum(1 for t, c, until in seeded.outstanding
                if seeded.customers[c] in (seeded.branch, seeded.sub) and f"{until.year:04d}-{until.month:02d}" > label(11) and t in listed)
    assert sum(listed[t]["outstandingAfterHorizon"] for t in seeded.templates) == after
    # And the sub-branch's, over 14 months, is its customers' alone
    sub = forecast(api, seeded.sub, months=14)
    assert sub.status_code == 200, sub.text
    check(sub.json(), expected(seeded, {seeded.sub}, 14))


def test_a_branch_operator_reads_their_subtree_only(api: Api, seeded: Seeded) -> None:
    mine = operator(seeded.branch)
    # The branch's operator reads the branch's forecast and the sub-branch's
    assert forecast(api, seeded.branch, mine, months=2).status_code == 200
    assert forecast(api, seeded.sub, mine, months=2).status_code == 200
    # But another branch's, and the head office's, are 404 as if they did not exist
    for unit in (seeded.other, "hq", "no-such-unit"):
        refused = forecast(api, unit, mine, months=2)
        assert (refused.status_code, error_code(refused)) == (404, "ORG_UNIT_NOT_FOUND"), unit
    # And the other branch's operator sees their own customers only
    theirs = forecast(api, seeded.other, operator(seeded.other), months=14)
    assert theirs.status_code == 200
    check(theirs.json(), expected(seeded, {seeded.other}, 14))
    # And a token without an org unit is refused
    assert error_code(forecast(api, seeded.branch, operator(None))) == "ORG_UNIT_REQUIRED"


def test_months_out_of_range_are_refused(api: Api, seeded: Seeded) -> None:
    for months in ("0", "25", "x"):
        assert api.call("GET", f"{ROOT}/{seeded.branch}/forecast?months={months}", **HQ).status_code in (400, 422), months


def test_the_head_office_counts_the_campaigns_of_no_unit_and_every_customer(cloud: LocalCloud, api: Api, seeded: Seeded) -> None:
    # Given a campaign of no org unit with a budget of 100.00 CNY, opened minutes ago, that has granted once (1.00)
    body = coupon_campaign(active_template(api), budget={"unit": "minor", "currency": "CNY", "total": 10_000}, window=open_window(45))
    body["variants"][0]["actions"][0]["costMinor"] = 100
    campaign_id = launch(api, body)
    assert trigger(cloud, "CardTransactionPosted", card_spend(unique("fc-spender"), 150_000, merchant=campaign_id)) == {"batchItemFailures": []}

    # When the head office's forecast is asked for
    def counted() -> dict[str, Any] | None:
        response = forecast(api, "hq", months=3)
        assert response.status_code == 200, response.text
        found = response.json()
        mine = [c for c in found["campaigns"] if c["campaignId"] == campaign_id]
        return found if mine and mine[0]["spentMinor"] == 100 else None

    found = eventually(counted, timeout_s=30, interval_s=0.5)
    # Then it lists the campaign with what it spent, its remaining spread evenly over its window (less than a day of
    # burn to observe): all of it within the three months
    (campaign,) = [c for c in found["campaigns"] if c["campaignId"] == campaign_id]
    assert (campaign["orgUnitId"], campaign["remainingMinor"], campaign["method"], campaign["afterHorizonMinor"]) == (None, 9_900, "plan", 0)
    placed = [part["amountMinor"] for line in found["months"] for part in line["campaigns"]["byCampaign"] if part["campaignId"] == campaign_id]
    assert sum(placed) == 9_900
    # And the coupons of the customer whose branch no unit maps count at the head office
    unmapped = next(c for c, u in seeded.customers.items() if u == "nowhere")
    ending = [(t, until) for t, c, until in seeded.outstanding if c == unmapped and f"{until.year:04d}-{until.month:02d}" <= label(2)]
    for template_id, until in ending:
        line = next(line for line in found["months"] if line["month"] == f"{until.year:04d}-{until.month:02d}")
        assert any(p["templateId"] == template_id for p in line["coupons"]["byTemplate"])


def test_a_branch_counts_its_own_campaigns_spread_by_its_plan(api: Api, seeded: Seeded) -> None:
    # Given a branch holding a pool in CNY, and a campaign of it with 300.00 CNY to spend over 45 days (none spent yet)
    year = str(datetime.now(ZONE).year)
    org.ensure_root_pool(api, year, "CNY")
    branch = org.branch(api)
    allocated = org.allocate(api, org.HEAD_OFFICE, branch, year, 1_000_000, measure="CNY")
    assert allocated.status_code == 200, allocated.text
    body = coupon_campaign(next(iter(seeded.templates)), orgUnitId=branch, window=open_window(45),
                           budget={"unit": "minor", "currency": "CNY", "total": 30_000})
    body["variants"][0]["actions"][0]["costMinor"] = 100
    campaign_id = launch(api, body)
    # When the branch's operator asks for its forecast
    response = forecast(api, branch, operator(branch), months=3)
    assert response.status_code == 200, response.text
    found = response.json()
    # Then the campaign is counted, spread over what is left of its window day by day, cumulative floored
    (campaign,) = found["campaigns"]
    assert (campaign["campaignId"], campaign["orgUnitId"], campaign["method"], campaign["remainingMinor"]) == (campaign_id, branch, "plan", 30_000)
    now = datetime.fromisoformat(found["asOf"])
    starts, ends = datetime.fromisoformat(body["window"]["startsAt"]), datetime.fromisoformat(body["window"]["endsAt"])
    left_from = max(now, starts)
    micro = timedelta(microseconds=1)
    window_left = (ends - left_from) // micro  # in microseconds: the spread is exact
    placed, wanted = 0, {}
    for line in found["months"]:
        year_, month_ = (int(part) for part in line["month"].split("-"))
        month_end = datetime(year_ + month_ // 12, month_ % 12 + 1, 1, tzinfo=ZONE)
        through = (min(ends, month_end) - left_from) // micro
        cumulative = min(30_000, 30_000 * max(through, 0) // window_left)
        wanted[line["month"]] = cumulative - placed
        placed = cumulative
    assert {line["month"]: line["campaigns"]["amountMinor"] for line in found["months"]} == wanted
    assert sum(wanted.values()) + campaign["afterHorizonMinor"] == 30_000
    # And another branch does not count it
    assert all(c["campaignId"] != campaign_id for c in forecast(api, seeded.other, months=3).json()["campaigns"])
