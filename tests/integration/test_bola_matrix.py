"""Broken object-level authorisation, route by route: every operation an operator may call, called by
branch A's operator on branch B's resources, answers as if B's resource did not exist (404 with the
route's own not-found code), or 403 `ORG_HEAD_OFFICE_REQUIRED` for the bank's books and bank-wide changes,
and changes nothing; a listing answers 200 without any of B's ids; a bank-wide read answers A as
anyone. Each case has a control, so it cannot pass vacuously: the same request by B's operator (or the
head office's, for head-office-only routes) is not refused by the scope.

One case per operation (operationId); an operation of the document an operator may call without a
case fails the last test, which also counts the leaks every case found (docs/security.md, "Org scope").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from infra.local.cloud import LocalCloud
from infra.openapi import DOCUMENT_PATH
from loyalty.core.dynamo import from_item
from loyalty.scoring.defaults import DEFAULT_MODELS
from tests.support import campaigns as cmp
from tests.support import checkout as chk
from tests.support import coupons as cpn
from tests.support import mot, org
from tests.support import points as pts
from tests.support import scoring as scr
from tests.support.api import Api
from tests.support.partitions import keep_partition

HQ = org.HQ
APPROVER_HQ = org.APPROVER_HQ
YEAR = str(pts.bank_today().year)
# What only the scope answers: an operator's token without a usable unit, or a branch's on the bank's books.
SCOPE_CODES = {"ORG_UNIT_REQUIRED", "ORG_UNIT_UNKNOWN", "ORG_HEAD_OFFICE_REQUIRED"}
HEAD_OFFICE_CODES = ("ORG_HEAD_OFFICE_REQUIRED",)
LOCK = {"orderId": "o-1", "order": cpn.order()}
REDEEM = {"orderId": "o-1", "order": cpn.order()}

# What the cases found, for the last test: calls by A that B's resource answered (or that changed it).
LEAKS: list[str] = []
SETUP_NOTES: list[str] = []


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code_of(response: requests.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def read(api: Api, path: str, who: dict[str, Any] = HQ) -> Any:
    """A GET's body as the head office reads it, or None for a 404."""
    response = api.call("GET", path, **who)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def every_page(api: Api, path: str, who: dict[str, Any]) -> tuple[int, list[Any], str]:
    """A listing's status, its items over every page (`nextCursor`), and the first page's text."""
    items: list[Any] = []
    cursor: str | None = None
    first = ""
    for _ in range(200):
        separator = "&" if "?" in path else "?"
        response = api.call("GET", path + (f"{separator}cursor={cursor}" if cursor else ""), **who)
        first = first or response.text
        if response.status_code != 200:
            return response.status_code, items, response.text
        body = response.json()
        items += body.get("items", []) if isinstance(body, dict) else body
        cursor = body.get("nextCursor") if isinstance(body, dict) else None
        if not cursor:
            break
    return 200, items, first


# ---- the world: head office, branches A and B, and B's resources ---------------------------------------


@dataclass
class World:
    cloud: LocalCloud
    api: Api
    a: str
    b: str
    code_b: str
    sub1: str  # sub-branches of B holding some of its pool
    sub2: str
    customer: str  # B's customer (profile branchId = B's branch code), with points and coupons
    template: str  # B's active coupon template
    rule: str
    segment: str
    item: str  # a catalogue item (bank-wide)
    run_campaign: str  # B's active manual campaign, fired once
    run: str
    upload_campaign: str
    upload: str
    redemptions: list[str] = field(default_factory=list)

    @property
    def op_a(self) -> dict[str, Any]:
        return org.operator(self.a, "op-bola-a")

    @property
    def ap_a(self) -> dict[str, Any]:
        return {"as_": "ap-bola-a", "groups": ["operators", "approvers"], "org": self.a}

    @property
    def op_b(self) -> dict[str, Any]:
        return org.operator(self.b, "op-bola-b")

    @property
    def ap_b(self) -> dict[str, Any]:
        return {"as_": "ap-bola-b", "groups": ["operators", "approvers"], "org": self.b}

    # resources made for one case (a control may change them)

    def coupon(self, *before: tuple[str, dict[str, Any]]) -> str:
        coupon_id = str(cpn.claimed(self.api, self.customer, self.template)["couponId"])
        for action, body in before:
            response = cpn.coupon_action(self.api, coupon_id, action, self.customer, body)
            assert response.status_code == 200, response.text
        return coupon_id

    def campaign(self, *steps: str, **overrides: Any) -> str:
        """B's campaign (a draft), taken through `steps` by B's maker and approver."""
        body = cmp.coupon_campaign(self.template, orgUnitId=self.b, **overrides)
        created = create_owned(self.api, cmp.ROOT, body, self.op_b)
        for step in steps:
            response = cmp.act(self.api, created, step, self.ap_b if step in ("approve", "reject") else self.op_b)
            assert response.status_code == 200, response.text
        return created

    def draft_template(self, **template: Any) -> str:
        return create_owned(self.api, cpn.TEMPLATES, cpn.template_body(orgUnitId=self.b, **template), self.op_b)

    def outlet(self) -> str:
        return str(org.create(self.api, org.unique("out"), "outlet", self.b)["unitId"])

    def checkout_session(self) -> str:
        """B's customer's checkout session over one of their coupons."""
        opened = self.api.call("POST", chk.SESSIONS, as_=self.customer, body={"order": chk.ORDER, "coupons": [self.coupon()]})
        assert opened.status_code == 201, opened.text
        return str(opened.json()["sessionId"])

    def redemption(self) -> str:
        redeemed = self.api.call("POST", "/v1/points/redemptions", as_=self.customer, body={"itemId": self.item})
        assert redeemed.status_code == 201, redeemed.text
        return str(redeemed.json()["redemptionId"])


