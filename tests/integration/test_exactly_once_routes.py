"""Exactly once under crashes, route by route: every mutating route, killed right after its commit
(its answer lost), then retried with the same Idempotency-Key once the claim is stale, took effect
once; the retry answers as the route's replay does (its success status, `Idempotent-Replayed: true`),
or 409 IDEMPOTENCY_COMMITTED for a route without one. Routes idempotent by their own keys ("domain")
keep no idempotency record: their retry answers as their own replay does.

One case per operation (operationId); a route of the document without a case fails the last test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import pytest
import requests

from infra.local.cloud import LocalCloud
from infra.openapi import DOCUMENT_PATH
from loyalty.core.config import get_settings
from loyalty.core.dynamo import from_item
from loyalty.points.store import DynamoPointsStore
from loyalty.scoring.defaults import DEFAULT_MODELS
from tests.support import campaigns as cmp
from tests.support import checkout as chk
from tests.support import coupons as cpn
from tests.support import mot, org
from tests.support import points as pts
from tests.support import scoring as scr
from tests.support.api import Api
from tests.support.crashes import DiesAfterCommit, Later, dies_after_answering, idempotency_store, real_store
from tests.support.partitions import keep_partition

# A killed process leaves its thread with an exception nobody handles: that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")

MUTATING = ("post", "put", "patch", "delete")
# Mutating operations that change nothing and take no Idempotency-Key (idempotency "none").
CHANGES_NOTHING = {"quoteCoupon", "quotePoints", "exportCustomerData", "quoteCheckout"}


# ---- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any
    who: dict[str, Any]  # Api.call's as_ and groups


@dataclass(frozen=True)
class Prepared:
    request: Request
    effect: Callable[[], Any]  # what the call changes, read back: it changes once, never again
    answer: Callable[[Any], bool] = lambda body: True  # what a successful retry's body must say
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Expect:
    """The retry's answer: `status` None is the route's own success status."""

    status: int | None = None
    replayed: bool = True
    code: str | None = None


REPLAYED = Expect()  # the route's replay: its success status, marked as a replay
COMMITTED = Expect(409, replayed=False, code="IDEMPOTENCY_COMMITTED")  # no replay: the outcome is read elsewhere
RAN_AGAIN = Expect(replayed=False)  # its write is not marked (a raw request): the retry runs it again, to the same state


@dataclass(frozen=True)
class Case:
    operation: str
    prepare: Callable[[LocalCloud, Api], Prepared]
    expect: Expect = REPLAYED
    domain: bool = False  # idempotent by its own key: killed after answering, there is no record to die in


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def read(api: Api, path: str, who: dict[str, Any]) -> Any:
    """A GET's body, or None for a 404."""
    response = api.call("GET", path, **who)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


# ---- coupons ---------------------------------------------------------------------------------------


def coupon_state(cloud: LocalCloud, coupon_id: str) -> tuple[str, int]:
    item = from_item(cpn.coupon_item(cloud.clients.dynamodb, coupon_id) or {})
    return str(item["status"]), int(item["version"])


def create_coupon_template(cloud: LocalCloud, api: Api) -> Prepared:
    body = cpn.template_body()
    template_id = body["templateId"]

    def effect() -> Any:
        found = read(api, f"{cpn.TEMPLATES}/{template_id}", cpn.OPERATOR)
        return found and (found["version"], found["stockLeft"])

    return Prepared(Request("POST", cpn.TEMPLATES, body, cpn.OPERATOR), effect, lambda answer: answer["templateId"] == template_id)


def change_coupon_template_status(cloud: LocalCloud, api: Api) -> Prepared:
    template_id = cpn.create_template(api, cpn.template_body())["templateId"]
    template = f"{cpn.TEMPLATES}/{template_id}"
    return Prepared(Request("PUT", f"{template}/status", {"status": "active"}, cpn.OPERATOR),
                    lambda: (lambda t: (t["status"], t["version"]))(cpn.get_template(api, template_id)),
                    lambda answer: answer["status"] == "active")


def add_coupon_stock(cloud: LocalCloud, api: Api) -> Prepared:
    template_id = cpn.active_template(api, stock=10)
    return Prepared(Request("POST", f"{cpn.TEMPLATES}/{template_id}/stock", {"add": 5}, cpn.OPERATOR),
                    lambda: cpn.stock_left(api, template_id), lambda answer: answer["templateId"] == template_id)


def upload_voucher_codes(cloud: LocalCloud, api: Api) -> Prepared:
    template_id = cpn.create_template(api, cpn.template_body(benefit=cpn.voucher_code(), stock=0))["templateId"]
    codes = [unique("CODE").upper() for _ in range(3)]
    return Prepared(Request("POST", f"{cpn.TEMPLATES}/{template_id}/codes", {"codes": codes}, cpn.OPERATOR),
                    lambda: cpn.stock_left(api, template_id), lambda answer: answer == {"templateId": template_id, "added": 3})


