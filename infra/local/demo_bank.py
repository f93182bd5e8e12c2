"""The demo bank's data, pure: what an operator configures, who the customers are, and three weeks of
what core banking and the channels publish about them.

Everything is derived from a fixed random seed and an *anchor* instant (the seeding's "now"), so the
same anchor always gives the same ids, bodies and times: seeding twice against one system replays
the same calls and events, which the engine recognises (Idempotency-Keys, business ids). The runner
(`infra/local/demo.py`) sends all of it through the public API and the bus.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from infra.local.seed import DEMO_CUSTOMERS
from infra.topology import DEFAULT_BANK_TIME_ZONE

SEED = 20261207
DEFAULT_CUSTOMERS = 20
HISTORY_DAYS = 21
CURRENCY = "CNY"
PREFIX = "demo"

BRANCHES = ["sh-pudong", "sh-xuhui", "bj-chaoyang", "sz-nanshan", "gz-tianhe"]
# The org tree (组织机构), parents first: (unit, parent, kind, name, branch code). Each sub-branch's code
# is the core-banking branch id its customers carry, so every demo customer belongs to a unit. The
# dev sign-in's head office operators (hq) and Shanghai branch operator (sh) see it (infra/local/console.py).
ORG_TREE: list[tuple[str, str | None, str, str, str | None]] = [
    ("hq", None, "head_office", "总行", None),
    ("sh", "hq", "branch", "上海分行", None),
    ("bj", "hq", "branch", "北京分行", None),
    ("sz", "hq", "branch", "深圳分行", None),
    ("gz", "hq", "branch", "广州分行", None),
    ("sh-pudong", "sh", "sub_branch", "浦东支行", "sh-pudong"),
    ("sh-xuhui", "sh", "sub_branch", "徐汇支行", "sh-xuhui"),
    ("bj-chaoyang", "bj", "sub_branch", "朝阳支行", "bj-chaoyang"),
    ("sz-nanshan", "sz", "sub_branch", "南山支行", "sz-nanshan"),
    ("gz-tianhe", "gz", "sub_branch", "天河支行", "gz-tianhe"),
    ("sh-pudong-lujiazui", "sh-pudong", "outlet", "陆家嘴网点", None),
    ("sh-business", "sh", "outlet", "上海分行营业部", None),
]
EMPLOYERS = ["e-sinopec", "e-huawei", "e-cmb-payroll", "e-shanghai-metro", "e-fudan-univ", "e-tencent"]
# (mcc, merchant prefix, typical amount in yuan): everyday card spend.
EVERYDAY = [("5812", "m-dining", 180), ("5814", "m-coffee", 35), ("5411", "m-grocery", 260), ("5541", "m-fuel", 320),
            ("5311", "m-dept-store", 600), ("5732", "m-electronics", 1500), ("4121", "m-taxi", 45)]
TRAVEL = [("7011", "m-hotel", 1800), ("4511", "m-airline", 2600)]
PRODUCTS = ["debit-std", "savings-plus", "credit-gold", "wealth-mgmt", "fund-invest"]


def bank_zone_name() -> str:
    return os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE)


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def demo_id(name: str) -> str:
    return f"{PREFIX}-{name}"


# ---- what operators configure ---------------------------------------------------------------------

COUPON_TEMPLATES: list[dict[str, Any]] = [
    {"templateId": demo_id("dining-20-off-100"), "name": "Dining: 20 off 100", "totalStock": 5000, "shards": 4,
     "benefit": {"kind": "threshold", "thresholdMinor": 10_000, "amountMinor": 2_000, "currency": CURRENCY},
     "validity": {"type": "days_after_claim", "days": 30}, "limits": {"perCustomerLifetime": 2},
     "funding": {"costCentre": "cc-dining", "unitCostMinor": 2_000, "currency": CURRENCY},
     "redemption": {"channels": ["pos", "app"]}},
    {"templateId": demo_id("coffee-5"), "name": "Coffee: 5 off", "totalStock": 10_000, "shards": 2,
     "benefit": {"kind": "fixed_amount", "amountMinor": 500, "currency": CURRENCY},
     "validity": {"type": "days_after_claim", "days": 14},
     "funding": {"merchantId": "m-coffee-001", "unitCostMinor": 500, "currency": CURRENCY}},
    {"templateId": demo_id("travel-8pct"), "name": "Travel: 8% off, up to 200", "totalStock": 2000, "shards": 2,
     "benefit": {"kind": "percentage", "percentOff": 8, "maxDiscountMinor": 20_000, "currency": CURRENCY},
     "validity": {"type": "days_after_claim", "days": 60}, "limits": {"perCustomerLifetime": 1},
     "funding": {"costCentre": "cc-cards-marketing", "unitCostMinor": 12_000, "currency": CURRENCY}},
    {"templateId": demo_id("lucky-red"), "name": "Birthday lucky draw: 1.88 to 88.88 off", "totalStock": 3000,
     "benefit": {"kind": "random_amount", "minMinor": 188, "maxMinor": 8_888, "currency": CURRENCY},
     "validity": {"type": "days_after_claim", "days": 30}, "limits": {"perCustomerLifetime": 1},
     "funding": {"costCentre": "cc-retail-marketing", "unitCostMinor": 4_500, "currency": CURRENCY}},
    {"templateId": demo_id("red-packet-18"), "name": "Payroll red packet: 18 yuan", "totalStock": 2000,
     "benefit": {"kind": "red_packet", "amountMinor": 1_800, "currency": CURRENCY},
     "validity": {"type": "days_after_claim", "days": 7}, "limits": {"perCustomerLifetime": 1},
     "funding": {"costCentre": "cc-payroll", "unitCostMinor": 1_800, "currency": CURRENCY}},
    {"templateId": demo_id("umbrella-gift"), "name": "Gift: branded folding umbrella", "totalStock": 300,
     "benefit": {"kind": "gift", "sku": "UMB-2026", "fulfilment": "physical", "description": "Navy, 8 ribs"},
     "validity": {"type": "days_after_claim", "days": 90}, "limits": {"perCustomerLifetime": 1},
     "funding": {"costCentre": "cc-branch-events", "unitCostMinor": 3_900, "currency": CURRENCY}},
    {"templateId": demo_id("movie-voucher"), "name": "Cinema voucher (partner codes)", "totalStock": 0,
     "benefit": {"kind": "voucher_code", "provider": "Cinema partner"},
     "validity": {"type": "days_after_claim", "days": 45}, "limits": {"perCustomerDaily": 1},
     "funding": {"merchantId": "m-cinema-partner", "unitCostMinor": 3_500, "currency": CURRENCY}},
    {"templateId": demo_id("welcome-pack"), "name": "Welcome pack: coffee and dining", "totalStock": 1000,
     "benefit": {"kind": "bundle", "parts": [demo_id("coffee-5"), demo_id("dining-20-off-100")]},
     "validity": {"type": "days_after_claim", "days": 30}, "limits": {"perCustomerLifetime": 1},
     "funding": {"costCentre": "cc-mgm", "unitCostMinor": 2_500, "currency": CURRENCY}},
]
VOUCHER_CODES = [f"CINE-{hashlib.sha256(f'{SEED}:{i}'.encode()).hexdigest()[:10].upper()}" for i in range(300)]

POINT_RULES: list[dict[str, Any]] = [
    {"ruleId": demo_id("card-everyday"), "name": "Card spend: 1 point per 10 yuan", "eventType": "CardTransactionPosted",
     "award": {"mode": "per_amount", "perAmountMinor": 1_000, "points": 1, "rounding": "down"},
     "tierMultipliersPercent": {"gold": 120, "platinum": 150, "diamond": 200}, "caps": {"perCustomerDaily": 8_000},
     "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "transaction", "costCentre": "cc-cards"},
    {"ruleId": demo_id("card-dining-bonus"), "name": "Dining and coffee: 1 bonus point per 10 yuan",
     "eventType": "CardTransactionPosted", "conditions": {"mccs": ["5812", "5814"], "currency": CURRENCY},
     "award": {"mode": "per_amount", "perAmountMinor": 1_000, "points": 1}, "caps": {"perCustomerMonthly": 2_000},
     "validity": {"type": "end_of_month", "monthsLater": 6}, "category": "campaign", "costCentre": "cc-dining", "priority": 90},
    {"ruleId": demo_id("salary-points"), "name": "Salary credited: 200 points", "eventType": "SalaryCredited",
     "award": {"mode": "fixed", "points": 200}, "caps": {"perCustomerMonthly": 400},
     "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "transaction", "costCentre": "cc-payroll"},
    {"ruleId": demo_id("salary-growth"), "name": "Growth value: 600 per salary credit", "eventType": "SalaryCredited",
     "award": {"mode": "fixed", "points": 600}, "validity": {"type": "end_of_month", "monthsLater": 12},
     "category": "growth", "costCentre": "cc-payroll", "priority": 50},
    {"ruleId": demo_id("check-in"), "name": "Daily check-in: 5 points, valid 30 days", "eventType": "CheckInCompleted",
     "award": {"mode": "fixed", "points": 5}, "caps": {"perCustomerDaily": 5},
     "validity": {"type": "days", "days": 30}, "category": "campaign", "costCentre": "cc-engagement"},
    {"ruleId": demo_id("login"), "name": "App login: 2 points a day", "eventType": "LoginCompleted",
     "award": {"mode": "fixed", "points": 2}, "caps": {"perCustomerDaily": 2},
     "validity": {"type": "days", "days": 60}, "category": "campaign", "costCentre": "cc-engagement"},
    {"ruleId": demo_id("aum-points"), "name": "Monthly average AUM: points by band", "eventType": "MonthlyAumComputed",
     "award": {"mode": "tiered", "tiers": [{"fromAmountMinor": 1_000_000, "points": 50}, {"fromAmountMinor": 10_000_000, "points": 300},
                                           {"fromAmountMinor": 100_000_000, "points": 1_500}]},
     "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "asset", "costCentre": "cc-wealth"},
    {"ruleId": demo_id("aum-growth"), "name": "Growth value from monthly average AUM", "eventType": "MonthlyAumComputed",
     "award": {"mode": "tiered", "tiers": [{"fromAmountMinor": 10_000_000, "points": 1_500}, {"fromAmountMinor": 30_000_000, "points": 3_000},
                                           {"fromAmountMinor": 100_000_000, "points": 7_000}, {"fromAmountMinor": 300_000_000, "points": 17_000}]},
     "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "growth", "costCentre": "cc-wealth", "priority": 50},
    {"ruleId": demo_id("deposit-increase"), "name": "Deposits: 1 point per 100 yuan added", "eventType": "DepositBalanceChanged",
     "award": {"mode": "per_amount", "perAmountMinor": 10_000, "points": 1}, "caps": {"perCustomerMonthly": 1_000},
     "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "asset", "costCentre": "cc-deposits"},
]

TIER_LADDER: dict[str, Any] = {
    "tiers": [
        {"tierId": "standard", "name": "Standard", "minGrowth": 0},
        {"tierId": "silver", "name": "Silver", "minGrowth": 500},
        {"tierId": "gold", "name": "Gold", "minGrowth": 2_000,
         "benefits": [{"templateId": demo_id("coffee-5"), "cadence": "on_upgrade"}]},
        {"tierId": "platinum", "name": "Platinum", "minGrowth": 6_500,
         "benefits": [{"templateId": demo_id("dining-20-off-100"), "cadence": "on_upgrade"},
                      {"templateId": demo_id("coffee-5"), "cadence": "monthly"}]},
        {"tierId": "diamond", "name": "Diamond", "minGrowth": 16_000,
         "benefits": [{"templateId": demo_id("travel-8pct"), "cadence": "on_upgrade"},
                      {"templateId": demo_id("dining-20-off-100"), "cadence": "monthly"}]},
    ],
    "qualifyingMonths": 12,
    "downgradeGraceDays": 30,
}

# Points a customer may earn in a business day before accrual is held for review: the few very large
# purchases of the history are held, so the risk-hold queue has work in it.
RISK_SETTINGS: dict[str, Any] = {"maxPointsPerDay": 6_000}

CATALOGUE: list[dict[str, Any]] = [
    {"itemId": demo_id("mall-coffee"), "kind": "coupon", "name": "Coffee: 5 off", "points": 300, "templateId": demo_id("coffee-5")},
    {"itemId": demo_id("mall-cinema"), "kind": "coupon", "name": "Cinema voucher", "points": 800, "templateId": demo_id("movie-voucher")},
    {"itemId": demo_id("mall-umbrella"), "kind": "mall_item", "name": "Folding umbrella", "points": 600, "cashMinor": 990, "currency": CURRENCY},
    {"itemId": demo_id("mall-power-bank"), "kind": "mall_item", "name": "Power bank 10,000 mAh", "points": 2_500, "cashMinor": 4_900,
     "currency": CURRENCY, "holdMinutes": 60},
    {"itemId": demo_id("mall-luggage"), "kind": "mall_item", "name": "Cabin suitcase", "points": 15_000, "cashMinor": 19_900, "currency": CURRENCY},
    {"itemId": demo_id("mall-tea-set"), "kind": "mall_item", "name": "Tea set (sold out)", "points": 8_000, "cashMinor": 9_900,
     "currency": CURRENCY, "active": False},
]

# MOT rules (docs/mot.md): a large inflow is a relationship manager's call (the demo's deposits of 5
# million and more make tasks: the RM workbench has work); a maturing deposit, a renewal.
MOT_RULES: list[dict[str, Any]] = [
    {"key": "large-inflow", "name": "大额资金流入：24 小时内致电", "holdoutPercent": 0,
     "trigger": {"eventType": "LargeBalanceMovement", "pattern": {"deltaMinor": [{"numeric": [">=", 5_000_000]}]}},
     "task": {"priority": 1, "slaHours": 24, "talkingPoints": "{customerId} 账户 {accountId} 转入 {deltaMinor} 分：了解资金用途，介绍定期与理财",
              "offer": {"templateId": demo_id("coffee-5")}, "message": {"channel": "wecom", "content": "您好，感谢您对本行的信任，近期有专属理财产品，方便时为您介绍。"}}},
    {"key": "deposit-maturing", "name": "定期存款到期前：续存沟通", "holdoutPercent": 10,
     "trigger": {"eventType": "DepositMaturing", "pattern": {"principalMinor": [{"numeric": [">=", 1_000_000]}]}},
     "task": {"priority": 2, "slaHours": 72, "talkingPoints": "{customerId} 的定期 {accountId} 将于 {maturesOn} 到期：沟通续存或转理财"},
     "goal": {"moment": {"eventType": "DepositBalanceChanged", "pattern": {"balanceMinor": [{"numeric": [">", 0]}]}}, "withinDays": 14}},
]

SEGMENTS: list[dict[str, Any]] = [
    {"segmentId": demo_id("payroll"), "name": "Payroll customers", "description": "Salary paid into the bank.",
     "rule": {"tagsAny": ["payroll"]}},
    {"segmentId": demo_id("affluent"), "name": "Affluent: AUM 500k yuan and more", "rule": {"aumMinor": {"min": 50_000_000}}},
    {"segmentId": demo_id("gold-plus"), "name": "Gold members and above", "rule": {"tiers": ["gold", "platinum", "diamond"]}},
    {"segmentId": demo_id("shanghai"), "name": "Shanghai branches", "rule": {"branchIds": ["sh-pudong", "sh-xuhui"]}},
    {"segmentId": demo_id("engaged"), "name": "Active and high-value customers",
     "rule": {"lifecycleStages": ["active", "high_value"]}},
    {"segmentId": demo_id("car-owners-low-risk"), "name": "Car owners, risk R1 to R3",
     "rule": {"tagsAny": ["car-owner"], "riskLevels": ["R1", "R2", "R3"]}},
    {"segmentId": demo_id("young-digital"), "name": "Young digital customers, not yet payroll",
     "rule": {"tagsAny": ["digital"], "tagsNone": ["payroll"]}},
]


def campaigns(anchor: datetime, payroll_customers: int) -> list[dict[str, Any]]:
    """One campaign from each ready-made template, active; two written by hand: one fired at the
    gold members and above (A/B with control), one left awaiting approval. `route` is the template,
    or None."""
    zone = ZoneInfo(bank_zone_name())
    window = {"startsAt": iso(anchor - timedelta(days=HISTORY_DAYS + 7)), "endsAt": iso(anchor + timedelta(days=60))}
    # The payroll gift's budget is sized so that the history's first salaries use about 85% of it:
    # the console's home screen lists it among the budgets close to running out.
    salary_budget = max(1_800, math.ceil(payroll_customers * 1_800 / 0.85 / 100) * 100)
    common = {"window": window, "fundingCostCentre": "cc-retail-marketing"}
    notify = {"notifyTemplateId": "notice-reward-granted"}
    return [
        {"route": "spend_x_get_coupon", "approve": True, "body": {
            **common, "campaignId": demo_id("travel-spend"), "name": "Spend 1,000 on travel, get 8% off your next trip",
            "controlPercent": 10, "budget": {"unit": "rewards", "total": 120, "byAttribute": [{"attribute": "branchId", "limit": 30}]},
            "parameters": {"minAmountMinor": 100_000, "mccs": ["7011", "4511"], "couponTemplateId": demo_id("travel-8pct"),
                           "couponCostMinor": 12_000, **notify}}},
        {"route": "first_salary_gift", "approve": True, "body": {
            **common, "campaignId": demo_id("first-salary"), "name": "First salary with us: an 18 yuan red packet",
            "budget": {"unit": "minor", "currency": CURRENCY, "total": salary_budget},
            "parameters": {"couponTemplateId": demo_id("red-packet-18"), "couponCostMinor": 1_800, **notify}}},
        {"route": "deposit_increase_gift", "approve": True, "body": {
            **common, "campaignId": demo_id("deposit-boost"), "name": "Bring 50,000 yuan in, get 888 points",
            "budget": {"unit": "rewards", "total": 300, "monthly": 150},
            "parameters": {"minIncreaseMinor": 5_000_000, "points": 888, "pointsCostCentre": "cc-deposits", "costMinor": 888}}},
        {"route": "birthday_gift", "approve": True, "body": {
            **common, "campaignId": demo_id("birthday"), "name": "Happy birthday: a lucky-draw coupon",
            "budget": {"unit": "rewards", "total": 2_000},
            "parameters": {"couponTemplateId": demo_id("lucky-red"), "couponCostMinor": 4_500, **notify}}},
        {"route": "check_in_streak", "approve": True, "body": {
            **common, "campaignId": demo_id("check-in-7"), "name": "Check in 7 days in a row: 70 points",
            "budget": {"unit": "rewards", "total": 5_000},
            "parameters": {"days": 7, "points": 70, "pointsCostCentre": "cc-engagement"}}},
        {"route": "card_spend_task", "approve": True, "body": {
            **common, "campaignId": demo_id("card-task"), "name": "Task: 3 card payments of 50 yuan in 14 days, 300 points",
            "controlPercent": 20, "budget": {"unit": "rewards", "total": 1_000, "weekly": 200},
            "parameters": {"count": 3, "minAmountMinor": 5_000, "withinDays": 14, "points": 300, "pointsCostCentre": "cc-cards"}}},
        {"route": "mgm_referral", "approve": True, "body": {
            **common, "campaignId": demo_id("mgm"), "name": "Invite a friend: 1,000 points for you, a welcome pack for them",
            "budget": {"unit": "rewards", "total": 400},
            "parameters": {"inviteeCouponTemplateId": demo_id("welcome-pack"), "inviterPoints": 1_000, "pointsCostCentre": "cc-mgm",
                           "minAmountMinor": 10_000, "withinDays": 30}}},
        {"route": None, "approve": True, "fire": True, "body": {
            **common, "campaignId": demo_id("gold-thanks"), "name": "Thank you, gold members: points or a coffee",
            "trigger": {"type": "manual"}, "audience": {"tiers": ["gold", "platinum", "diamond"]},
            "variants": [{"variantId": "points-300", "weightPercent": 50,
                          "actions": [{"type": "award_points", "points": 300, "costCentre": "cc-retail-marketing"}]},
                         {"variantId": "coffee", "weightPercent": 50,
                          "actions": [{"type": "issue_coupon", "templateId": demo_id("coffee-5"), "costMinor": 500},
                                      {"type": "notify", "channel": "push", "templateId": "notice-coupon-granted"}]}],
            "controlPercent": 10, "budget": {"unit": "rewards", "total": 500}, "frequencyCaps": {"lifetime": 1},
            "quietHours": {"start": "22:00:00", "end": "08:00:00"}}},
        {"route": None, "approve": False, "body": {
            **common, "campaignId": demo_id("spring-red-packet"), "name": "Spring festival: red packets for payroll customers",
            "window": {"startsAt": iso(anchor + timedelta(days=30)), "endsAt": iso(anchor + timedelta(days=45))},
            "trigger": {"type": "schedule", "expression": f"at({(anchor + timedelta(days=31)).astimezone(zone):%Y-%m-%d}T10:00)",
                        "timezone": zone.key},
            "audience": {"segments": [demo_id("payroll")]},
            "variants": [{"variantId": "red-packet", "weightPercent": 100,
                          "actions": [{"type": "issue_coupon", "templateId": demo_id("red-packet-18"), "costMinor": 1_800}]}],
            "budget": {"unit": "minor", "currency": CURRENCY, "total": 500_000}, "frequencyCaps": {"lifetime": 1}}},
    ]


# ---- the customers and what happens to them --------------------------------------------------------


@dataclass
class Customer:
    customer_id: str
    profile: dict[str, Any]  # the CustomerProfileChanged detail, without changedAt
    payroll: bool = False
    aum_minor: int = 0
    products: list[tuple[str, datetime]] = field(default_factory=list)  # (product code, opened at)
    invited_by: str | None = None


@dataclass
class DemoBank:
    anchor: datetime
    customers: list[Customer]
    # Bank events, oldest first: (detail-type, detail). Published after the profiles are in.
    accounts: list[tuple[str, dict[str, Any]]]
    activity: list[tuple[str, dict[str, Any]]]
    inviters: list[str]
    coupon_claims: list[tuple[str, str]]  # (customer, template) claimed in the app
    birthdays_today: list[str]
    big_spenders: list[str]  # whose accrual the risk warning holds

    def estimated_points(self) -> dict[str, int]:
        """Roughly what each customer earns from the history (before multipliers, caps and holds)."""
        found = {c.customer_id: 0 for c in self.customers}
        aum_bands = next(r for r in POINT_RULES if r["ruleId"] == demo_id("aum-points"))["award"]["tiers"]
        for event_type, detail in self.activity:
            cid = detail["customerId"]
            if event_type == "CardTransactionPosted" and detail["amountMinor"] < 1_000_000:
                found[cid] += detail["amountMinor"] // 1_000
            elif event_type == "SalaryCredited":
                found[cid] += 200
            elif event_type in ("CheckInCompleted", "LoginCompleted"):
                found[cid] += 2
            elif event_type == "MonthlyAumComputed":
                found[cid] += max([b["points"] for b in aum_bands if detail["averageAumMinor"] >= b["fromAmountMinor"]], default=0)
        return found

    def shopping(self) -> list[tuple[str, str]]:
        """(customer, catalogue item) the best earners redeem points for, each within what they earn:
        the first three a points-and-cash umbrella (the mall's payment backend settles them: one
        paid, one failed, one still awaited), then a cinema voucher, then coffee coupons."""
        earned = self.estimated_points()
        prices = {i["itemId"]: int(i["points"]) for i in CATALOGUE}
        wishes = [demo_id("mall-umbrella")] * 3 + [demo_id("mall-cinema")]
        chosen = []
        for position, cid in enumerate(sorted(earned, key=lambda c: (-earned[c], c))[: max(6, len(earned) // 4)]):
            wish = wishes[position] if position < len(wishes) else demo_id("mall-coffee")
            if prices[wish] > earned[cid]:
                wish = demo_id("mall-coffee")
            if prices[wish] <= earned[cid]:
                chosen.append((cid, wish))
        return chosen

    def travellers(self) -> list[str]:
        """Who spent 1,000 yuan or more on travel: the travel campaign's audience, in id order."""
        return sorted({d["customerId"] for t, d in self.activity if t == "CardTransactionPosted" and d["mcc"] in ("7011", "4511")
                       and d["amountMinor"] >= 100_000})

    @property
    def payroll_count(self) -> int:
        return sum(1 for c in self.customers if c.payroll)

    def campaigns(self) -> list[dict[str, Any]]:
        return campaigns(self.anchor, self.payroll_count)