def create_owned(api: Api, path: str, body: dict[str, Any], who: dict[str, Any]) -> str:
    """Creates one of B's resources as B's operator (its `orgUnitId` B); its id. A route that does not
    take `orgUnitId` yet gets the body without it (the resource is then the head office's: the cases
    still expect A to be refused, and their controls say that B cannot see it either)."""
    response = api.call("POST", path, body=body, **who)
    if response.status_code in (400, 422) and "orgUnitId" in response.text:
        SETUP_NOTES.append(f"{path}: orgUnitId refused ({code_of(response)}); created without it, as the head office")
        response = api.call("POST", path, body={k: v for k, v in body.items() if k != "orgUnitId"}, **HQ)
    assert response.status_code == 201, response.text
    return str(next(body[k] for k in ("campaignId", "templateId", "ruleId", "segmentId") if k in body))


@pytest.fixture(scope="module")
def world(cloud: LocalCloud, api: Api) -> World:
    # Given the head office's pool for the year, and two branches under it, each given part of it
    org.ensure_root_pool(api, YEAR)
    code_a, code_b = unique("bola-a"), unique("bola-b")
    a, b = org.branch(api, branchCode=code_a), org.branch(api, branchCode=code_b)
    for unit in (a, b):
        assert org.allocate(api, org.HEAD_OFFICE, unit, YEAR, 1_000_000).status_code == 200
    sub1 = str(org.create(api, org.unique("sub"), "sub_branch", b)["unitId"])
    sub2 = str(org.create(api, org.unique("sub"), "sub_branch", b)["unitId"])
    op_b = org.operator(b, "op-bola-b")
    moved = org.allocate(api, b, sub1, YEAR, 100, who=op_b)
    assert moved.status_code == 200, moved.text
    # And B's customer, as core banking publishes them (to the profile store and to scoring), with points
    customer = pts.new_customer()
    scr.profile_snapshot(cloud, customer, branchId=code_b)
    assert pts.adjust(api, customer, 5000).status_code == 201
    # And B's coupon template, earn rule and segment, created by B's operator
    template = create_owned(api, cpn.TEMPLATES, cpn.template_body(orgUnitId=b, stock=1000), op_b)
    activated = api.call("PUT", f"{cpn.TEMPLATES}/{template}/status", body={"status": "active"}, **op_b)
    assert activated.status_code == 200, activated.text
    rule = create_owned(api, pts.RULES, pts.rule_body(unique("r"), unique("m"), orgUnitId=b), op_b)
    segment = create_owned(api, scr.SEGMENTS, inert_segment(unique("seg"), orgUnitId=b), op_b)
    # And a catalogue item (the head office's: the catalogue is bank-wide)
    item = unique("item")
    body = {"itemId": item, "name": "Umbrella", "kind": "mall_item", "points": 200, "cashMinor": 990, "currency": "CNY", "holdMinutes": 5}
    saved = api.call("PUT", f"/v1/admin/points/catalogue/{item}", body=body, **HQ)
    assert saved.status_code == 200, saved.text
    world = World(cloud, api, a, b, code_b, sub1, sub2, customer, template, rule, segment, item, "", "", "", "")
    # And B's campaigns: an active manual one fired once, and a draft with an uploaded audience
    world.run_campaign = world.campaign("submit", "approve", trigger={"type": "manual"})
    fired = api.call("POST", f"{cmp.ROOT}/{world.run_campaign}/fire", body={"customerIds": [unique("ghost")]}, **op_b)
    assert fired.status_code == 202, fired.text
    world.run = str(fired.json()["runId"])
    world.upload_campaign = world.campaign(audience={"uploaded": True})
    world.upload = "u-1"
    uploaded = api.call("POST", f"{cmp.ROOT}/{world.upload_campaign}/audience-uploads",
                        body={"uploadId": world.upload, "csv": f"customerId\n{customer}\n"}, **op_b)
    assert uploaded.status_code == 200, uploaded.text
    return world


def inert_segment(segment_id: str, **changes: Any) -> dict[str, Any]:
    """A segment nobody is in (other tests of the session score with every segment)."""
    return {**scr.segment_body(segment_id, tagsAll=[unique("tag")]), "active": False, **changes}


# ---- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """What A's call must answer: one of `statuses`, with a code of `codes` (`*SUFFIX`: any code ending so)."""

    statuses: tuple[int, ...]
    codes: tuple[str, ...]

    def matches(self, response: requests.Response) -> bool:
        code = code_of(response) or ""
        return response.status_code in self.statuses and any(
            code.endswith(c[1:]) if c.startswith("*") else code == c for c in self.codes)


def hidden(*codes: str) -> Refused:
    return Refused((404,), codes)


HEAD_OFFICE = Refused((403,), HEAD_OFFICE_CODES)
ELSEWHERE = Refused((422,), ("*ORG_UNIT_INVALID",))  # creating in a unit outside the caller's subtree (scope.claim)


@dataclass(frozen=True)
class Probe:
    """A's request, what it must answer, what it could change (read back as the head office), and the control."""

    method: str
    path: str
    body: Any = None
    who: str = "a"  # "a": A's operator, "ap_a": A's approver
    refused: Refused | None = None  # None: a listing (200, none of `hidden_ids`) or a bank-wide read (not refused)
    hidden_ids: tuple[str, ...] = ()
    effect: Callable[[], Any] = lambda: None
    control_who: str = "b"  # "b", "ap_b", "hq", "ap_hq"
    control_method: str | None = None
    control_path: str | None = None
    control_body: Any = "same"
    control_ok: tuple[int, ...] = ()  # the control's status must be one of these ((): anything the scope does not answer)
    check: Callable[[requests.Response], None] | None = None  # what A's answer must be, instead of a refusal
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Case:
    operation: str
    probe: Callable[[World], Probe]


def who_of(world: World, name: str) -> dict[str, Any]:
    return {"a": world.op_a, "ap_a": world.ap_a, "b": world.op_b, "ap_b": world.ap_b, "hq": HQ, "ap_hq": APPROVER_HQ}[name]


# ---- effects, read back as the head office -------------------------------------------------------------