def claim_coupon(cloud: LocalCloud, api: Api) -> Prepared:
    template_id, customer = cpn.active_template(api, stock=10), cpn.new_customer()
    return Prepared(Request("POST", cpn.CLAIMS, {"templateId": template_id}, {"as_": customer}),
                    lambda: (cpn.stock_left(api, template_id), len(cpn.wallet_items(api, customer))),
                    lambda answer: answer["customerId"] == customer)


def claimed_coupon(api: Api) -> tuple[str, str]:
    customer = cpn.new_customer()
    return customer, str(cpn.claimed(api, customer, cpn.active_template(api, stock=10))["couponId"])


def coupon_step(action: str, body: dict[str, Any], before: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Callable[[LocalCloud, Api], Prepared]:
    """A payment step on a claimed coupon, after the steps `before`; the coupon's state is the effect."""
    def prepare(cloud: LocalCloud, api: Api) -> Prepared:
        customer, coupon_id = claimed_coupon(api)
        for step, step_body in before:
            response = cpn.coupon_action(api, coupon_id, step, customer, step_body)
            assert response.status_code == 200, response.text
        return Prepared(Request("POST", f"/v1/coupons/{coupon_id}/{action}", body, {"as_": customer}),
                        lambda: coupon_state(cloud, coupon_id),
                        lambda answer: coupon_id in json.dumps(answer))

    return prepare


LOCK = {"orderId": "o-1", "order": cpn.order()}
REDEEM = {"orderId": "o-1", "order": cpn.order()}


# ---- points ----------------------------------------------------------------------------------------


def create_point_rule(cloud: LocalCloud, api: Api) -> Prepared:
    body = pts.rule_body(unique("r"), unique("m"))
    rule = f"{pts.RULES}/{body['ruleId']}"
    return Prepared(Request("POST", pts.RULES, body, pts.OPERATOR), lambda: (read(api, rule, pts.OPERATOR) or {}).get("version"),
                    lambda answer: answer["ruleId"] == body["ruleId"])


def update_point_rule(cloud: LocalCloud, api: Api) -> Prepared:
    body = pts.rule_body(unique("r"), unique("m"))
    pts.create_rule(api, body)
    rule = f"{pts.RULES}/{body['ruleId']}"
    return Prepared(Request("PUT", rule, {**body, "name": "renamed"}, pts.OPERATOR), lambda: read(api, rule, pts.OPERATOR)["version"],
                    lambda answer: answer["name"] == "renamed")


def adjust_points(cloud: LocalCloud, api: Api) -> Prepared:
    customer = pts.known_customer(cloud)

    def effect() -> Any:
        booked = pts.stored(cloud.clients.dynamodb, customer)
        return booked.available, len(booked.entries_of("adjust"))

    body = {"points": 100, "reason": "goodwill", "costCentre": "cc-service"}
    return Prepared(Request("POST", f"/v1/admin/customers/{customer}/points/adjustments", body, pts.OPERATOR), effect,
                    lambda answer: answer["customerId"] == customer and answer["available"] == 100)


def mall_item(api: Api) -> str:
    item_id = unique("item")
    body = {"itemId": item_id, "name": "Umbrella", "kind": "mall_item", "points": 200, "cashMinor": 990, "currency": "CNY", "holdMinutes": 5}
    response = api.call("PUT", f"/v1/admin/points/catalogue/{item_id}", body=body, **pts.OPERATOR)
    assert response.status_code == 200, response.text
    return item_id


def customer_with_points(cloud: LocalCloud, api: Api, points: int = 1000) -> str:
    customer = pts.known_customer(cloud)
    assert pts.adjust(api, customer, points).status_code == 201
    return customer


def save_points_catalogue_item(cloud: LocalCloud, api: Api) -> Prepared:
    item_id = unique("item")
    body = {"itemId": item_id, "name": "Umbrella", "kind": "mall_item", "points": 200, "cashMinor": 990, "currency": "CNY"}

    def effect() -> Any:
        found = cloud.clients.dynamodb.get_item(TableName=pts.POINTS_TABLE, Key={"pk": {"S": "CATALOGUE"}, "sk": {"S": item_id}},
                                                ConsistentRead=True).get("Item")
        return found and (found["item"]["S"], found["updatedAt"]["S"])

    return Prepared(Request("PUT", f"/v1/admin/points/catalogue/{item_id}", body, pts.OPERATOR), effect,
                    lambda answer: answer["itemId"] == item_id)


def balance_of(api: Api, customer: str) -> tuple[int, int]:
    found = pts.balance(api, customer)
    return int(found["available"]), int(found["held"])


def redeem_points(cloud: LocalCloud, api: Api) -> Prepared:
    customer, item_id = customer_with_points(cloud, api), mall_item(api)
    return Prepared(Request("POST", "/v1/points/redemptions", {"itemId": item_id}, {"as_": customer}), lambda: balance_of(api, customer),
                    lambda answer: answer["customerId"] == customer and answer["status"] == "held")


def settle_points_redemption(cloud: LocalCloud, api: Api) -> Prepared:
    customer = customer_with_points(cloud, api)
    redeemed = api.call("POST", "/v1/points/redemptions", as_=customer, body={"itemId": mall_item(api)})
    assert redeemed.status_code == 201, redeemed.text
    redemption_id = redeemed.json()["redemptionId"]

    def effect() -> Any:
        found = read(api, f"/v1/points/redemptions/{redemption_id}", pts.OPERATOR)
        return found["status"], found.get("settledAt"), balance_of(api, customer)

    return Prepared(Request("POST", f"/v1/admin/points/redemptions/{redemption_id}/settlement", {"outcome": "paid", "paymentId": "pay-1"},
                            pts.OPERATOR), effect, lambda answer: answer["status"] == "completed")


def save_point_tiers(cloud: LocalCloud, api: Api) -> Prepared:
    restore = keep_partition(cloud, pts.POINTS_TABLE, "TIERS")
    body = {"tiers": [{"tierId": "standard", "name": "Standard", "minGrowth": 0}], "qualifyingMonths": 12, "downgradeGraceDays": 30}
    return Prepared(Request("PUT", "/v1/admin/point-tiers", body, pts.OPERATOR),
                    lambda: (read(api, "/v1/admin/point-tiers", pts.OPERATOR) or {}).get("version"),
                    lambda answer: answer["tiers"][0]["tierId"] == "standard", restore)


def save_risk_settings(cloud: LocalCloud, api: Api) -> Prepared:
    restore = keep_partition(cloud, pts.POINTS_TABLE, "RISK")
    body = {"maxPointsPerDay": 90_000_000}  # holds nobody's accrual while it is in force
    return Prepared(Request("PUT", "/v1/admin/points/risk-settings", body, pts.OPERATOR),
                    lambda: read(api, "/v1/admin/points/risk-settings", pts.OPERATOR)["updatedAt"],
                    lambda answer: answer["maxPointsPerDay"] == 90_000_000, restore)


def decide_risk_hold(cloud: LocalCloud, api: Api) -> Prepared:
    # A hold: accrual past a limit of 5 points a day (the limit is put back at once)
    restore = keep_partition(cloud, pts.POINTS_TABLE, "RISK")
    try:
        response = api.call("PUT", "/v1/admin/points/risk-settings", body={"maxPointsPerDay": 5}, **pts.OPERATOR)
        assert response.status_code == 200, response.text
        customer, merchant = pts.new_customer(), unique("m")
        pts.create_rule(api, pts.rule_body(unique("r"), merchant))
        pts.accrue(cloud, pts.posted(pts.card_transaction(customer, merchant, 100_000)))
    finally:
        restore()
    holds = api.call("GET", "/v1/admin/points/risk-holds", **pts.OPERATOR).json()["items"]
    hold_id = next(h["holdId"] for h in holds if h["customerId"] == customer)

    def effect() -> Any:
        hold = DynamoPointsStore().risk_hold(hold_id) or {}
        return hold.get("status"), hold.get("decidedAt"), balance_of(api, customer)

    return Prepared(Request("POST", f"/v1/admin/points/risk-holds/{hold_id}/decision", {"decision": "release", "note": "checked"},
                            pts.OPERATOR), effect, lambda answer: answer["status"] == "released")


# ---- campaigns -------------------------------------------------------------------------------------


@cache
def campaign_coupon(api: Api) -> str:
    return cpn.active_template(api)


def campaign_effect(api: Api, campaign_id: str) -> Callable[[], Any]:
    def effect() -> Any:
        found = read(api, f"{cmp.ROOT}/{campaign_id}", cmp.AUTHOR)
        audit = read(api, f"{cmp.ROOT}/{campaign_id}/audit", cmp.AUTHOR)
        return found and (found["status"], found["version"], len(audit["items"]))

    return effect


def create_campaign(cloud: LocalCloud, api: Api) -> Prepared:
    body = cmp.coupon_campaign(campaign_coupon(api))
    return Prepared(Request("POST", cmp.ROOT, body, cmp.AUTHOR), campaign_effect(api, body["campaignId"]),
                    lambda answer: answer["campaignId"] == body["campaignId"])


def update_campaign(cloud: LocalCloud, api: Api) -> Prepared:
    body = cmp.coupon_campaign(campaign_coupon(api))
    cmp.create(api, body)
    return Prepared(Request("PUT", f"{cmp.ROOT}/{body['campaignId']}", {**body, "name": "renamed"}, cmp.AUTHOR),
                    campaign_effect(api, body["campaignId"]), lambda answer: answer["name"] == "renamed")


def create_campaign_from_template(cloud: LocalCloud, api: Api) -> Prepared:
    campaign_id = unique("camp")
    body = {"campaignId": campaign_id, "name": "Dinner for a coupon", "window": cmp.open_window(), "fundingCostCentre": "cc-marketing",
            "budget": {"unit": "rewards", "total": 100},
            "parameters": {"minAmountMinor": 100_000, "mccs": ["7011"], "couponTemplateId": campaign_coupon(api)}}
    return Prepared(Request("POST", "/v1/admin/campaign-templates/spend_x_get_coupon/campaigns", body, cmp.AUTHOR),
                    campaign_effect(api, campaign_id), lambda answer: answer["campaignId"] == campaign_id)


def lifecycle(action: str, who: dict[str, Any], before: tuple[tuple[str, dict[str, Any]], ...] = ()) -> Callable[[LocalCloud, Api], Prepared]:
    """A lifecycle step on a draft, after the steps `before`; the campaign's status and audit log are the effect."""
    def prepare(cloud: LocalCloud, api: Api) -> Prepared:
        campaign_id = cmp.create(api, cmp.coupon_campaign(campaign_coupon(api)))["campaignId"]
        for step, step_who in before:
            assert cmp.act(api, campaign_id, step, step_who).status_code == 200
        return Prepared(Request("POST", f"{cmp.ROOT}/{campaign_id}/{action}", {"note": "checked"}, who), campaign_effect(api, campaign_id),
                        lambda answer: answer["campaignId"] == campaign_id)

    return prepare


SUBMITTED = (("submit", cmp.AUTHOR),)
APPROVED = (*SUBMITTED, ("approve", cmp.APPROVER))


def fire_campaign(cloud: LocalCloud, api: Api) -> Prepared:
    campaign_id = cmp.launch(api, cmp.coupon_campaign(campaign_coupon(api), trigger={"type": "manual"}))

    def effect() -> Any:
        return sorted(i["sk"]["S"] for i in cloud.clients.dynamodb.query(
            TableName="campaigns", KeyConditionExpression="pk = :p", ConsistentRead=True,
            ExpressionAttributeValues={":p": {"S": f"RUN#{campaign_id}"}})["Items"])

    return Prepared(Request("POST", f"{cmp.ROOT}/{campaign_id}/fire", {"customerIds": [unique("ghost")]}, cmp.AUTHOR), effect,
                    lambda answer: effect() == [answer["runId"]])


def upload_audience(cloud: LocalCloud, api: Api) -> Prepared:
    campaign_id = cmp.create(api, cmp.coupon_campaign(campaign_coupon(api), audience={"uploaded": True}))["campaignId"]
    customer = pts.known_customer(cloud)
    upload = f"{cmp.ROOT}/{campaign_id}/audience-uploads/u-1"
    return Prepared(Request("POST", f"{cmp.ROOT}/{campaign_id}/audience-uploads", {"uploadId": "u-1", "csv": f"customerId\n{customer}\n"},
                            cmp.AUTHOR), lambda: (lambda u: u and (u["batches"], u["imported"]))(read(api, upload, cmp.AUTHOR)))


def create_invite_code(cloud: LocalCloud, api: Api) -> Prepared:
    from loyalty.campaigns import service as campaigns_service

    customer = unique("inviter")
    return Prepared(Request("POST", f"/v1/customers/{customer}/invite-code", None, {"as_": customer}),
                    lambda: campaigns_service.default_store().inviter(customer),
                    lambda answer: answer["code"] == (campaigns_service.default_store().inviter(customer) or {}).get("code"))


# ---- customers, privacy, scoring -------------------------------------------------------------------


def set_tags(cloud: LocalCloud, api: Api) -> Prepared:
    customer = pts.known_customer(cloud)
    return Prepared(Request("PUT", f"/v1/admin/customers/{customer}/tags", {"tags": ["vip"]}, pts.OPERATOR),
                    lambda: scr.stored_profile(cloud, customer).get("operatorTags"), lambda answer: answer["operatorTags"] == ["vip"])


def set_customer_consents(cloud: LocalCloud, api: Api) -> Prepared:
    customer = pts.known_customer(cloud)
    path = f"/v1/customers/{customer}/consents"
    return Prepared(Request("PUT", path, {"wecom": True, "sms": True}, {"as_": customer}),
                    lambda: (lambda c: (c["wecom"], c["sms"]))(read(api, path, {"as_": customer})),
                    lambda answer: answer["wecom"]["granted"] and answer["sms"]["granted"])


def erase_customer(cloud: LocalCloud, api: Api) -> Prepared:
    customer = pts.known_customer(cloud)
    return Prepared(Request("POST", f"/v1/admin/customers/{customer}/erase", None, pts.OPERATOR),
                    lambda: (lambda p: (p.get("erased"), p.get("erasedAt")))(scr.stored_profile(cloud, customer)))


def save_score_model(cloud: LocalCloud, api: Api) -> Prepared:
    model = f"{scr.MODELS}/churn"  # its default again: a new version that changes no score
    return Prepared(Request("PUT", model, DEFAULT_MODELS["churn"], scr.OPERATOR), lambda: read(api, model, scr.OPERATOR)["version"],
                    lambda answer: answer["model"] == "churn")


def inert_segment(segment_id: str, **changes: Any) -> dict[str, Any]:
    """A segment nobody is in (other tests of the session score with every segment)."""
    return {**scr.segment_body(segment_id, tagsAll=[unique("tag")]), "active": False, **changes}


def create_segment(cloud: LocalCloud, api: Api) -> Prepared:
    body = inert_segment(unique("seg"))
    segment = f"{scr.SEGMENTS}/{body['segmentId']}"
    return Prepared(Request("POST", scr.SEGMENTS, body, scr.OPERATOR), lambda: (read(api, segment, scr.OPERATOR) or {}).get("version"),
                    lambda answer: answer["segmentId"] == body["segmentId"])


def update_segment(cloud: LocalCloud, api: Api) -> Prepared:
    body = inert_segment(unique("seg"))
    created = api.call("POST", scr.SEGMENTS, body=body, **scr.OPERATOR)
    assert created.status_code == 201, created.text
    segment = f"{scr.SEGMENTS}/{body['segmentId']}"
    return Prepared(Request("PUT", segment, {**body, "name": "renamed"}, scr.OPERATOR), lambda: read(api, segment, scr.OPERATOR)["version"],
                    lambda answer: answer["name"] == "renamed")


# ---- MOT: rules, and an RM working a task ---------------------------------------------------------


def create_mot_rule(cloud: LocalCloud, api: Api) -> Prepared:
    name = unique("mot")

    def effect() -> Any:
        return [r["version"] for r in read(api, mot.MOT_RULES, cpn.OPERATOR)["items"] if r["name"] == name]

    return Prepared(Request("POST", mot.MOT_RULES, mot.rule_body(name=name), cpn.OPERATOR), effect, lambda answer: answer["name"] == name)


def update_mot_rule(cloud: LocalCloud, api: Api) -> Prepared:
    rule = mot.outflow_rule(api, mot.account())
    path = f"{mot.MOT_RULES}/{rule['ruleId']}"
    body = {k: rule[k] for k in (*mot.rule_body(), "orgUnitId", "audience")} | {"status": "paused", "version": 1}
    return Prepared(Request("PUT", path, body, cpn.OPERATOR), lambda: read(api, path, cpn.OPERATOR)["version"],
                    lambda answer: answer["status"] == "paused" and answer["version"] == 2)


def rm_task(cloud: LocalCloud, api: Api, action: str, body: Any = None, *, before: tuple[str, ...] = (), consent: bool = False,
            **rule: Any) -> Prepared:
    """A fresh task of a fresh RM, taken through `before`, and the RM's `action` on it."""
    acct, rm = mot.account(), mot.new_rm()
    mot.outflow_rule(api, acct, **rule)
    customer = mot.customer_of(cloud, rm)
    if consent:
        assert api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"wecom": True}).status_code == 200
    mot.deliver_moments(cloud, mot.outflow(customer, account=acct))
    (task,) = mot.rm_tasks(api, rm)
    path = f"/v1/rm/tasks/{task['taskId']}"
    for step in before:
        assert mot.rm_call(api, "POST", f"{path}/{step}", rm).status_code == 200
    who = {"as_": rm, "groups": mot.RM_GROUPS, "org": None}

    def effect() -> Any:
        (now,) = mot.rm_tasks(api, rm)
        return now["state"], now["offerCouponId"], now["messageId"], len(cpn.wallet_items(api, customer))

    return Prepared(Request("POST", f"{path}/{action}", body, who), effect, lambda answer: answer["taskId"] == task["taskId"])


