"""Seeds the demo bank (`infra.local.demo_bank`) into a running local cloud the way a bank's systems
would: operators and customers call the public API with dev tokens (`infra.local.tokens`, what
`make token` prints), core banking puts its events on the bus. Nothing is written to a table directly.

`make run` seeds in a background thread once the system is healthy (`--demo seed`, the Makefile's
default), printing progress and a one-line summary; `--demo live` then keeps a gentle stream of bank
events flowing until Ctrl-C; `--demo off` (the module's default, so the test suites start empty)
seeds nothing. `python -m infra.local demo [seed|live]` seeds a system that is already running.

Seeding twice does not duplicate: every mutating call carries a stable Idempotency-Key, whatever
exists already is skipped, and events carry the same business ids and times (the times are counted
back from the first seed's *anchor*: when the demo's first coupon template was created).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import requests

from infra.local import demo_bank as bank
from infra.local.tokens import issue
from infra.topology import BANK_SOURCE, EVENT_BUS_NAME

OPERATOR = ("op-alice", ("operators",))  # the maker
APPROVER = ("op-bob", ("operators", "approvers"))  # the checker
MALL_BACKEND = ("svc-points-mall", ("operators",))  # the mall's payment backend settles points-and-cash orders
# Their org units, as the dev sign-in gives them (infra/local/console.py): the head office's. The mall's
# backend settles the bank's books (a head office route): a bank gives such service identities the head office's unit.
ORG_UNIT_OF = {"op-alice": "hq", "op-bob": "hq", "svc-points-mall": "hq"}
RETRIED_STATUS = {429, 500, 502, 503, 504}  # throttled, or the server failed: the same call again
SUMMARY_PREFIX = "demo bank seeded"
MALL_ITEMS = {i["itemId"] for i in bank.CATALOGUE if i["kind"] == "mall_item"}


class DemoError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"demo bank: {message}", flush=True)


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code")) if isinstance(error, dict) else ""


class Client:
    """The public API as its callers use it: a bearer token per caller, an Idempotency-Key on every
    mutating call, retries on throttling, 5xx and a key still in progress."""

    def __init__(self, api_url: str):
        self.api_url = api_url.rstrip("/")
        self._local = threading.local()
        self._tokens: dict[tuple[str, tuple[str, ...]], tuple[str, float]] = {}
        self.calls = 0

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def token(self, caller: tuple[str, tuple[str, ...]]) -> str:
        found = self._tokens.get(caller)
        if found is None or found[1] < time.time() + 600:
            found = (issue(caller[0], list(caller[1]), org_unit=ORG_UNIT_OF.get(caller[0])), time.time() + 12 * 3600)
            self._tokens[caller] = found
        return found[0]

    def call(self, method: str, path: str, caller: tuple[str, tuple[str, ...]], body: Any = None, key: str | None = None,
             accept: Iterable[int] = (200, 201, 202), tolerate: Iterable[str] = ()) -> Answer:
        """The answer; `tolerate` lists error codes that mean "done already" (e.g. a 409 *_EXISTS once
        the first call's Idempotency-Key has lapsed). Anything else unexpected raises."""
        headers = {"Authorization": f"Bearer {self.token(caller)}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        data = None if body is None else json.dumps(body)
        for attempt in range(8):
            self.calls += 1
            try:
                response = self._session().request(method, self.api_url + path, data=data, headers=headers, timeout=60)
            except requests.ConnectionError:
                time.sleep(0.2 * (attempt + 1))
                continue
            answer = Answer(response.status_code, response.json() if response.content else None)
            busy = answer.status == 409 and (answer.code == "IDEMPOTENCY_IN_PROGRESS" or answer.code.endswith("_CONTENDED"))
            if busy or answer.status in RETRIED_STATUS:
                time.sleep(0.1 * 2**attempt)
                continue
            if answer.status in accept or answer.code in tolerate:
                return answer
            raise DemoError(f"{method} {path} as {caller[0]}: {answer.status} {answer.code or answer.body}")
        raise DemoError(f"{method} {path} as {caller[0]}: no answer after retries")

    def get(self, path: str, caller: tuple[str, tuple[str, ...]] = OPERATOR, accept: Iterable[int] = (200,)) -> Answer:
        return self.call("GET", path, caller, accept=accept)


def customer(customer_id: str) -> tuple[str, tuple[str, ...]]:
    return customer_id, ()


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + n

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


class Backpressure:
    """Publishes no faster than the engine consumes: before more events go out, each queue that
    gates what the console shows first (accrual, campaign triggers, profiles) must have fewer than
    `high` messages waiting, and scoring (the slowest, and nothing the seed waits on) fewer than
    `scoring_high`. Thousands of queued messages would make every queue operation of the emulator
    slow (moto counts a queue's messages on each receive and send), so a paced seed finishes sooner
    than one that floods the bus. Without an SQS client it does not pace."""

    LIMITS = {"points-accrual": 1, "campaign-triggers": 1, "customer-profile-events": 1, "scoring-events": 12}

    def __init__(self, sqs: Any | None, high: int = 25):
        self.sqs = sqs
        self.limits: dict[str, int] = {}
        self.every: list[str] = []
        if sqs is not None:
            urls = sqs.list_queues().get("QueueUrls", [])
            self.every = [u for u in urls if not u.endswith("-dlq") and not u.endswith("-failures")]
            self.limits = {u: high * self.LIMITS[u.rsplit("/", 1)[-1]] for u in self.every if u.rsplit("/", 1)[-1] in self.LIMITS}

    def depths(self, urls: list[str], in_flight: bool = False) -> list[int]:
        assert self.sqs is not None
        names = ["ApproximateNumberOfMessages"] + (["ApproximateNumberOfMessagesNotVisible"] if in_flight else [])
        found = [self.sqs.get_queue_attributes(QueueUrl=u, AttributeNames=names)["Attributes"] for u in urls]
        return [sum(int(a.get(n, 0)) for n in names) for a in found]

    def wait(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        urls = list(self.limits)
        while urls and time.monotonic() < deadline:
            if all(depth < self.limits[u] for u, depth in zip(urls, self.depths(urls), strict=True)):
                return
            time.sleep(0.25)

    def backlog(self, name: str) -> int:
        return sum(self.depths([u for u in self.every if u.rsplit("/", 1)[-1] == name], in_flight=True))

    def idle(self, allow: dict[str, int] | None = None) -> bool | None:
        """Whether every queue is empty, nothing in flight, but for the backlog `allow` tolerates by
        queue name; None when it cannot tell."""
        if not self.every:
            return None
        allow = allow or {}
        return all(depth <= allow.get(u.rsplit("/", 1)[-1], 0) for u, depth in zip(self.every, self.depths(self.every, in_flight=True), strict=True))


class Seeder:
    def __init__(self, api_url: str, events_client: Any, size: int | None = None, bus: str = EVENT_BUS_NAME,
                 workers: int = 4, settle_timeout_s: float = 60.0, sqs_client: Any | None = None):
        self.client = Client(api_url)
        self.events = events_client
        self.pace = Backpressure(sqs_client)
        self.size = size or bank.DEFAULT_CUSTOMERS
        self.bus = bus
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo")
        self.settle_timeout_s = settle_timeout_s
        self.counts = Counts()
        self.bank: bank.DemoBank | None = None
        self.fresh = True

    # ---- the whole seeding -----------------------------------------------------------------------

    def seed(self) -> str:
        """Seeds, and prints the one-line summary once accrual, grants and coupons have caught up;
        then waits for scoring (segments, scores, managers' books), which lags, and says so."""
        started = time.monotonic()
        self.step("operators set up the org tree", self.set_up_org)
        self.step("operators set up the programme", self.set_up)
        assert self.bank is not None
        self.step("core banking publishes the customers", self.publish_customers)
        self.step("three weeks of bank activity go on the bus", self.publish_activity)
        self.step("customers use the app", self.app_activity)
        self.step("accrual and grants catch up", lambda: self.settle(self.settle_timeout_s))
        self.step("points redemptions, risk reviews, campaign fires", self.follow_ups)
        self.step("accrual and grants catch up again", lambda: self.settle(self.settle_timeout_s))
        summary = self.summary(time.monotonic() - started)
        print(summary, flush=True)
        self.step("scoring catches up (segments, scores, managers' books)", lambda: self.settle(self.settle_timeout_s * 3, scoring=True))
        return summary

    def step(self, name: str, action: Callable[[], Any]) -> None:
        started = time.monotonic()
        said = action()
        say(f"{name}: {said + ' ' if said else ''}({time.monotonic() - started:.1f} s)")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def each(self, items: Iterable[Any], action: Callable[[Any], Any]) -> list[Any]:
        return list(self.pool.map(action, items))

    # ---- operators --------------------------------------------------------------------------------

    def set_up(self) -> str:
        c = self.client
        templates = bank.COUPON_TEMPLATES
        # The demo's first template marks the demo bank: on a system without it nothing of the demo
        # exists yet, and the look-ups for what an earlier seed made are skipped.
        self.fresh = not self.exists(f"/v1/admin/coupon-templates/{templates[0]['templateId']}")
        self.ensure_template(templates[0])
        anchor_text = c.get(f"/v1/admin/coupon-templates/{templates[0]['templateId']}").body["createdAt"]
        self.bank = bank.build(datetime.fromisoformat(anchor_text.replace("Z", "+00:00")), self.size)
        self.each(templates[1:], self.ensure_template)  # before the campaigns and the ladder that name them
        campaigns = self.bank.campaigns()
        work: list[Callable[[], None]] = [partial(self.ensure_rule, r) for r in bank.POINT_RULES]
        work += [partial(self.ensure_segment, s) for s in bank.SEGMENTS]
        work += [partial(self.ensure_mot_rule, m) for m in bank.MOT_RULES]
        work += [partial(self.ensure_campaign, k) for k in campaigns]
        work.append(self.ensure_points_settings)
        self.each(work, lambda do: do())
        return (f"{len(templates)} coupon templates, {len(bank.POINT_RULES)} earn rules, {len(bank.TIER_LADDER['tiers'])} member levels, "
                f"{len(bank.CATALOGUE)} mall items, {len(bank.SEGMENTS)} segments, {len(bank.MOT_RULES)} MOT rules, {len(campaigns)} campaigns "
                f"({sum(1 for k in campaigns if not k['approve'])} left awaiting approval)")

    def set_up_org(self) -> str:
        """Head office, branches, sub-branches (their branch codes the customers' branch ids) and outlets,
        parents first; what exists already is left as it is."""
        for unit_id, parent, kind, name, code in bank.ORG_TREE:
            body = {"unitId": unit_id, "kind": kind, "name": name, "parentId": parent, "branchCode": code}
            self.client.call("POST", "/v1/admin/org-units", OPERATOR, body, key=f"demo-org-{unit_id}",
                             tolerate=["ORG_UNIT_EXISTS", "ORG_ROOT_EXISTS", "ORG_BRANCH_CODE_TAKEN"])
        return f"{len(bank.ORG_TREE)} org units"

    def ensure_rule(self, rule: dict[str, Any]) -> None:
        if self.fresh or not self.exists(f"/v1/admin/point-rules/{rule['ruleId']}"):
            self.client.call("POST", "/v1/admin/point-rules", OPERATOR, rule, key=f"demo-rule-{rule['ruleId']}",
                             tolerate=["RULE_VERSION_CONFLICT"])

    def ensure_segment(self, segment: dict[str, Any]) -> None:
        if self.fresh or not self.exists(f"/v1/admin/segments/{segment['segmentId']}"):
            self.client.call("POST", "/v1/admin/segments", OPERATOR, segment, key=f"demo-segment-{segment['segmentId']}",
                             tolerate=["SEGMENT_EXISTS"])

    def ensure_mot_rule(self, rule: dict[str, Any]) -> None:
        """The rule's id derives from the maker and the key: seeding again names the same rule (409 then)."""
        body = {k: v for k, v in rule.items() if k != "key"}
        self.client.call("POST", "/v1/admin/mot-rules", OPERATOR, body, key=f"demo-mot-{rule['key']}", tolerate=["RULE_VERSION_CONFLICT"])

    def ensure_points_settings(self) -> None:
        """The member-level ladder, the risk warning's limits and the mall catalogue."""
        c = self.client
        if self.fresh or not self.exists("/v1/admin/point-tiers"):
            c.call("PUT", "/v1/admin/point-tiers", OPERATOR, bank.TIER_LADDER, key="demo-tiers")
        if c.get("/v1/admin/points/risk-settings").body.get("updatedAt") is None:
            c.call("PUT", "/v1/admin/points/risk-settings", OPERATOR, bank.RISK_SETTINGS, key="demo-risk-settings")
        listed = {i["itemId"] for i in c.get("/v1/admin/points/catalogue").body["items"]}
        for item in bank.CATALOGUE:
            if item["itemId"] not in listed:
                c.call("PUT", f"/v1/admin/points/catalogue/{item['itemId']}", OPERATOR, item, key=f"demo-item-{item['itemId']}")

    def exists(self, path: str) -> bool:
        return self.client.get(path, accept=(200, 404)).status == 200

    def ensure_template(self, template: dict[str, Any]) -> None:
        c, tid = self.client, template["templateId"]
        found = None if self.fresh else c.get(f"/v1/admin/coupon-templates/{tid}", accept=(200, 404))
        if found is None or found.status == 404:
            found = c.call("POST", "/v1/admin/coupon-templates", OPERATOR, template, key=f"demo-template-{tid}", tolerate=["TEMPLATE_EXISTS"])
            if found.status != 201:
                found = c.get(f"/v1/admin/coupon-templates/{tid}")
        if template["benefit"]["kind"] == "voucher_code" and found.body["stockAdded"] == 0:
            c.call("POST", f"/v1/admin/coupon-templates/{tid}/codes", OPERATOR, {"codes": bank.VOUCHER_CODES}, key=f"demo-codes-{tid}")
        if found.body["status"] == "draft":
            c.call("PUT", f"/v1/admin/coupon-templates/{tid}/status", OPERATOR, {"status": "active"}, key=f"demo-activate-{tid}")

    def ensure_campaign(self, campaign: dict[str, Any]) -> None:
        """Written by the maker and submitted; approved by the checker, a second person (unless it is
        the one left waiting for approval)."""
        c, body = self.client, campaign["body"]
        cid = body["campaignId"]
        root = f"/v1/admin/campaigns/{cid}"
        found = None if self.fresh else c.get(root, accept=(200, 404))
        if found is None or found.status == 404:
            path = f"/v1/admin/campaign-templates/{campaign['route']}/campaigns" if campaign["route"] else "/v1/admin/campaigns"
            found = c.call("POST", path, OPERATOR, body, key=f"demo-campaign-{cid}", tolerate=["CAMPAIGN_VERSION_CONFLICT"])
            if found.status != 201:
                found = c.get(root)
        status = found.body["status"]
        if status == "draft":
            c.call("POST", f"{root}/submit", OPERATOR, {"note": "Terms drafted with the product team"}, key=f"demo-submit-{cid}")
            status = "pending_approval"
        if campaign["approve"] and status == "pending_approval":
            c.call("POST", f"{root}/approve", APPROVER, {"note": "Checked with consumer protection"}, key=f"demo-approve-{cid}")

    # ---- core banking -----------------------------------------------------------------------------

    def put_events(self, events: list[tuple[str, dict[str, Any]]]) -> int:
        """PutEvents in batches of 10 (the API's limit), resending any entry the bus refused."""
        for start in range(0, len(events), 10):
            if start % 20 == 0:
                self.pace.wait()
            entries = [{"EventBusName": self.bus, "Source": BANK_SOURCE, "DetailType": t, "Detail": json.dumps(d)}
                       for t, d in events[start:start + 10]]
            for attempt in range(5):
                answer = self.events.put_events(Entries=entries)
                if not answer.get("FailedEntryCount"):
                    break
                entries = [e for e, r in zip(entries, answer["Entries"], strict=True) if r.get("ErrorCode")]
                time.sleep(0.1 * (attempt + 1))
            else:
                raise DemoError(f"the bus refused {len(entries)} events")
        self.counts.add("events", len(events))
        return len(events)

    def publish_customers(self) -> str:
        assert self.bank is not None
        b, c = self.bank, self.client
        changed_at = bank.iso(b.anchor)
        codes = dict(zip(b.inviters, self.each(b.inviters, lambda inviter: c.call(
            "POST", f"/v1/customers/{inviter}/invite-code", customer(inviter), {}, key=f"demo-invite-{inviter}").body["code"]), strict=True))

        def current(cust: bank.Customer) -> bool:
            found = c.get(f"/v1/customers/{cust.customer_id}", accept=(200, 404))
            return found.status == 200 and found.body.get("relationshipManagerId") == cust.profile["relationshipManagerId"]

        missing = b.customers if self.fresh else [cust for cust, done in zip(b.customers, self.each(b.customers, current), strict=True)
                                                  if not done]
        self.put_events([("CustomerProfileChanged", {**cust.profile, "changedAt": changed_at}) for cust in missing])
        waiting = list(missing)

        def not_in() -> list[bank.Customer]:
            while waiting and current(waiting[0]):  # one probe a round while the first is not in yet
                waiting.pop(0)
            return waiting

        self.wait_for("profiles", not_in, timeout_s=60)
        new = {cust.customer_id for cust in missing}
        accounts = [(t, {**d, "referralCode": codes[d["referralCode"][1:]]} if str(d.get("referralCode", "")).startswith("@") else d)
                    for t, d in b.accounts if d["customerId"] in new]
        self.put_events(accounts)
        self.counts.add("customers", len(b.customers))
        return f"{len(missing)} profiles published ({len(b.customers) - len(missing)} there already), {len(accounts)} account openings"

    def publish_activity(self) -> str:
        assert self.bank is not None
        b, c = self.bank, self.client
        invitees = [cust for cust in b.customers if cust.invited_by]
        # An invitee's first card payment qualifies their referral only once the opening bound it.
        self.wait_for("referrals bound", lambda: [i for i in b.inviters if len(
            c.get(f"/v1/customers/{i}/referrals").body["referrals"]) < sum(1 for cust in invitees if cust.invited_by == i)], timeout_s=30)
        subjects = {cust.customer_id: s for cust in b.customers if (s := _first_subject(b.activity, cust.customer_id))}
        booked = [] if self.fresh else self.each(list(subjects), lambda cid: (cid, self.has_entry(cid, subjects[cid])))
        done = {cid for cid, found in booked if found}
        events = [(t, d) for t, d in b.activity if d["customerId"] not in done]
        self.put_events(events)
        return f"{len(events)} events for {len({d['customerId'] for _, d in events})} customers ({len(done)} had theirs already)"

    def has_entry(self, customer_id: str, subject: str) -> bool:
        """Whether the customer's points history has an earning from the event with this business id."""
        path = f"/v1/customers/{customer_id}/points/history?kind=earn&limit=100"
        for _ in range(5):
            page = self.client.get(path).body
            if any(subject in e["entryId"] for e in page["items"]):
                return True
            if not page.get("nextCursor"):
                return False
            path = f"/v1/customers/{customer_id}/points/history?kind=earn&limit=100&cursor={quote(page['nextCursor'], safe='')}"
        return False

    # ---- customers in the app ----------------------------------------------------------------------

    def app_activity(self) -> str:
        assert self.bank is not None
        b, c = self.bank, self.client

        def claim(pair: tuple[str, str]) -> None:
            cid, template = pair
            answer = c.call("POST", "/v1/coupons/claims", customer(cid), {"templateId": template, "channel": "app"},
                            key=f"demo-claim-{cid}-{template}", tolerate=["COUPON_LIMIT_REACHED", "COUPON_OUT_OF_STOCK", "NOT_ELIGIBLE", "TEMPLATE_NOT_FOUND", "TEMPLATE_NOT_ACTIVE"])
            if answer.status == 201:
                self.counts.add("claimed")
                if template == bank.demo_id("dining-20-off-100") and int(cid[2:]) % 2 == 0:
                    order = f"ord-demo-{cid}-dining"
                    c.call("POST", f"/v1/coupons/{answer.body['couponId']}/redeem", customer(cid),
                           {"orderId": order, "order": {"orderAmountMinor": 16_800, "currency": bank.CURRENCY, "merchantId": "m-dining-007",
                                                         "channel": "pos"}}, key=f"demo-redeem-{order}")
                    self.counts.add("redeemed")

        self.each(b.coupon_claims, claim)
        tagged = [cust.customer_id for cust in b.customers if cust.aum_minor >= 30_000_000 and "vip" not in cust.profile["tags"]][:8]
        for cid in tagged:
            c.call("PUT", f"/v1/admin/customers/{cid}/tags", OPERATOR, {"tags": ["wealth-prospect"]}, key=f"demo-tags-{cid}")
        return f"{self.counts['claimed']} coupons claimed, {self.counts['redeemed']} redeemed, {len(tagged)} customers tagged"

    def follow_ups(self) -> str:
        """What needs the engine's results first: points to spend, holds to review, segments to fire at."""
        assert self.bank is not None
        b, c = self.bank, self.client
        shopping = b.shopping()
        mall = [cid for cid, item in shopping if item in MALL_ITEMS]
        outcomes = {cid: "failed" if i == 1 else "paid" for i, cid in enumerate(mall[:-1])} if len(mall) > 1 else {}

        def redeem(pair: tuple[str, str]) -> None:
            cid, item = pair
            answer = c.call("POST", "/v1/points/redemptions", customer(cid), {"itemId": item}, key=f"demo-points-{cid}-{item}",
                            tolerate=["INSUFFICIENT_POINTS", "POINTS_TOO_FRAGMENTED", "ITEM_NOT_AVAILABLE"])
            if answer.status not in (200, 201):  # 200: this key's redemption, made before (a replay)
                return
            self.counts.add("points redemptions")
            redemption = answer.body
            # The mall's payment backend settles the points-and-cash orders: one payment fails (the
            # points come back), the last one is still awaited, the others are paid.
            outcome = outcomes.get(cid)
            if redemption.get("status") == "held" and outcome:
                c.call("POST", f"/v1/admin/points/redemptions/{redemption['redemptionId']}/settlement", MALL_BACKEND,
                       {"outcome": outcome, "paymentId": f"pay-demo-{redemption['redemptionId']}"},
                       key=f"demo-settle-{redemption['redemptionId']}", tolerate=["REDEMPTION_SETTLED"])

        self.each(shopping, redeem)
        for cid, points, reason in (("c-002", 500, "Goodwill: card delivered late (ticket SR-1042)"),
                                    ("c-003", 2_000, "Branch anniversary gift"), ("c-010", -5, "Duplicate check-in corrected")):
            c.call("POST", f"/v1/admin/customers/{cid}/points/adjustments", OPERATOR, {"points": points, "reason": reason,
                   "costCentre": "cc-service"}, key=f"demo-adjust-{cid}", tolerate=["INSUFFICIENT_POINTS"])
        holds = c.get("/v1/admin/points/risk-holds").body["items"]
        # The first big spender's hold is reviewed and released; the others wait in the queue.
        for hold in [h for h in holds if h["customerId"] == b.big_spenders[0]][:1]:
            c.call("POST", f"/v1/admin/points/risk-holds/{hold['holdId']}/decision", OPERATOR,
                   {"decision": "release", "note": "Checked with the branch: a genuine jewellery purchase"},
                   key=f"demo-hold-{hold['holdId']}", tolerate=["RISK_HOLD_DECIDED"])
        redeemed = sum(self.each(b.travellers()[::2], self.redeem_campaign_coupon))
        fired = 0
        for campaign in b.campaigns():
            if campaign.get("fire") or campaign["route"] == "birthday_gift":
                cid = campaign["body"]["campaignId"]
                c.call("POST", f"/v1/admin/campaigns/{cid}/fire", OPERATOR, {}, key=f"demo-fire-{cid}-{b.anchor:%Y%m%d}",
                       tolerate=["CAMPAIGN_NOT_ACTIVE"])
                fired += 1
        return (f"{self.counts['points redemptions']} points redemptions, {redeemed} campaign coupons redeemed, "
                f"{len(holds)} risk holds flagged, {fired} campaigns fired")

    def redeem_campaign_coupon(self, customer_id: str) -> int:
        """The customer pays for their next trip with the coupon the travel campaign granted (the
        report's funnel counts it as redeemed); 0 if they have none (the control group has none)."""
        c, campaign = self.client, bank.demo_id("travel-spend")
        wallet = c.get(f"/v1/customers/{customer_id}/coupons?limit=100", customer(customer_id)).body["items"]
        for coupon in (w for w in wallet if w.get("campaignId") == campaign):
            if coupon["status"] == "available":
                order = f"ord-demo-{customer_id}-trip"
                c.call("POST", f"/v1/coupons/{coupon['couponId']}/redeem", customer(customer_id),
                       {"orderId": order, "order": {"orderAmountMinor": 236_000, "currency": bank.CURRENCY, "merchantId": "m-airline-007",
                                                     "channel": "online"}}, key=f"demo-redeem-{order}")
            return 1
        return 0

    # ---- waiting on the engine ---------------------------------------------------------------------

    def wait_for(self, what: str, pending: Callable[[], list[Any]], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        left = pending()
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = pending()
        if left:
            say(f"still waiting for {what} after {timeout_s:.0f} s ({len(left)} left); going on")

    def settle(self, timeout_s: float, scoring: bool = False) -> str:
        """Until the engine has worked through what the seed sent, twice in a row a second apart:
        accrual, grants, coupons and profiles (and scoring too when `scoring`; otherwise it may lag,
        and the campaign triggers its score changes feed may have a few waiting). Without a view of
        the queues: until what the console shows is unchanged twice in a row."""
        deadline = time.monotonic() + timeout_s
        allow = {} if scoring else {"scoring-events": 10**9, "campaign-triggers": 40}
        before: Any = None
        while time.monotonic() < deadline:
            idle = self.pace.idle(allow)
            now = idle if idle is not None else self.snapshot()
            if (idle is True and before is True) or (idle is None and now == before):
                return ""
            before = now
            time.sleep(1.0)
        return f"still busy after {timeout_s:.0f} s; going on"

    def snapshot(self) -> tuple[Any, ...]:
        assert self.bank is not None
        c = self.client
        liability = c.get("/v1/admin/points/liability").body
        reports = [c.get(f"/v1/admin/campaigns/{k['body']['campaignId']}/report").body for k in self.bank.campaigns() if k["approve"]]
        arms = tuple((r["campaignId"], a["arm"], a["targeted"], a["granted"], a["redeemed"]) for r in reports for a in r["arms"])
        holds = len(c.get("/v1/admin/points/risk-holds").body["items"])
        return liability["outstanding"], liability.get("debt"), arms, holds

    def summary(self, seconds: float) -> str:
        assert self.bank is not None
        c = self.client
        reports = {k["body"]["campaignId"]: c.get(f"/v1/admin/campaigns/{k['body']['campaignId']}/report").body for k in self.bank.campaigns()}
        granted = sum(a["granted"] for r in reports.values() for a in r["arms"])
        pending = len(c.get("/v1/admin/campaigns?status=pending_approval").body["items"])
        outstanding = c.get("/v1/admin/points/liability").body["outstanding"]
        scoring = self.pace.backlog("scoring-events") if self.pace.every else 0
        lagging = f"; scoring has {scoring} events to go" if scoring else ""
        return (f"{SUMMARY_PREFIX} in {seconds:.1f} s: {len(self.bank.customers)} customers in {len(bank.BRANCHES)} branches, "
                f"{self.counts['events']} bank events, {len(bank.POINT_RULES)} earn rules, {len(bank.COUPON_TEMPLATES)} coupon templates, "
                f"{len(bank.CATALOGUE)} mall items, {len(bank.SEGMENTS)} segments, {len(reports)} campaigns ({pending} awaiting approval, "
                f"{granted} rewards granted), {self.counts['claimed']} coupons claimed, {self.counts['points redemptions']} points redemptions, "
                f"{outstanding} points outstanding; {c.calls} API calls{lagging}")

    # ---- the live stream ---------------------------------------------------------------------------

    def live(self, stopped: threading.Event, per_second: float = 2.0) -> None:
        """A couple of bank events a second for random demo customers, now, until `stopped` (the
        local cloud keeps up with about three a second, each event fanning out to accrual,
        campaigns and scoring)."""
        rng = random.Random()
        ids = [f"c-{i:03d}" for i in range(1, self.size + 1)]
        sent, last_report = 0, time.monotonic()
        say(f"live: about {per_second:g} bank events a second until Ctrl-C")
        while not stopped.wait(rng.expovariate(per_second)):
            try:
                self.put_events([bank.live_event(rng, ids, datetime.now(UTC), sent)])
            except Exception as error:  # the emulator is stopping, or busy: try again later
                say(f"live: {error}")
                stopped.wait(2)
                continue
            sent += 1
            if time.monotonic() - last_report > 60:
                say(f"live: {sent} events so far")
                last_report = time.monotonic()


def _first_subject(activity: list[tuple[str, dict[str, Any]]], customer_id: str) -> str | None:
    """The business id points gives the customer's first earning event (`loyalty.points.rules`), so
    their points history shows whether their activity went out before: a card payment's or salary's
    id, a check-in's business date, an AUM figure's month, a login's or deposit's time (as points
    writes it, fixed-width UTC)."""

    def utc(text: Any) -> str:
        return f"{datetime.fromisoformat(str(text).replace('Z', '+00:00')).astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"

    for event_type, detail in activity:
        if detail["customerId"] != customer_id:
            continue
        if event_type in ("CardTransactionPosted", "SalaryCredited") and not str(detail["transactionId"]).endswith("-big"):
            return f"{event_type}:{detail['transactionId']}:"  # (a very large purchase is held, not booked)
        if event_type == "CheckInCompleted":
            return f"{event_type}:{detail['businessDate']}:"
        if event_type == "MonthlyAumComputed":
            return f"{event_type}:{detail['month']}:"
        if event_type == "LoginCompleted":
            return f"{event_type}:{utc(detail['loggedInAt'])}:"
        if event_type == "DepositBalanceChanged":
            return f"{event_type}:{detail['accountId']}@{utc(detail['changedAt'])}:"
    return None


def start_in_background(mode: str, api_url: str, clients: Any, stopped: threading.Event,
                        size: int | None = None) -> threading.Thread | None:
    """Seeds (and, for `live`, streams) on a daemon thread; the API is usable meanwhile."""
    if mode == "off":
        return None

    def run() -> None:
        seeder = Seeder(api_url, clients.events, size, sqs_client=clients.sqs)
        try:
            say(f"seeding {seeder.size} customers and three weeks of history in the background; the API is usable now")
            seeder.seed()
            if mode == "live" and not stopped.is_set():
                seeder.live(stopped)
        except Exception as error:  # a failed seed must not take the local cloud down with it
            if not stopped.is_set():
                say(f"seeding failed: {error}")
        finally:
            seeder.close()

    thread = threading.Thread(target=run, name="demo-bank", daemon=True)
    thread.start()
    return thread