def campaign_effect(world: World, campaign_id: str) -> Callable[[], Any]:
    def effect() -> Any:
        found = read(world.api, f"{cmp.ROOT}/{campaign_id}")
        audit = read(world.api, f"{cmp.ROOT}/{campaign_id}/audit")
        return found and (found["status"], found["version"], found.get("name"), len((audit or {}).get("items", [])))

    return effect


def template_effect(world: World, template_id: str) -> Callable[[], Any]:
    return lambda: (lambda t: t and (t["status"], t["version"], t["stockLeft"]))(read(world.api, f"{cpn.TEMPLATES}/{template_id}"))


def coupon_effect(world: World, coupon_id: str) -> Callable[[], Any]:
    def effect() -> Any:
        item = from_item(cpn.coupon_item(world.cloud.clients.dynamodb, coupon_id) or {})
        return item.get("status"), item.get("version")

    return effect


def balance_effect(world: World, customer: str) -> Callable[[], Any]:
    return lambda: (lambda f: (f["available"], f["held"]))(pts.balance(world.api, customer))


def version_effect(world: World, path: str) -> Callable[[], Any]:
    return lambda: (lambda f: f and (f.get("version"), f.get("name")))(read(world.api, path))


def org_effect(world: World, unit_id: str) -> Callable[[], Any]:
    return lambda: (lambda f: f and (f["version"], f["parentId"], f["status"], f["name"]))(read(world.api, f"{org.ROOT}/{unit_id}"))


def pool_effect(world: World, *units: str) -> Callable[[], Any]:
    def effect() -> Any:
        found = [read(world.api, f"{org.ROOT}/{unit}/pools/{YEAR}.rewards") for unit in units]
        return [f and (f["pool"]["allocation"], f["pool"]["allocatedOnward"]) for f in found]

    return effect


# ---- the cases -------------------------------------------------------------------------------------


def customer_read(suffix: str, *codes: str) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", f"/v1/customers/{w.customer}{suffix}", refused=hidden(*(codes or ("CUSTOMER_NOT_FOUND",))),
                           control_ok=(200,))


def coupon_step(action: str, body: dict[str, Any], *before: tuple[str, dict[str, Any]]) -> Callable[[World], Probe]:
    def probe(w: World) -> Probe:
        coupon_id = w.coupon(*before)
        return Probe("POST", f"/v1/coupons/{coupon_id}/{action}", body, refused=hidden("COUPON_NOT_FOUND"),
                     effect=coupon_effect(w, coupon_id), control_ok=(200,))

    return probe


def campaign_step(action: str, *before: str, who: str = "a", control_who: str = "b", **overrides: Any) -> Callable[[World], Probe]:
    def probe(w: World) -> Probe:
        campaign_id = w.campaign(*before, **overrides)
        return Probe("POST", f"{cmp.ROOT}/{campaign_id}/{action}", {"note": "checked"}, who=who, refused=hidden("CAMPAIGN_NOT_FOUND"),
                     effect=campaign_effect(w, campaign_id), control_who=control_who, control_ok=(200,))

    return probe


def campaign_read(suffix: str, code: str = "CAMPAIGN_NOT_FOUND", campaign: str = "run") -> Callable[[World], Probe]:
    def probe(w: World) -> Probe:
        campaign_id = w.run_campaign if campaign == "run" else w.upload_campaign
        path = f"{cmp.ROOT}/{campaign_id}{suffix}".replace("{run}", w.run).replace("{upload}", w.upload)
        return Probe("GET", path, refused=hidden(code, "CAMPAIGN_NOT_FOUND"), control_ok=(200,))

    return probe


def listing(path: str, ids: Callable[[World], tuple[str, ...]]) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", path, hidden_ids=ids(w), control_ok=(200,))


def bank_wide(path: str) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", path)


def head_office_read(path: str, control_ok: tuple[int, ...] = (200,)) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", path, refused=HEAD_OFFICE, control_who="hq", control_ok=control_ok)


def update_campaign(w: World) -> Probe:
    body = cmp.coupon_campaign(w.template, orgUnitId=w.b)
    campaign_id = create_owned(w.api, cmp.ROOT, body, w.op_b)
    return Probe("PUT", f"{cmp.ROOT}/{campaign_id}", {**body, "name": "renamed"}, refused=hidden("CAMPAIGN_NOT_FOUND"),
                 effect=campaign_effect(w, campaign_id), control_ok=(200,))


def create_campaign(w: World) -> Probe:
    body = cmp.coupon_campaign(w.template, orgUnitId=w.b)
    return Probe("POST", cmp.ROOT, body, refused=ELSEWHERE, effect=campaign_effect(w, body["campaignId"]),
                 control_body={**body, "campaignId": unique("camp")}, control_ok=(201,))


def from_template_body(w: World) -> dict[str, Any]:
    return {"campaignId": unique("camp"), "name": "Dinner for a coupon", "window": cmp.open_window(), "fundingCostCentre": "cc-marketing",
            "budget": {"unit": "rewards", "total": 100}, "orgUnitId": w.b,
            "parameters": {"minAmountMinor": 100_000, "mccs": ["7011"], "couponTemplateId": w.template}}