def send_task_offer(cloud: LocalCloud, api: Api) -> Prepared:
    template = cpn.active_template(api, benefit=cpn.fixed_amount(500), stock=10)
    return rm_task(cloud, api, "offer", task={"priority": 1, "slaHours": 24, "talkingPoints": "call", "offer": {"templateId": template}})


# ---- reconciliation --------------------------------------------------------------------------------


def start_reconciliation(cloud: LocalCloud, api: Api) -> Prepared:
    # A day long gone, its own to this case: a run replaces the report of its date
    day = (date(2002, 1, 1) + timedelta(days=uuid.uuid4().int % 6000)).isoformat()
    path, who = f"/v1/admin/reconciliation/{day}", {"as_": "op-finance", "groups": ["operators"]}
    return Prepared(Request("POST", path, None, who), lambda: (read(api, path, who) or {}).get("runId"),
                    lambda answer: answer["businessDate"] == day)


# ---- org units -------------------------------------------------------------------------------------


def org_effect(api: Api, unit_id: str) -> Callable[[], Any]:
    def effect() -> Any:
        found = read(api, f"{org.ROOT}/{unit_id}", org.HQ)
        return found and (found["version"], found["parentId"], found["status"], found["name"])

    return effect


def create_org_unit(cloud: LocalCloud, api: Api) -> Prepared:
    parent, unit_id = org.branch(api), org.unique("out")
    body = {"unitId": unit_id, "kind": "outlet", "name": "Outlet", "parentId": parent}
    return Prepared(Request("POST", org.ROOT, body, org.HQ), org_effect(api, unit_id), lambda answer: answer["unitId"] == unit_id)