def _hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"demo-bank:{kind}:{value}".encode()).hexdigest()


def build(anchor: datetime, size: int = DEFAULT_CUSTOMERS) -> DemoBank:
    """The bank for `anchor` (an aware instant): `size` customers (c-001 …), the first four being
    the small seed's own (`infra.local.seed`), with three weeks of activity ending at the anchor."""
    rng = random.Random(SEED)
    zone = ZoneInfo(bank_zone_name())
    anchor = anchor.astimezone(UTC).replace(microsecond=0)
    today = anchor.astimezone(zone).date()
    base = {c["customerId"]: c for c in DEMO_CUSTOMERS}
    customers: list[Customer] = []
    # Who plays which part scales with the bank: the newest customers joined through a friend's
    # invitation; three accounts share one device (the abuse score sees it); two have their birthday
    # today; one or two make a purchase large enough for the risk warning to hold its points.
    invitees = max(2, size // 15)
    inviter_ids = [f"c-{i:03d}" for i in range(5, size, 9)][: max(1, invitees // 2)]
    ring = {f"c-{i:03d}" for i in range(size // 2, size // 2 + 3)} if size >= 12 else set()
    birthdays_today = sorted({f"c-{i:03d}" for i in (7, size // 2 + 5) if i <= size - invitees})
    big_spenders = sorted({f"c-{i:03d}" for i in (6, size * 2 // 3) if i <= size - invitees})
    for index in range(1, size + 1):
        cid = f"c-{index:03d}"
        branch = BRANCHES[(index - 1) % len(BRANCHES)]
        age = rng.randint(22, 72)
        aum_yuan = int(min(30_000_000, rng.lognormvariate(11.0, 1.6)))
        tags: list[str] = []
        payroll = age < 60 and rng.random() < 0.45
        if payroll:
            tags.append("payroll")
        if rng.random() < 0.2:
            tags.append("car-owner")
        if age >= 60:
            tags.append("pension")
        if age < 30 and rng.random() < 0.7:
            tags.append("digital")
        if aum_yuan >= 1_000_000:
            tags.append("vip")
        birthday = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
        if cid in birthdays_today:
            birthday = date(today.year - age, today.month, today.day) if (today.month, today.day) != (2, 29) else date(today.year - age, 2, 28)
        new = index > size - invitees
        opened = anchor - timedelta(days=rng.randint(12, 18)) if new else anchor - timedelta(days=rng.randint(400, 6000))
        profile: dict[str, Any] = {
            "customerId": cid, "birthday": birthday.isoformat(), "branchId": branch, "tags": tags,
            "aumMinor": aum_yuan * 100, "currency": CURRENCY, "riskLevel": rng.choice(["R1", "R2", "R2", "R3", "R3", "R3", "R4", "R5"]),
            "openedAt": iso(opened), "channels": ["app"] + (["wechat"] if rng.random() < 0.5 else []) + (["branch"] if age > 50 else []),
            "relationshipManagerId": f"rm-{branch}-{1 + (index // len(BRANCHES)) % 2}",
            "deviceHash": _hash("device", "ring" if cid in ring else cid), "phoneHash": _hash("phone", cid),
        }
        if cid in base:  # the small seed's customers keep who they are, now with a manager and a device
            kept = base[cid]
            profile.update({k: kept[k] for k in ("birthday", "branchId", "tags", "aumMinor", "currency", "riskLevel", "channels")})
            profile["relationshipManagerId"] = f"rm-{kept['branchId']}-1"
            payroll, aum_yuan = "payroll" in kept["tags"], int(kept["aumMinor"]) // 100
        # Products held, as the accounts opened (scoring's lifecycle stage counts them): a debit card,
        # and for a third of the customers a second product.
        held = ["debit-std"] + (["wealth-mgmt" if aum_yuan >= 300_000 else "credit-gold"] if rng.random() < 0.15 and not new else [])
        customer = Customer(cid, profile, payroll, aum_yuan * 100, [(p, opened + timedelta(days=30 * i)) for i, p in enumerate(held)])
        if new:
            customer.invited_by = inviter_ids[(index - (size - invitees) - 1) % len(inviter_ids)]
        customers.append(customer)

    accounts: list[tuple[str, dict[str, Any]]] = []
    activity: list[tuple[str, dict[str, Any]]] = []
    start = anchor - timedelta(days=HISTORY_DAYS)

    def at(day_offset: float, hour: int | None = None) -> datetime:
        moment = start + timedelta(days=day_offset)
        local = moment.astimezone(zone)
        if hour is not None:
            local = local.replace(hour=hour, minute=rng.randint(0, 59), second=rng.randint(0, 59))
        return min(local.astimezone(UTC), anchor - timedelta(minutes=5))

    for c in customers:
        cid, n = c.customer_id, int(c.customer_id[2:])
        for position, (product, opened_at) in enumerate(c.products):
            detail = {"customerId": cid, "accountId": f"a-{n:03d}-{position + 1}", "productCode": product,
                      "channel": "app" if c.invited_by else rng.choice(["branch", "app"]), "openedAt": iso(min(opened_at, anchor - timedelta(days=1)))}
            if c.invited_by and position == 0:
                # "@<inviter>" stands for the inviter's invite code: the runner asks the API for it
                # (as the inviter) and puts it here before publishing.
                detail["referralCode"] = f"@{c.invited_by}"
                detail["deviceHash"] = c.profile["deviceHash"]
            accounts.append(("AccountOpened", detail))
        first_day = HISTORY_DAYS - 10 if c.invited_by else 0  # an invitee's history starts when they joined
        # Card spend: how busy a customer is varies; the first four are always busy.
        busy = 4 if n <= 4 else rng.choice([0, 1, 1, 2, 2, 3, 4])
        if c.invited_by:
            busy = max(busy, 2)  # an invitee pays by card soon after joining: the referral qualifies
        for k in range(busy):
            mcc, merchant, typical = rng.choice(EVERYDAY) if rng.random() > 0.12 else rng.choice(TRAVEL)
            amount = max(1_000, int(rng.lognormvariate(0, 0.6) * typical * 100))
            if c.invited_by and k == 0:
                amount = max(amount, 15_000)
            posted = at(rng.uniform(first_day, HISTORY_DAYS), rng.randint(8, 22))
            activity.append(("CardTransactionPosted", {
                "transactionId": f"tx-{PREFIX}-{n:03d}-{k + 1:02d}", "customerId": cid, "amountMinor": amount, "currency": CURRENCY,
                "merchantId": f"{merchant}-{rng.randint(1, 40):03d}", "mcc": mcc, "channel": rng.choice(["pos", "pos", "qr", "online"]),
                "postedAt": iso(posted), "cardId": f"card-{n:03d}", "cardProduct": "credit-gold" if "credit-gold" in dict(c.products) else "debit-std"}))
        if cid in big_spenders:
            activity.append(("CardTransactionPosted", {
                "transactionId": f"tx-{PREFIX}-{n:03d}-big", "customerId": cid, "amountMinor": 6_880_000, "currency": CURRENCY,
                "merchantId": "m-jeweller-001", "mcc": "5944", "channel": "pos", "postedAt": iso(at(HISTORY_DAYS - 2, 15))}))
        if c.payroll:
            employer = EMPLOYERS[n % len(EMPLOYERS)]
            activity.append(("SalaryCredited", {
                "transactionId": f"sal-{PREFIX}-{n:03d}-1", "customerId": cid, "employerId": employer,
                "amountMinor": rng.randint(80, 450) * 10_000, "currency": CURRENCY, "creditedAt": iso(at(HISTORY_DAYS - 12, 9))}))
        if rng.random() < 0.04 or n in (1, 2):  # a streak of daily check-ins up to yesterday (7 days earn the streak reward)
            days = 7 if n in (1, 2) else rng.randint(4, 8)
            for d in range(days):
                local_day = today - timedelta(days=days - d)
                checked = datetime(local_day.year, local_day.month, local_day.day, rng.randint(7, 22), rng.randint(0, 59), tzinfo=zone)
                activity.append(("CheckInCompleted", {"customerId": cid, "businessDate": local_day.isoformat(), "checkedInAt": iso(checked)}))
        for _ in range(rng.choice([0, 1, 1])):
            activity.append(("LoginCompleted", {"customerId": cid, "channel": rng.choice(["app", "app", "web"]),
                                                "loggedInAt": iso(at(rng.uniform(first_day, HISTORY_DAYS), rng.randint(7, 23))),
                                                "deviceHash": c.profile["deviceHash"]}))
        if rng.random() < 0.12 or n == 3:  # c-003 (a wealth customer) always brings money in: the deposit campaign rewards it
            before = c.aum_minor // 3
            added = 8_800_000 if n == 3 else rng.choice([200_000, 1_000_000, 3_000_000, 6_000_000, 8_800_000])
            moved = iso(at(rng.uniform(first_day, HISTORY_DAYS), 11))
            activity.append(("DepositBalanceChanged", {"customerId": cid, "accountId": f"a-{n:03d}-2", "balanceMinor": before + added,
                                                       "previousBalanceMinor": before, "currency": CURRENCY, "changedAt": moved}))
            if added >= 5_000_000:
                activity.append(("LargeBalanceMovement", {"customerId": cid, "accountId": f"a-{n:03d}-2", "deltaMinor": added,
                                                          "currency": CURRENCY, "movedAt": moved}))
        if c.aum_minor >= 10_000_000 and not c.invited_by:
            month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            activity.append(("MonthlyAumComputed", {"customerId": cid, "month": month, "averageAumMinor": c.aum_minor, "currency": CURRENCY}))
    # Two refunds: the points they earned are reversed in proportion.
    refunded = [d for t, d in activity if t == "CardTransactionPosted" and d["amountMinor"] >= 20_000][:2]
    for r in refunded:
        activity.append(("CardTransactionRefunded", {
            "refundId": f"rf-{r['transactionId']}", "originalTransactionId": r["transactionId"], "customerId": r["customerId"],
            "amountMinor": r["amountMinor"] // 2, "currency": CURRENCY,
            "refundedAt": iso(min(datetime.fromisoformat(r["postedAt"].replace("Z", "+00:00")) + timedelta(days=1), anchor - timedelta(minutes=1)))}))
    activity.sort(key=lambda e: _time_of(e[1]))
    accounts.sort(key=lambda e: str(e[1]["openedAt"]))
    claims = [(c.customer_id, t) for c in customers for t, p in
              ((demo_id("dining-20-off-100"), 0.35), (demo_id("coffee-5"), 0.25), (demo_id("movie-voucher"), 0.1), ("welcome-10", 0.15))
              if rng.random() < p]
    return DemoBank(anchor, customers, accounts, activity, inviter_ids, claims, birthdays_today, big_spenders)


def _time_of(detail: dict[str, Any]) -> str:
    for name in ("postedAt", "creditedAt", "checkedInAt", "loggedInAt", "changedAt", "movedAt", "refundedAt", "openedAt"):
        if name in detail:
            return str(detail[name])
    return str(detail.get("month", ""))


def live_event(rng: random.Random, customer_ids: list[str], now: datetime, counter: int) -> tuple[str, dict[str, Any]]:
    """One bank event of the gentle live stream: mostly card spend and logins, now."""
    cid = rng.choice(customer_ids)
    stamp = iso(now)
    roll = rng.random()
    if roll < 0.55:
        mcc, merchant, typical = rng.choice(EVERYDAY + TRAVEL[:1])
        return "CardTransactionPosted", {
            "transactionId": f"tx-live-{now:%Y%m%d%H%M%S}-{counter}", "customerId": cid,
            "amountMinor": max(1_000, int(rng.lognormvariate(0, 0.6) * typical * 100)), "currency": CURRENCY,
            "merchantId": f"{merchant}-{rng.randint(1, 40):03d}", "mcc": mcc, "channel": rng.choice(["pos", "qr", "online"]), "postedAt": stamp}
    if roll < 0.85:
        return "LoginCompleted", {"customerId": cid, "channel": rng.choice(["app", "web"]), "loggedInAt": stamp}
    if roll < 0.97:
        local = now.astimezone(ZoneInfo(bank_zone_name())).date()
        return "CheckInCompleted", {"customerId": cid, "businessDate": local.isoformat(), "checkedInAt": stamp}
    return "SalaryCredited", {"transactionId": f"sal-live-{now:%Y%m%d%H%M%S}-{counter}", "customerId": cid,
                              "employerId": rng.choice(EMPLOYERS), "amountMinor": rng.randint(80, 450) * 10_000,
                              "currency": CURRENCY, "creditedAt": stamp}