def takes_org_unit(operation_id: str) -> bool:
    """The operation's request body has an `orgUnitId`."""
    for operations in document()["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
                if "$ref" in schema:
                    schema = document()["components"]["schemas"][schema["$ref"].split("/")[-1]]
                return "orgUnitId" in schema.get("properties", {})
    return False


def create_campaign_from_template(w: World) -> Probe:
    body = from_template_body(w)
    if not takes_org_unit("createCampaignFromTemplate"):
        # The route names no unit: the campaign is the creator's, never B's (B's coupon template may be
        # its reward: docs/security.md, "What is not scoped yet")
        body.pop("orgUnitId")

        def check(response: requests.Response) -> None:
            assert response.status_code == 201, response.text
            created = read(w.api, f"{cmp.ROOT}/{body['campaignId']}")
            assert created.get("orgUnitId") == w.a, created

        return Probe("POST", "/v1/admin/campaign-templates/spend_x_get_coupon/campaigns", body, check=check)
    return Probe("POST", "/v1/admin/campaign-templates/spend_x_get_coupon/campaigns", body, refused=ELSEWHERE,
                 effect=campaign_effect(w, body["campaignId"]), control_body={**body, "campaignId": unique("camp")}, control_ok=(201,))


def fire_campaign(w: World) -> Probe:
    campaign_id = w.campaign("submit", "approve", trigger={"type": "manual"})

    def effect() -> Any:
        return sorted(i["sk"]["S"] for i in w.cloud.clients.dynamodb.query(
            TableName="campaigns", KeyConditionExpression="pk = :p", ConsistentRead=True,
            ExpressionAttributeValues={":p": {"S": f"RUN#{campaign_id}"}})["Items"])

    return Probe("POST", f"{cmp.ROOT}/{campaign_id}/fire", {"customerIds": [unique("ghost")]}, refused=hidden("CAMPAIGN_NOT_FOUND"),
                 effect=effect, control_ok=(202,))


def upload_audience(w: World) -> Probe:
    campaign_id = w.campaign(audience={"uploaded": True})
    upload = f"{cmp.ROOT}/{campaign_id}/audience-uploads/u-9"
    return Probe("POST", f"{cmp.ROOT}/{campaign_id}/audience-uploads", {"uploadId": "u-9", "csv": f"customerId\n{w.customer}\n"},
                 refused=hidden("CAMPAIGN_NOT_FOUND"), effect=lambda: read(w.api, upload), control_ok=(200,))


def change_template_status(w: World) -> Probe:
    template_id = w.draft_template()
    return Probe("PUT", f"{cpn.TEMPLATES}/{template_id}/status", {"status": "active"}, refused=hidden("TEMPLATE_NOT_FOUND"),
                 effect=template_effect(w, template_id), control_ok=(200,))


def add_stock(w: World) -> Probe:
    return Probe("POST", f"{cpn.TEMPLATES}/{w.template}/stock", {"add": 5}, refused=hidden("TEMPLATE_NOT_FOUND"),
                 effect=template_effect(w, w.template), control_ok=(200,))


def upload_codes(w: World) -> Probe:
    template_id = w.draft_template(benefit=cpn.voucher_code(), stock=0)
    return Probe("POST", f"{cpn.TEMPLATES}/{template_id}/codes", {"codes": [unique("CODE").upper() for _ in range(3)]},
                 refused=hidden("TEMPLATE_NOT_FOUND"), effect=template_effect(w, template_id),
                 control_body={"codes": [unique("CODE").upper() for _ in range(3)]}, control_ok=(201,))


def create_template(w: World) -> Probe:
    body = cpn.template_body(orgUnitId=w.b)
    return Probe("POST", cpn.TEMPLATES, body, refused=ELSEWHERE, effect=template_effect(w, body["templateId"]),
                 control_body={**body, "templateId": unique("tpl")}, control_ok=(201,))


def update_rule(w: World) -> Probe:
    path = f"{pts.RULES}/{w.rule}"
    current = read(w.api, path)
    body = {k: v for k, v in current.items() if k in pts.rule_body("x", "m") or k == "orgUnitId"}
    return Probe("PUT", path, {**body, "name": "renamed"}, refused=hidden("RULE_NOT_FOUND"), effect=version_effect(w, path),
                 control_ok=(200,))


def create_rule(w: World) -> Probe:
    body = pts.rule_body(unique("r"), unique("m"), orgUnitId=w.b)
    return Probe("POST", pts.RULES, body, refused=ELSEWHERE, effect=version_effect(w, f"{pts.RULES}/{body['ruleId']}"),
                 control_body={**body, "ruleId": unique("r")}, control_ok=(201,))


def adjust_points(w: World) -> Probe:
    return Probe("POST", f"/v1/admin/customers/{w.customer}/points/adjustments", {"points": 100, "reason": "goodwill", "costCentre": "cc-service"},
                 refused=hidden("CUSTOMER_NOT_FOUND"), effect=balance_effect(w, w.customer), control_ok=(201,))


def redeem_points(w: World) -> Probe:
    return Probe("POST", "/v1/points/redemptions", {"itemId": w.item, "customerId": w.customer}, refused=hidden("CUSTOMER_NOT_FOUND"),
                 effect=balance_effect(w, w.customer), control_ok=(201,))


def quote_points(w: World) -> Probe:
    detail = pts.card_transaction(w.customer, unique("m"), 10_000)
    return Probe("POST", pts.QUOTE, {"eventType": "CardTransactionPosted", "detail": detail}, refused=hidden("CUSTOMER_NOT_FOUND"),
                 control_ok=(200,))


def get_checkout_session(w: World) -> Probe:
    return Probe("GET", f"{chk.SESSIONS}/{w.checkout_session()}", refused=hidden("SESSION_NOT_FOUND"), control_ok=(200,))


def list_checkout_sessions(w: World) -> Probe:
    w.checkout_session()
    return Probe("GET", f"/v1/admin/customers/{w.customer}/checkout-sessions", refused=hidden("CUSTOMER_NOT_FOUND"), control_ok=(200,))


def get_redemption(w: World) -> Probe:
    return Probe("GET", f"/v1/points/redemptions/{w.redemption()}", refused=hidden("REDEMPTION_NOT_FOUND"), control_ok=(200,))


def settle_redemption(w: World) -> Probe:
    redemption_id = w.redemption()

    def effect() -> Any:
        found = read(w.api, f"/v1/points/redemptions/{redemption_id}")
        return found["status"], found.get("settledAt")

    return Probe("POST", f"/v1/admin/points/redemptions/{redemption_id}/settlement", {"outcome": "paid", "paymentId": "pay-1"},
                 refused=HEAD_OFFICE, effect=effect, control_who="hq", control_ok=(200,))


def save_catalogue_item(w: World) -> Probe:
    item_id = unique("item")
    body = {"itemId": item_id, "name": "Umbrella", "kind": "mall_item", "points": 200, "cashMinor": 990, "currency": "CNY"}

    def effect() -> Any:
        found = w.cloud.clients.dynamodb.get_item(TableName=pts.POINTS_TABLE, Key={"pk": {"S": "CATALOGUE"}, "sk": {"S": item_id}},
                                                  ConsistentRead=True).get("Item")
        return found and found["updatedAt"]["S"]

    return Probe("PUT", f"/v1/admin/points/catalogue/{item_id}", body, refused=HEAD_OFFICE, effect=effect, control_who="hq", control_ok=(200,))


def save_tiers(w: World) -> Probe:
    restore = keep_partition(w.cloud, pts.POINTS_TABLE, "TIERS")
    body = {"tiers": [{"tierId": "standard", "name": "Standard", "minGrowth": 0}], "qualifyingMonths": 12, "downgradeGraceDays": 30}
    return Probe("PUT", "/v1/admin/point-tiers", body, refused=HEAD_OFFICE,
                 effect=lambda: (read(w.api, "/v1/admin/point-tiers") or {}).get("version"), control_who="hq", control_ok=(200,), cleanup=restore)


def save_risk_settings(w: World) -> Probe:
    restore = keep_partition(w.cloud, pts.POINTS_TABLE, "RISK")
    return Probe("PUT", "/v1/admin/points/risk-settings", {"maxPointsPerDay": 90_000_000}, refused=HEAD_OFFICE,
                 effect=lambda: read(w.api, "/v1/admin/points/risk-settings"), control_who="hq", control_ok=(200,), cleanup=restore)


def decide_risk_hold(w: World) -> Probe:
    # No hold of B's is made here: the route is the head office's whatever the hold (the control's 404 is the hold's own)
    return Probe("POST", f"/v1/admin/points/risk-holds/{unique('hold')}/decision", {"decision": "release", "note": "checked"},
                 refused=HEAD_OFFICE, control_who="hq", control_ok=(404,))


def set_tags(w: World) -> Probe:
    return Probe("PUT", f"/v1/admin/customers/{w.customer}/tags", {"tags": ["vip"]}, refused=hidden("CUSTOMER_NOT_FOUND"),
                 effect=lambda: scr.stored_profile(w.cloud, w.customer).get("operatorTags"), control_ok=(200,))


def export_customer(w: World) -> Probe:
    return Probe("POST", f"/v1/admin/customers/{w.customer}/export", refused=hidden("CUSTOMER_NOT_FOUND"), control_ok=(200,))


def erase_customer(w: World) -> Probe:
    customer = pts.new_customer()
    scr.put_profile(w.cloud, customer, branchId=w.code_b)
    return Probe("POST", f"/v1/admin/customers/{customer}/erase", refused=hidden("CUSTOMER_NOT_FOUND"),
                 effect=lambda: (lambda p: (p.get("erased"), p.get("erasedAt")))(scr.stored_profile(w.cloud, customer)), control_ok=(200,))


def segment_probe(suffix: str) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", f"{scr.SEGMENTS}/{w.segment}{suffix}", refused=hidden("SEGMENT_NOT_FOUND"), control_ok=(200,))


def update_segment(w: World) -> Probe:
    path = f"{scr.SEGMENTS}/{w.segment}"
    current = read(w.api, path)
    body = {k: current[k] for k in ("segmentId", "name", "rule", "active", "description", "orgUnitId") if k in current}
    return Probe("PUT", path, {**body, "name": "renamed"}, refused=hidden("SEGMENT_NOT_FOUND"), effect=version_effect(w, path),
                 control_ok=(200,))


def create_segment(w: World) -> Probe:
    body = inert_segment(unique("seg"), orgUnitId=w.b)
    return Probe("POST", scr.SEGMENTS, body, refused=ELSEWHERE, effect=version_effect(w, f"{scr.SEGMENTS}/{body['segmentId']}"),
                 control_body={**body, "segmentId": unique("seg")}, control_ok=(201,))


def save_score_model(w: World) -> Probe:
    model = f"{scr.MODELS}/churn"  # its default again: a new version that changes no score
    return Probe("PUT", model, DEFAULT_MODELS["churn"], refused=HEAD_OFFICE, effect=lambda: read(w.api, model)["version"],
                 control_who="hq", control_ok=(200,))


def start_reconciliation(w: World) -> Probe:
    day = (date(2002, 1, 1) + timedelta(days=uuid.uuid4().int % 6000)).isoformat()
    path = f"/v1/admin/reconciliation/{day}"
    return Probe("POST", path, refused=HEAD_OFFICE, effect=lambda: (read(w.api, path) or {}).get("runId"), control_who="hq", control_ok=(202,))


def get_reconciliation(w: World) -> Probe:
    return Probe("GET", "/v1/admin/reconciliation/2001-01-01", refused=HEAD_OFFICE, control_who="hq", control_ok=(200, 404))


# ---- org units (scoped before issue 18: their out-of-scope answer is ORG_UNIT_NOT_FOUND) ------------------


def org_read(suffix: str, control_ok: tuple[int, ...] = (200,)) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", f"{org.ROOT}/{w.b}{suffix}".replace("{year}", YEAR), refused=hidden("ORG_UNIT_NOT_FOUND", "POOL_NOT_FOUND"),
                           control_ok=control_ok)