def update_org_unit(cloud: LocalCloud, api: Api) -> Prepared:
    unit_id = org.create(api, org.unique("out"), "outlet", org.branch(api))["unitId"]
    return Prepared(Request("PUT", f"{org.ROOT}/{unit_id}", {"name": "Renamed"}, org.HQ), org_effect(api, unit_id),
                    lambda answer: answer["name"] == "Renamed")


def move_org_unit(cloud: LocalCloud, api: Api) -> Prepared:
    unit_id, target = org.create(api, org.unique("out"), "outlet", org.branch(api))["unitId"], org.branch(api)
    return Prepared(Request("POST", f"{org.ROOT}/{unit_id}/move", {"parentId": target}, org.HQ), org_effect(api, unit_id),
                    lambda answer: answer["parentId"] == target)


def close_org_unit(cloud: LocalCloud, api: Api) -> Prepared:
    unit_id = org.create(api, org.unique("out"), "outlet", org.branch(api))["unitId"]
    return Prepared(Request("POST", f"{org.ROOT}/{unit_id}/close", {"note": "merged"}, org.HQ), org_effect(api, unit_id),
                    lambda answer: answer["status"] == "closed")


def pool_effect(api: Api, *units: str, period: str) -> Callable[[], Any]:
    def effect() -> Any:
        found = [read(api, f"{org.ROOT}/{unit}/pools/{period}.rewards", org.HQ) for unit in units]
        return [f and (f["pool"]["allocation"], f["pool"]["allocatedOnward"]) for f in found]

    return effect


def create_org_pool(cloud: LocalCloud, api: Api) -> Prepared:
    org.ensure_head_office(api)
    period = f"{uuid.uuid4().int % 5000 + 5000}-Q{uuid.uuid4().int % 4 + 1}"
    body = {"period": period, "unit": "rewards", "allocation": 1000}
    return Prepared(Request("POST", f"{org.ROOT}/{org.HEAD_OFFICE}/pools", body, org.HQ), pool_effect(api, org.HEAD_OFFICE, period=period),
                    lambda answer: answer["poolId"] == f"{period}.rewards")


def allocate_org_pool(cloud: LocalCloud, api: Api) -> Prepared:
    period = str(date.today().year)
    org.ensure_root_pool(api, period)
    branch = org.branch(api)
    body = {"childId": branch, "period": period, "unit": "rewards", "amount": 7}
    return Prepared(Request("POST", f"{org.ROOT}/{org.HEAD_OFFICE}/pools/allocations", body, org.HQ),
                    pool_effect(api, branch, period=period), lambda answer: answer["receiver"]["allocation"] == 7)


def reallocate_org_pool(cloud: LocalCloud, api: Api) -> Prepared:
    period = str(date.today().year)
    org.ensure_root_pool(api, period)
    first, second = org.branch(api), org.branch(api)
    for unit in (first, second):
        assert org.allocate(api, org.HEAD_OFFICE, unit, period, 10).status_code == 200
    body = {"fromUnitId": first, "toUnitId": second, "period": period, "unit": "rewards", "amount": 4}
    return Prepared(Request("POST", f"{org.ROOT}/{org.HEAD_OFFICE}/pools/reallocations", body, org.APPROVER_HQ),
                    pool_effect(api, first, second, period=period), lambda answer: answer["receiver"]["allocation"] == 14)