def update_org_unit(w: World) -> Probe:
    unit = w.outlet()
    return Probe("PUT", f"{org.ROOT}/{unit}", {"name": "Renamed"}, refused=hidden("ORG_UNIT_NOT_FOUND"), effect=org_effect(w, unit),
                 control_ok=(200,))


def move_org_unit(w: World) -> Probe:
    unit = w.outlet()
    return Probe("POST", f"{org.ROOT}/{unit}/move", {"parentId": w.a}, refused=hidden("ORG_UNIT_NOT_FOUND"), effect=org_effect(w, unit),
                 control_body={"parentId": w.sub1}, control_ok=(200,))


def close_org_unit(w: World) -> Probe:
    unit = w.outlet()
    return Probe("POST", f"{org.ROOT}/{unit}/close", {"note": "merged"}, refused=hidden("ORG_UNIT_NOT_FOUND"), effect=org_effect(w, unit),
                 control_ok=(200,))


def create_org_unit(w: World) -> Probe:
    unit = org.unique("out")
    body = {"unitId": unit, "kind": "outlet", "name": "Outlet", "parentId": w.b}
    return Probe("POST", org.ROOT, body, refused=Refused((404, 403), ("ORG_PARENT_NOT_FOUND", "ORG_UNIT_NOT_FOUND", *HEAD_OFFICE_CODES)),
                 effect=org_effect(w, unit), control_body={**body, "unitId": org.unique("out")}, control_ok=(201,))