# ---- checkout --------------------------------------------------------------------------------------

STACKING = "/v1/admin/stacking-policy"
POLICY_MAKER: dict[str, Any] = {"as_": "op-policy-maker", "groups": ["operators"], "org": org.HEAD_OFFICE}
POLICY_CHECKER: dict[str, Any] = {"as_": "op-policy-checker", "groups": ["operators", "approvers"], "org": org.HEAD_OFFICE}


def put_stacking_policy(cloud: LocalCloud, api: Api) -> Prepared:
    restore = keep_partition(cloud, "checkout", "POLICY")
    return Prepared(Request("PUT", STACKING, {"policy": {"maxCoupons": 2}}, POLICY_MAKER),
                    lambda: (read(api, STACKING, POLICY_MAKER)["pending"] or {}).get("version"),
                    lambda answer: answer["status"] == "pending", restore)


def approve_stacking_policy(cloud: LocalCloud, api: Api) -> Prepared:
    restore = keep_partition(cloud, "checkout", "POLICY")
    proposed = api.call("PUT", STACKING, body={"policy": {"maxCoupons": 3}}, **POLICY_MAKER)
    assert proposed.status_code == 200, proposed.text
    version = proposed.json()["version"]
    return Prepared(Request("POST", f"{STACKING}/versions/{version}/approve", None, POLICY_CHECKER),
                    lambda: read(api, STACKING, POLICY_MAKER)["inForce"]["version"],
                    lambda answer: answer["status"] == "approved" and answer["version"] == version, restore)