def create_org_pool(w: World) -> Probe:
    period = f"{uuid.uuid4().int % 5000 + 5000}-Q{uuid.uuid4().int % 4 + 1}"
    body = {"period": period, "unit": "rewards", "allocation": 5}
    # B's own operator sees B (only the head office creates pools, at the head office): not hidden from them
    return Probe("POST", f"{org.ROOT}/{w.b}/pools", body, refused=hidden("ORG_UNIT_NOT_FOUND"),
                 effect=lambda: read(w.api, f"{org.ROOT}/{w.b}/pools/{period}.rewards"), control_ok=(403,))


def allocate_org_pool(w: World) -> Probe:
    body = {"childId": w.sub2, "period": YEAR, "unit": "rewards", "amount": 1}
    return Probe("POST", f"{org.ROOT}/{w.b}/pools/allocations", body, refused=hidden("ORG_UNIT_NOT_FOUND", "POOL_NOT_FOUND"),
                 effect=pool_effect(w, w.b, w.sub2), control_ok=(200,))


def reallocate_org_pool(w: World) -> Probe:
    body = {"fromUnitId": w.sub1, "toUnitId": w.sub2, "period": YEAR, "unit": "rewards", "amount": 1}
    return Probe("POST", f"{org.ROOT}/{w.b}/pools/reallocations", body, who="ap_a", refused=hidden("ORG_UNIT_NOT_FOUND", "POOL_NOT_FOUND"),
                 effect=pool_effect(w, w.sub1, w.sub2), control_who="ap_b")


MOT_RULES = "/v1/admin/mot-rules"


def mot_rule_of_b(w: World) -> str:
    """B's MOT rule (its trigger's account is no other test's: it never fires)."""
    trigger = {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [unique("a")]}}
    created = w.api.call("POST", MOT_RULES, body=mot.rule_body(trigger=trigger, orgUnitId=w.b), **w.op_b)
    assert created.status_code == 201, created.text
    return str(created.json()["ruleId"])


def mot_rule_read(suffix: str) -> Callable[[World], Probe]:
    return lambda w: Probe("GET", f"{MOT_RULES}/{mot_rule_of_b(w)}{suffix}", refused=hidden("RULE_NOT_FOUND"), control_ok=(200,))


def update_mot_rule(w: World) -> Probe:
    path = f"{MOT_RULES}/{mot_rule_of_b(w)}"
    current = read(w.api, path)
    body = {k: current[k] for k in (*mot.rule_body(), "orgUnitId", "audience", "status")} | {"version": current["version"], "name": "renamed"}
    return Probe("PUT", path, body, refused=hidden("RULE_NOT_FOUND"), effect=version_effect(w, path), control_ok=(200,))


def create_mot_rule(w: World) -> Probe:
    name = unique("mot")
    body = mot.rule_body(name=name, orgUnitId=w.b)

    def effect() -> Any:
        return [r["ruleId"] for r in read(w.api, MOT_RULES)["items"] if r["name"] == name]

    return Probe("POST", MOT_RULES, body, refused=ELSEWHERE, effect=effect, control_body={**body, "name": unique("mot")}, control_ok=(201,))


def list_mot_rules(w: World) -> Probe:
    return Probe("GET", MOT_RULES, refused=None, hidden_ids=(mot_rule_of_b(w),))


STACKING = "/v1/admin/stacking-policy"


def put_stacking_policy(w: World) -> Probe:
    restore = keep_partition(w.cloud, "checkout", "POLICY")
    return Probe("PUT", STACKING, {"policy": {"maxCoupons": 2}}, refused=HEAD_OFFICE,
                 effect=lambda: read(w.api, STACKING), control_who="hq", control_ok=(200,), cleanup=restore)


def approve_stacking_policy(w: World) -> Probe:
    # A version proposed by the head office's maker: a branch's approver may not approve it, the head office's may
    restore = keep_partition(w.cloud, "checkout", "POLICY")
    proposed = w.api.call("PUT", STACKING, body={"policy": {"maxCoupons": 3}}, **HQ)
    assert proposed.status_code == 200, proposed.text
    return Probe("POST", f"{STACKING}/versions/{proposed.json()['version']}/approve", None, who="ap_a", refused=HEAD_OFFICE,
                 effect=lambda: read(w.api, STACKING), control_who="ap_hq", control_ok=(200,), cleanup=restore)


CASES = [
    # MOT: B's rules, their reports, and B's queue of tasks
    Case("createMotRule", create_mot_rule),
    Case("listMotRules", list_mot_rules),
    Case("getMotRule", mot_rule_read("")),
    Case("getMotRuleReport", mot_rule_read("/report")),
    Case("updateMotRule", update_mot_rule),
    Case("listBranchMotTasks", lambda w: Probe("GET", f"{org.ROOT}/{w.b}/mot-tasks", refused=hidden("ORG_UNIT_NOT_FOUND"), control_ok=(200,))),
    # checkout: the stacking policy is the bank's
    Case("getStackingPolicy", bank_wide(STACKING)),
    Case("getStackingPolicyVersion", lambda w: Probe("GET", f"{STACKING}/versions/1", refused=None, control_ok=(200, 404))),
    Case("putStackingPolicy", put_stacking_policy),
    Case("approveStackingPolicy", approve_stacking_policy),
    # customers (B's customer: their profile's branch is B's)
    Case("getCustomer", customer_read("")),
    Case("getCustomerConsents", customer_read("/consents")),
    Case("wallet", customer_read("/coupons")),
    Case("getPointsBalance", customer_read("/points")),
    Case("getPointsHistory", customer_read("/points/history")),
    Case("getTaskCentre", customer_read("/tasks")),
    Case("getReferrals", customer_read("/referrals")),
    Case("setTags", set_tags),
    Case("exportCustomerData", export_customer),
    Case("eraseCustomer", erase_customer),
    Case("getCustomerScores", lambda w: Probe("GET", f"/v1/admin/customers/{w.customer}/scores",
                                              refused=hidden("SCORES_NOT_FOUND", "CUSTOMER_NOT_FOUND"), control_ok=(200,))),
    # coupons of B's customer, and B's coupon templates
    Case("quoteCoupon", lambda w: Probe("POST", f"/v1/coupons/{w.coupon()}/quote", cpn.order(), refused=hidden("COUPON_NOT_FOUND"),
                                        control_ok=(200,))),
    Case("lockCoupon", coupon_step("lock", LOCK)),
    Case("redeemCoupon", coupon_step("redeem", REDEEM)),
    Case("releaseCoupon", coupon_step("release", {"orderId": "o-1"}, ("lock", LOCK))),
    Case("returnCoupon", coupon_step("return", {"orderId": "o-1"}, ("redeem", REDEEM))),
    Case("getCouponTemplate", lambda w: Probe("GET", f"{cpn.TEMPLATES}/{w.template}", refused=hidden("TEMPLATE_NOT_FOUND"), control_ok=(200,))),
    Case("changeCouponTemplateStatus", change_template_status),
    Case("addCouponStock", add_stock),
    Case("uploadVoucherCodes", upload_codes),
    Case("listCouponTemplates", listing(f"{cpn.TEMPLATES}?limit=100", lambda w: (w.template,))),
    Case("createCouponTemplate", create_template),
    # points
    Case("getPointRule", lambda w: Probe("GET", f"{pts.RULES}/{w.rule}", refused=hidden("RULE_NOT_FOUND"), control_ok=(200,))),
    Case("updatePointRule", update_rule),
    Case("listPointRules", listing(pts.RULES, lambda w: (w.rule,))),
    Case("createPointRule", create_rule),
    Case("adjustPoints", adjust_points),
    Case("quotePoints", quote_points),
    Case("redeemPoints", redeem_points),
    Case("getPointsRedemption", get_redemption),
    Case("getCheckoutSession", get_checkout_session),
    Case("listCustomerCheckoutSessions", list_checkout_sessions),
    Case("settlePointsRedemption", settle_redemption),
    Case("getPointsCatalogue", bank_wide("/v1/points/catalogue")),
    Case("listPointsCatalogueItems", bank_wide("/v1/admin/points/catalogue")),
    Case("savePointsCatalogueItem", save_catalogue_item),
    Case("getPointTiers", bank_wide("/v1/admin/point-tiers")),
    Case("savePointTiers", save_tiers),
    Case("getRiskSettings", bank_wide("/v1/admin/points/risk-settings")),
    Case("saveRiskSettings", save_risk_settings),
    Case("listRiskHolds", head_office_read("/v1/admin/points/risk-holds")),
    Case("decideRiskHold", decide_risk_hold),
    Case("getPointsLiability", head_office_read(pts.LIABILITY)),
    # campaigns (B's, drawing from B's pool)
    Case("getCampaign", campaign_read("")),
    Case("getCampaignAudit", campaign_read("/audit")),
    Case("getCampaignReport", campaign_read("/report")),
    Case("getCampaignRun", campaign_read("/runs/{run}", "RUN_NOT_FOUND")),
    Case("getAudienceUpload", campaign_read("/audience-uploads/{upload}", "UPLOAD_NOT_FOUND", campaign="upload")),
    Case("listCampaigns", listing(cmp.ROOT, lambda w: (w.run_campaign, w.upload_campaign))),
    Case("createCampaign", create_campaign),
    Case("createCampaignFromTemplate", create_campaign_from_template),
    Case("listCampaignTemplates", bank_wide("/v1/admin/campaign-templates")),
    Case("updateCampaign", update_campaign),
    Case("submitCampaign", campaign_step("submit")),
    Case("approveCampaign", campaign_step("approve", "submit", who="ap_a", control_who="ap_b")),
    Case("rejectCampaign", campaign_step("reject", "submit", who="ap_a", control_who="ap_b")),
    Case("pauseCampaign", campaign_step("pause", "submit", "approve")),
    Case("resumeCampaign", campaign_step("resume", "submit", "approve", "pause")),
    Case("endCampaign", campaign_step("end")),
    Case("fireCampaign", fire_campaign),
    Case("uploadAudience", upload_audience),
    # scoring
    Case("getSegment", segment_probe("")),
    Case("listSegmentMembers", segment_probe("/members")),
    Case("estimateSegment", segment_probe("/estimate")),
    Case("updateSegment", update_segment),
    Case("listSegments", listing(f"{scr.SEGMENTS}?limit=100", lambda w: (w.segment,))),
    Case("createSegment", create_segment),
    Case("getScoreModel", bank_wide(f"{scr.MODELS}/churn")),
    Case("saveScoreModel", save_score_model),
    Case("getScoringRun", head_office_read("/v1/admin/scoring/runs/2001-01-01", control_ok=(200, 404))),
    Case("getManagerBook", head_office_read(f"/v1/admin/relationship-managers/{unique('rm')}/value", control_ok=(200, 404))),
    Case("listManagerBooks", head_office_read("/v1/admin/relationship-managers")),
    # the bank's books
    Case("getReconciliation", get_reconciliation),
    Case("startReconciliation", start_reconciliation),
    Case("listAuditEntries", head_office_read("/v1/admin/audit")),
    # org units and pools
    Case("getOrgUnit", org_read("")),
    Case("listOrgUnitVersions", org_read("/versions")),
    Case("getOrgUnitForecast", org_read("/forecast", control_ok=(200, 422))),
    Case("getOrgUnitKpis", org_read("/kpis", control_ok=(200, 422))),
    Case("listOrgPools", org_read("/pools")),
    Case("getOrgPool", org_read("/pools/{year}.rewards")),
    Case("updateOrgUnit", update_org_unit),
    Case("moveOrgUnit", move_org_unit),
    Case("closeOrgUnit", close_org_unit),
    Case("listOrgUnits", listing(f"{org.ROOT}?limit=100", lambda w: (w.b, w.sub1, w.sub2))),
    Case("createOrgUnit", create_org_unit),
    Case("listUnknownBranches", head_office_read(f"{org.ROOT}/unknown-branches")),
    Case("createOrgPool", create_org_pool),
    Case("allocateOrgPool", allocate_org_pool),
    Case("reallocateOrgPool", reallocate_org_pool),
]