def session_case(action: str, body: Any, *, confirmed: bool = False) -> Callable[[LocalCloud, Api], Prepared]:
    """A checkout session's step: a customer's session over one coupon and 500 points (confirmed
    first if `confirmed`), the step's effect read as the session's state and refunds."""

    def prepare(cloud: LocalCloud, api: Api) -> Prepared:
        customer = pts.known_customer(cloud)
        coupon = cpn.claimed(api, customer, cpn.active_template(api))["couponId"]
        assert pts.adjust(api, customer, 1_000).status_code == 201
        session = api.call("POST", chk.SESSIONS, as_=customer, body={"order": chk.ORDER, "coupons": [coupon], "points": 500})
        assert session.status_code == 201, session.text
        sid = session.json()["sessionId"]
        if confirmed:
            assert chk.act(api, customer, sid, "confirm", {"paymentId": "pay-1"}).status_code == 200
        path = f"{chk.SESSIONS}/{sid}"
        return Prepared(Request("POST", f"{path}/{action}", body, {"as_": customer}),
                        lambda: (lambda s: (s["state"], len(s["refunds"]), pts.balance(api, customer)["available"]))(read(api, path, {"as_": customer})),
                        lambda answer: (answer.get("session") or answer)["sessionId"] == sid)

    return prepare


def open_checkout_session(cloud: LocalCloud, api: Api) -> Prepared:
    customer = pts.known_customer(cloud)
    coupon = cpn.claimed(api, customer, cpn.active_template(api))["couponId"]
    return Prepared(Request("POST", chk.SESSIONS, {"order": chk.ORDER, "coupons": [coupon]}, {"as_": customer}),
                    lambda: chk.coupon_status(api, customer, coupon), lambda answer: answer["state"] == "locked")


CASES = [
    Case("openCheckoutSession", open_checkout_session, Expect(200, replayed=True), domain=True),
    Case("confirmCheckoutSession", session_case("confirm", {"paymentId": "pay-1"})),
    Case("cancelCheckoutSession", session_case("cancel", None)),
    Case("refundCheckoutSession", session_case("refunds", {"refundId": "rf-1", "lines": [{"lineId": "l1", "quantity": 1}]}, confirmed=True)),
    Case("putStackingPolicy", put_stacking_policy),
    Case("approveStackingPolicy", approve_stacking_policy),
    Case("createCouponTemplate", create_coupon_template),
    Case("changeCouponTemplateStatus", change_coupon_template_status),
    Case("addCouponStock", add_coupon_stock),
    Case("uploadVoucherCodes", upload_voucher_codes),
    Case("claimCoupon", claim_coupon, Expect(201, replayed=True), domain=True),
    Case("lockCoupon", coupon_step("lock", LOCK)),
    Case("redeemCoupon", coupon_step("redeem", REDEEM)),
    Case("releaseCoupon", coupon_step("release", {"orderId": "o-1"}, (("lock", LOCK),))),
    Case("returnCoupon", coupon_step("return", {"orderId": "o-1"}, (("redeem", REDEEM),))),
    Case("createPointRule", create_point_rule),
    Case("updatePointRule", update_point_rule),
    Case("adjustPoints", adjust_points),
    Case("savePointsCatalogueItem", save_points_catalogue_item),
    Case("redeemPoints", redeem_points, Expect(200, replayed=True), domain=True),
    Case("settlePointsRedemption", settle_points_redemption),
    Case("savePointTiers", save_point_tiers),
    Case("saveRiskSettings", save_risk_settings),
    Case("decideRiskHold", decide_risk_hold),
    Case("createCampaign", create_campaign),
    Case("updateCampaign", update_campaign),
    Case("createCampaignFromTemplate", create_campaign_from_template),
    Case("submitCampaign", lifecycle("submit", cmp.AUTHOR)),
    Case("approveCampaign", lifecycle("approve", cmp.APPROVER, SUBMITTED)),
    Case("rejectCampaign", lifecycle("reject", cmp.APPROVER, SUBMITTED)),
    Case("pauseCampaign", lifecycle("pause", cmp.AUTHOR, APPROVED)),
    Case("resumeCampaign", lifecycle("resume", cmp.AUTHOR, (*APPROVED, ("pause", cmp.AUTHOR)))),
    Case("endCampaign", lifecycle("end", cmp.AUTHOR)),
    Case("fireCampaign", fire_campaign, Expect(202, replayed=False), domain=True),
    Case("uploadAudience", upload_audience, COMMITTED),
    Case("createInviteCode", create_invite_code),
    Case("setTags", set_tags, RAN_AGAIN),
    Case("setCustomerConsents", set_customer_consents),
    Case("eraseCustomer", erase_customer),  # the replay finishes the erasure: the first tombstone stands
    Case("saveScoreModel", save_score_model),
    Case("createSegment", create_segment),
    Case("updateSegment", update_segment),
    Case("startReconciliation", start_reconciliation),
    Case("createMotRule", create_mot_rule),
    Case("updateMotRule", update_mot_rule),
    Case("startTask", lambda cloud, api: rm_task(cloud, api, "start")),
    Case("completeTask", lambda cloud, api: rm_task(cloud, api, "complete", {"outcome": "contacted"}, before=("start",))),
    Case("sendTaskOffer", send_task_offer),
    Case("sendTaskMessage", lambda cloud, api: rm_task(cloud, api, "message", consent=True)),
    Case("createOrgUnit", create_org_unit),
    Case("updateOrgUnit", update_org_unit),
    Case("moveOrgUnit", move_org_unit),
    Case("closeOrgUnit", close_org_unit),
    Case("createOrgPool", create_org_pool),
    Case("allocateOrgPool", allocate_org_pool),
    Case("reallocateOrgPool", reallocate_org_pool),
]