# ---- the tests -------------------------------------------------------------------------------------


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text())
    return loaded


def operator_operations() -> dict[str, tuple[str, str]]:
    """Every operation an operator may call: the /v1/admin ones, and those whose security names `operator`."""
    found: dict[str, tuple[str, str]] = {}
    default = document().get("security") or []
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            # The staff scheme with the operators group (an RM's routes take the staff's token without it)
            schemes = {name for requirement in operation.get("security", default) for name, groups in requirement.items()
                       if name != "operator" or "operators" in groups}
            if path.startswith("/v1/admin") or "operator" in schemes:
                found[operation["operationId"]] = (method.upper(), path)
    return found


def send(api: Api, method: str, path: str, body: Any, who: dict[str, Any]) -> requests.Response:
    return api.call(method, path, body=body, **who)


def scope_refusal(response: requests.Response, refused: Refused | None) -> bool:
    """The scope's answer: a 403 of its own codes, or the case's own hiding 404."""
    code = code_of(response)
    if response.status_code == 403 and code in SCOPE_CODES:
        return True
    return refused is not None and response.status_code == 404 and refused.matches(response)


@pytest.mark.parametrize("case", CASES, ids=[case.operation for case in CASES])
def test_a_branch_operator_cannot_reach_another_branchs_resources(world: World, api: Api, case: Case) -> None:
    # Given B's resource the route names (made for this case when a control may change it)
    probe = case.probe(world)
    method, path = operator_operations().get(case.operation, ("?", "?"))
    assert probe.method == method, f"{case.operation} is {method} {path}, the case sends {probe.method} {probe.path}"
    try:
        before = probe.effect()
        # When branch A's operator calls it
        response = send(api, probe.method, probe.path, probe.body, who_of(world, probe.who))
        after = probe.effect()
        if after != before or (probe.refused is not None and response.ok):
            LEAKS.append(f"{case.operation}: {response.status_code} {response.text[:200]}")
        # Then it changed nothing
        assert after == before, f"A's call changed B's resource: {before} -> {after} ({response.status_code} {response.text[:300]})"
        if probe.refused is not None:
            # And it is refused as the route refuses what does not exist, or what is the head office's
            assert probe.refused.matches(response), (
                f"A's call answered {response.status_code} {response.text[:300]}; expected {probe.refused}")
        elif probe.check is not None:
            # And it is answered as for anyone (it touches nothing of B's)
            probe.check(response)
            return
        elif probe.hidden_ids:
            # And a listing shows none of B's
            status, items, text = every_page(api, probe.path, who_of(world, probe.who))
            assert status == 200, text
            leaked = [i for i in probe.hidden_ids if i in json.dumps(items)]
            if leaked:
                LEAKS.append(f"{case.operation}: lists {leaked}")
            assert leaked == [], f"A's listing shows B's {leaked}"
        else:
            # And a bank-wide read answers A as it answers anyone
            assert not scope_refusal(response, None) and response.status_code < 500, response.text
            assert response.status_code in (200, 404), response.text
            return
        # And the control: the same request by B's operator (or the head office's) is not refused by the scope
        control_who = who_of(world, probe.control_who)
        control_body = probe.body if probe.control_body == "same" else probe.control_body
        if probe.hidden_ids:
            status, items, text = every_page(api, probe.path, control_who)
            assert status == 200, text
            assert all(i in json.dumps(items) for i in probe.hidden_ids), f"the control's listing lacks B's {probe.hidden_ids}: vacuous"
            return
        control = send(api, probe.control_method or probe.method, probe.control_path or probe.path, control_body, control_who)
        if probe.control_ok:
            assert control.status_code in probe.control_ok, f"control: {control.status_code} {control.text[:300]}"
            assert probe.refused is None or not probe.refused.matches(control), f"the control was hidden too: {control.text[:300]}"
        else:
            assert not scope_refusal(control, probe.refused), f"the control was refused by the scope too: {control.status_code} {control.text[:300]}"
    finally:
        probe.cleanup()


def test_every_operation_an_operator_may_call_has_a_case_and_none_leaks() -> None:
    # Given the operations of the API's document an operator may call
    operations = operator_operations()
    tabled = [case.operation for case in CASES]
    # Then each has exactly one case, and no case names an operation that is gone
    assert len(tabled) == len(set(tabled)), "an operation has two cases"
    assert sorted(set(operations) - set(tabled)) == [], "operations an operator may call without a BOLA case: add them to CASES"
    assert sorted(set(tabled) - set(operations)) == [], "cases for operations the document no longer has"
    # And the cases run before this one found no leak, and made B's resources as B's
    assert LEAKS == [], "\n".join(LEAKS)
    assert SETUP_NOTES == [], "\n".join(SETUP_NOTES)