# ---- the tests -------------------------------------------------------------------------------------


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text())
    return loaded


def mutating_operations() -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for ops in document()["paths"].values() for method, op in ops.items() if method in MUTATING}


def takes_a_key(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in operation.get("parameters") or [])


def success_status(operation_id: str) -> int:
    return min(int(status) for status in mutating_operations()[operation_id]["responses"] if status.startswith("2"))


def stale() -> int:
    """Seconds after which a claim is stale: its holder has had longer than any Lambda runs."""
    return get_settings().idempotency_in_flight_seconds + 1


def send(api: Api, request: Request, key: str) -> tuple[int, dict[str, str], Any]:
    try:
        answer = api.call(request.method, request.path, body=request.body, idempotency_key=key, **request.who)
    except requests.RequestException:  # the killed process answered nothing
        return 0, {}, None
    return answer.status_code, dict(answer.headers), answer.json() if answer.content else None


@pytest.mark.parametrize("case", CASES, ids=[case.operation for case in CASES])
def test_a_call_killed_after_its_commit_takes_effect_once_and_its_retry_answers_without_running_again(
        cloud: LocalCloud, api: Api, case: Case) -> None:
    # Given what the call needs
    prepared = case.prepare(cloud, api)
    try:
        before, key = prepared.effect(), uuid.uuid4().hex
        # When its process dies right after its commit, its answer lost
        crash = dies_after_answering(cloud) if case.domain else idempotency_store(DiesAfterCommit(real_store()))
        with crash:
            status, _, _ = send(api, prepared.request, key)
        assert status == 0, "the process was not killed"
        # Then it took effect
        after = prepared.effect()
        assert after != before, f"no effect: {after}"
        # And a retry with the same key once the claim is stale takes no effect again
        with idempotency_store(Later(real_store(), stale())):
            status, headers, body = send(api, prepared.request, key)
        assert prepared.effect() == after, f"applied again: {body}"
        # And answers as the route replays
        expected = case.expect
        assert status == (expected.status or success_status(case.operation)), body
        assert headers.get("Idempotent-Replayed") == ("true" if expected.replayed else None), headers
        if expected.code:
            assert body["error"]["code"] == expected.code, body
        else:
            assert prepared.answer(body), body
    finally:
        prepared.cleanup()


def test_a_bundle_parts_return_killed_after_its_commit_is_not_rebuilt(cloud: LocalCloud, api: Api) -> None:
    # Given a bundle whose two parts were redeemed for one order
    part_a, part_b = cpn.active_template(api, stock=5), cpn.active_template(api, stock=5)
    customer = cpn.new_customer()
    parts = [c["couponId"] for c in cpn.claimed(api, customer, cpn.active_template(api, benefit=cpn.bundle(part_a, part_b)))["coupons"]]
    for coupon_id in parts:
        assert cpn.coupon_action(api, coupon_id, "redeem", customer, REDEEM).status_code == 200
    request, key = Request("POST", f"/v1/coupons/{parts[1]}/return", {"orderId": "o-1"}, {"as_": customer}), uuid.uuid4().hex
    # When returning one part dies right after its commit
    with idempotency_store(DiesAfterCommit(real_store())):
        assert send(api, request, key)[0] == 0
    returned = [coupon_state(cloud, c) for c in parts]
    assert [status for status, _ in returned] == ["available", "available"]
    # Then a retry once the claim is stale returns nothing again, and answers 409 IDEMPOTENCY_COMMITTED:
    # which parts came back with it is no longer recorded
    with idempotency_store(Later(real_store(), stale())):
        status, _, body = send(api, request, key)
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_COMMITTED")
    assert [coupon_state(cloud, c) for c in parts] == returned


def test_every_mutating_route_of_the_document_has_a_case() -> None:
    # Given the mutating operations of the API's document (generated from the registered routes)
    operations = mutating_operations()
    keyed = {name for name, operation in operations.items() if takes_a_key(operation)}
    # Then each that takes an Idempotency-Key has exactly one case, and no case names a route that is gone
    tabled = [case.operation for case in CASES]
    assert len(tabled) == len(set(tabled)), "an operation has two cases"
    assert sorted(keyed - set(tabled)) == [], "mutating routes without a fault-injection case: add them to CASES"
    assert sorted(set(tabled) - keyed) == [], "cases for operations the document no longer has"
    # And the others are the known ones that change nothing
    assert set(operations) - keyed == CHANGES_NOTHING
