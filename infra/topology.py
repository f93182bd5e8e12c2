"""The whole deployment, declared once, as data.

The CDK stacks (`infra/stacks`) and the local cloud (`infra/local`) are both generated from
`TOPOLOGY`; `tests/infra` checks the synthesized template against it. Adding a function, a route,
a queue or a rule means editing this file only.

Names here are logical. CDK turns them into physical names per environment, and hands them to each
function as environment variables named by `table_env`, `queue_env` and `EVENT_BUS_ENV`, which the
domain library's settings model reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Audience = Literal["customer", "operator", "relationship_manager"]
# "append": PutItem only (the audit log: entries are added, never changed or removed);
# "read_append": reads and PutItem, still never an update or a delete.
Access = Literal["read", "write", "append", "read_append"]

EVENT_BUS_NAME = "loyalty-events"
EVENT_BUS_ENV = "EVENT_BUS_NAME"
BANK_SOURCE = "bank.core"
DEFAULT_BANK_TIME_ZONE = "Asia/Shanghai"
# The Lambda Python runtime (CDK's newest; cdk-nag AwsSolutions-L1 wants it). The dependency layer
# holds compiled wheels, so `make deploy` must build it for this version: read it from here.
LAMBDA_PYTHON_VERSION = "3.14"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[Index, ...] = ()
    # A NEW_IMAGE stream: the table's transactional outbox (loyalty.core.outbox) is published from it.
    stream: bool = False


@dataclass(frozen=True)
class Queue:
    """An SQS work queue; every queue gets a DLQ named `<name>-dlq`."""

    name: str
    batch_size: int = 10
    visibility_timeout_s: int = 60
    max_receive_count: int = 3
    max_batching_window_s: int = 0

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule on the bus, routing matching events to a queue."""

    name: str
    event_pattern: dict[str, object]
    queue: str


# The outbox publishers read only the outbox items' inserts: Lambda's event filter drops every other
# record of the table's stream (a stock decrement, a counter, a TTL deletion) before an invocation.
OUTBOX_INSERTS: dict[str, object] = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "OUTBOX#"}]}}}}


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream feeding a function. Records that still fail after `max_retries` go to the
    SQS queue `failure_queue`, so nothing is lost silently. `filter_pattern` (Lambda's event filter
    syntax) keeps only the records the function acts on."""

    table: str
    batch_size: int = 100
    max_retries: int = 5
    filter_pattern: dict[str, object] | None = field(default=None, hash=False, compare=False)

    @property
    def failure_queue(self) -> str:
        return f"{self.table}-stream-failures"


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    audience: Audience
    # This route's own throttle, as a share of the stage's rate and burst: one busy route cannot
    # take the whole API down with it. Flash-grab routes get a larger share.
    throttle_percent: int = 20


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule invoking a function, evaluated in `timezone`."""

    name: str
    expression: str  # cron(min hour day-of-month month day-of-week year) or rate(...)
    timezone: str = DEFAULT_BANK_TIME_ZONE


@dataclass(frozen=True)
class MetricAlarm:
    """An alarm on a business metric the function emits with Powertools Metrics (namespace `Loyalty`,
    dimension `service` = its capability): `statistic` of `metric` over `period_minutes` at or above
    `threshold`. Named `<name>` like the alarms derived from functions and queues."""

    name: str
    metric: str
    description: str
    threshold: float = 1
    statistic: Literal["Maximum", "Sum"] = "Maximum"
    period_minutes: int = 5


@dataclass(frozen=True)
class Function:
    name: str
    capability: str
    module: str  # file under functions/<capability>/, without .py; its `handler` is the entry point
    memory_mb: int = 256
    timeout_s: int = 10
    routes: tuple[Route, ...] = ()
    queue: str | None = None  # the queue this function consumes
    stream: StreamSource | None = None  # the table stream this function consumes
    schedules: tuple[Schedule, ...] = ()
    tables: dict[str, Access] = field(default_factory=dict)
    publishes_events: bool = False
    sends_to: tuple[str, ...] = ()  # queues it sends commands to
    pii_key: bool = False  # reads the key of `core.pii.keyed_hash` (device and phone hashes, invite codes)
    provider_secrets: bool = False  # reads the notification providers' secrets (loyalty.notifications.providers)
    alarms: tuple[MetricAlarm, ...] = ()  # on business metrics it emits (infra/stacks/alarms.py)

    @property
    def handler(self) -> str:
        return f"{self.module}.handler"

    @property
    def import_path(self) -> str:
        return f"functions.{self.capability}.{self.module}"


@dataclass(frozen=True)
class Topology:
    bus_name: str
    tables: tuple[Table, ...]
    queues: tuple[Queue, ...]
    rules: tuple[Rule, ...]
    functions: tuple[Function, ...]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def routes(self) -> list[tuple[Route, Function]]:
        return [(route, fn) for fn in self.functions for route in fn.routes]

    def consumer_of(self, queue_name: str) -> Function | None:
        return next((f for f in self.functions if f.queue == queue_name), None)


def table_env(table_name: str) -> str:
    return f"{table_name.upper().replace('-', '_')}_TABLE"


def queue_env(queue_name: str) -> str:
    return f"{queue_name.upper().replace('-', '_')}_QUEUE_URL"


def bank_event(*detail_types: str) -> dict[str, object]:
    return {"source": [BANK_SOURCE], "detail-type": list(detail_types)}


# Every mutating API route stores its Idempotency-Key here, so every API function writes to it.
IDEMPOTENCY = "idempotency"
COUPONS = "coupons"
POINTS = "points"
CAMPAIGNS = "campaigns"
AUDIT = "audit"
RECONCILIATION = "reconciliation"
ORG = "org"
CHECKOUT = "checkout"
NOTIFICATIONS = "notifications"
MOT = "mot"
# The notification providers, one Secrets Manager secret each (`<PROVIDER_SECRETS_PREFIX><channel>`).
PROVIDER_CHANNELS = ("wecom", "sms", "push")

TOPOLOGY = Topology(
    bus_name=EVENT_BUS_NAME,
    tables=(
        Table(IDEMPOTENCY, partition_key="pk", ttl_attribute="expiresAt"),
        Table("customers", partition_key="customerId"),
        Table(
            AUDIT,
            partition_key="pk",
            sort_key="sk",
            indexes=(
                Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # by operator
                Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # by business day
            ),
        ),
        Table(
            "scoring",
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expiresAt",
            indexes=(
                Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # segment members
                Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # customers in 64 buckets: the nightly run reads only them
            ),
            stream=True,
        ),
        Table(
            COUPONS,
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expiresAt",
            indexes=(
                Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # customer wallet; template list
                Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # expiry sweep; free voucher codes
            ),
            stream=True,
        ),
        Table(
            POINTS,
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expiresAt",
            indexes=(
                Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # ledger history in time order
                Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # lots by expiry date
            ),
            stream=True,
        ),
        Table(
            CAMPAIGNS,
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="expiresAt",
            indexes=(
                Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # the campaign list
                Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # campaigns by trigger; runs waiting for their time
            ),
            stream=True,
        ),
        # The daily reconciliation's runs and reports (loyalty/reconciliation): one item per business date.
        Table(RECONCILIATION, partition_key="pk", sort_key="sk",
              indexes=(Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),)),  # runs not finished
        # The org tree (loyalty/org): units, their versions, branch codes.
        # The league table's counters and their markers expire (expiresAt: docs/org-units.md, "Branch league table").
        Table(ORG, partition_key="pk", sort_key="sk", ttl_attribute="expiresAt",
              indexes=(Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # the tree by path: a subtree is a prefix
                       Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"))),  # a unit's children
        # Checkout (loyalty/checkout): the stacking policy's versions, sessions, and its outbox.
        # Notifications (loyalty/notifications): each delivery, the customers' frequency counters, and its outbox.
        Table(NOTIFICATIONS, partition_key="pk", sort_key="sk", ttl_attribute="expiresAt", stream=True,
              indexes=(Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),)),  # deliveries due: deferred, or a send to look at again
        # MOT (loyalty/mot): rules and their versions, tasks, the report's counters, RMs' books, and its outbox.
        Table(MOT, partition_key="pk", sort_key="sk", ttl_attribute="expiresAt", stream=True,
              indexes=(Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # the rule list; an RM's (or queue's) tasks
                       Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),  # the rules a moment wakes; a customer's tasks
                       Index("gsi3", partition_key="gsi3pk", sort_key="gsi3sk"))),  # the rules a goal wakes; open tasks, by when the sweep looks
        Table(CHECKOUT, partition_key="pk", sort_key="sk", ttl_attribute="expiresAt", stream=True,
              indexes=(Index("gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),  # sessions still locked, by when they lapse
                       Index("gsi2", partition_key="gsi2pk", sort_key="gsi2sk"))),  # a customer's sessions

    ),
    queues=(
        # "Take up this run now": a message only wakes the worker; the run's checkpoints say what to do.
        Queue("reconciliation-runs", batch_size=1, visibility_timeout_s=960, max_receive_count=3),
        Queue("customer-profile-events", batch_size=10, visibility_timeout_s=30, max_receive_count=3),
        # Messages to deliver; a provider down is retried by redelivery, its attempts counted on the
        # delivery (DELIVERY_MAX_ATTEMPTS fails it first): the DLQ only ever sees poison.
        Queue("notification-requests", batch_size=10, visibility_timeout_s=60, max_receive_count=10),
        Queue("coupon-commands", batch_size=10, visibility_timeout_s=60, max_receive_count=5),
        Queue("points-accrual", batch_size=10, visibility_timeout_s=60, max_receive_count=5, max_batching_window_s=1),
        Queue("points-redemption-outcomes", batch_size=10, visibility_timeout_s=60, max_receive_count=5),
        Queue("points-commands", batch_size=10, visibility_timeout_s=60, max_receive_count=5),
        # An event for a customer without a profile yet is parked in the scoring table, not retried;
        # a profile change waits (5 receives, a minute apart) for customers-ingest to store it.
        Queue("scoring-events", batch_size=10, visibility_timeout_s=60, max_receive_count=5, max_batching_window_s=1),
        # The same for campaign triggers: parked in the campaigns table for the campaigns whose audience
        # reads the profile; the profile's own event waits there for customers-ingest to store it.
        Queue("campaign-triggers", batch_size=10, visibility_timeout_s=60, max_receive_count=5, max_batching_window_s=1),
        Queue("campaign-fanout", batch_size=1, visibility_timeout_s=120, max_receive_count=5),
        Queue("campaign-grants", batch_size=10, visibility_timeout_s=120, max_receive_count=5),
        Queue("campaign-outcomes", batch_size=10, visibility_timeout_s=60, max_receive_count=5),
        # The branch league table's counters (org-kpis): each event one transaction on its customer's units.
        Queue("org-kpi-events", batch_size=10, visibility_timeout_s=60, max_receive_count=5, max_batching_window_s=1),
        # Key moments for MOT rules (tasks, conversions) and profiles naming a customer's manager.
        Queue("mot-moments", batch_size=10, visibility_timeout_s=60, max_receive_count=5, max_batching_window_s=1),
    ),
    rules=(
        Rule(
            "customer-profile-changed",
            event_pattern=bank_event("CustomerProfileChanged", "CustomerConsentChanged"),
            queue="customer-profile-events",
        ),
        Rule(
            "notification-requested",
            event_pattern={"source": ["loyalty.campaigns"], "detail-type": ["NotificationRequested"]},
            queue="notification-requests",
        ),
        Rule(
            "rm-message-requested",
            event_pattern={"source": ["loyalty.mot"], "detail-type": ["RmMessageRequested"]},
            queue="notification-requests",
        ),
        Rule(
            "mot-bank-moments",
            event_pattern=bank_event("LargeBalanceMovement", "DepositBalanceChanged", "DepositMaturing", "SalaryCredited",
                                     "CustomerProfileChanged"),
            queue="mot-moments",
        ),
        Rule(
            "mot-channel-moments",
            event_pattern={"source": ["bank.channels"], "detail-type": ["ApplicationAbandoned"]},
            queue="mot-moments",
        ),
        Rule(
            "mot-engine-moments",
            event_pattern={"source": ["loyalty.points", "loyalty.scoring"], "detail-type": ["TierChanged", "PointsExpiringSoon", "ScoreChanged"]},
            queue="mot-moments",
        ),
        Rule(
            "customer-tier-changed",
            event_pattern={"source": ["loyalty.points"], "detail-type": ["TierChanged"]},
            queue="customer-profile-events",
        ),
        Rule(
            "scoring-bank-events",
            event_pattern=bank_event(
                "CardTransactionPosted", "DepositBalanceChanged", "LoginCompleted", "AccountOpened", "MonthlyAumComputed"
            ),
            queue="scoring-events",
        ),
        # Segments read the profile: a profile, tier or operator-tag change re-scores the customer.
        Rule(
            "scoring-profile-events",
            event_pattern={
                "source": ["bank.core", "loyalty.points", "loyalty.customers"],
                "detail-type": ["CustomerProfileChanged", "TierChanged", "CustomerTagsChanged"],
            },
            queue="scoring-events",
        ),
        Rule(
            "scoring-engine-events",
            event_pattern={
                "source": ["loyalty.coupons", "loyalty.points", "loyalty.campaigns"],
                "detail-type": ["CouponIssued", "CouponRedeemed", "PointsEarned", "RewardGranted"],
            },
            queue="scoring-events",
        ),
        Rule(
            "points-bank-events",
            event_pattern=bank_event(
                "CardTransactionPosted",
                "CardTransactionRefunded",
                "DepositBalanceChanged",
                "SalaryCredited",
                "CheckInCompleted",
                "MonthlyAumComputed",
                "LoginCompleted",
            ),
            queue="points-accrual",
        ),
        # Commands put on the bus (through an outbox, so they exist iff their sender's change
        # committed) reach the coupon-commands queue like commands sent to it directly. RevokeCoupon
        # is a campaign grant's compensation (a grant undone).
        Rule(
            "coupon-commands-from-bus",
            event_pattern={"source": ["loyalty.points", "loyalty.campaigns"], "detail-type": ["IssueCoupon", "RevokeCoupon"]},
            queue="coupon-commands",
        ),
        Rule(
            "campaign-bank-events",
            event_pattern=bank_event(
                "CardTransactionPosted", "SalaryCredited", "LoanDrawdown", "AccountOpened", "LargeBalanceMovement", "DepositBalanceChanged",
                "CheckInCompleted",
            ),
            queue="campaign-triggers",
        ),
        Rule(
            "campaign-engine-events",
            event_pattern={"source": ["loyalty.points", "loyalty.scoring"], "detail-type": ["TierChanged", "SegmentEntered", "ScoreChanged"]},
            queue="campaign-triggers",
        ),
        # Triggers that came before a customer's profile are applied when it arrives.
        Rule(
            "campaign-profile-events",
            event_pattern=bank_event("CustomerProfileChanged"),
            queue="campaign-triggers",
        ),
        Rule(
            "campaign-fire-requests",
            event_pattern={"source": ["bank.scheduler"], "detail-type": ["CampaignFireRequested"]},
            queue="campaign-triggers",
        ),
        Rule(
            "campaign-run-pages",
            event_pattern={"source": ["loyalty.campaigns"], "detail-type": ["CampaignRunPageRequested"]},
            queue="campaign-fanout",
        ),
        # The answers to a grant's commands and to their compensations move its saga.
        Rule(
            "campaign-coupon-outcomes",
            event_pattern={
                "source": ["loyalty.coupons"],
                "detail-type": ["CouponIssued", "CouponIssueFailed", "CouponReturned", "CouponRedeemed", "CouponRevoked",
                                "CouponRevocationRefused"],
                "detail": {"source": ["campaign"]},
            },
            queue="campaign-outcomes",
        ),
        # A campaign notification's delivery receipt counts in its arm's report.
        Rule(
            "campaign-notification-receipts",
            event_pattern={"source": ["loyalty.notifications"], "detail-type": ["NotificationDelivered", "NotificationFailed"],
                           "detail": {"campaignId": [{"exists": True}]}},
            queue="campaign-outcomes",
        ),
        Rule(
            "campaign-points-outcomes",
            event_pattern={"source": ["loyalty.points"], "detail-type": ["PointsAwarded", "PointsAwardReversed"]},
            queue="campaign-outcomes",
        ),
        Rule(
            "points-commands-from-bus",
            event_pattern={"source": ["loyalty.campaigns"], "detail-type": ["AwardPoints", "ReversePoints"]},
            queue="points-commands",
        ),
        Rule(
            "points-mall-coupon-outcomes",
            event_pattern={
                "source": ["loyalty.coupons"],
                "detail-type": ["CouponIssued", "CouponIssueFailed"],
                "detail": {"source": ["points_mall"]},
            },
            queue="points-redemption-outcomes",
        ),
        # The branch league table (org-kpis): new and active customers, AUM, and the engine's grants and coupons.
        Rule(
            "org-kpi-bank-events",
            event_pattern=bank_event("CustomerProfileChanged", "CardTransactionPosted", "LoginCompleted", "MonthlyAumComputed"),
            queue="org-kpi-events",
        ),
        Rule(
            "org-kpi-engine-events",
            event_pattern={"source": ["loyalty.campaigns", "loyalty.coupons"], "detail-type": ["RewardGranted", "CouponIssued", "CouponRedeemed"]},
            queue="org-kpi-events",
        ),
    ),
    # Every function serving operator routes reads the org tree: each route's org scope judges the
    # caller's unit against it (loyalty.org.scope); those judging a customer's branch read customers too.
    functions=(
        Function(
            "checkout-admin",
            capability="checkout",
            module="admin",
            routes=(
                Route("GET", "/v1/admin/stacking-policy", "operator"),
                Route("PUT", "/v1/admin/stacking-policy", "operator"),
                Route("POST", "/v1/admin/stacking-policy/versions/{version}/approve", "operator"),
                Route("GET", "/v1/admin/stacking-policy/versions/{version}", "operator"),
                Route("GET", "/v1/admin/customers/{customerId}/checkout-sessions", "operator"),
            ),
            tables={CHECKOUT: "write", AUDIT: "append", IDEMPOTENCY: "write", ORG: "read", "customers": "read"},
        ),
        Function(
            "checkout-api",
            capability="checkout",
            module="api",
            # coupons: the wallet, and a session's coupons locked, redeemed, released or returned; points: the
            # balance, and a session's points held, settled or given back (each through its capability's port,
            # in checkout's transaction). org and customers: an operator reading a session is scoped.
            routes=(
                Route("POST", "/v1/checkout/quote", "customer"),
                Route("POST", "/v1/checkout/sessions", "customer"),
                Route("GET", "/v1/checkout/sessions/{sessionId}", "customer"),
                Route("POST", "/v1/checkout/sessions/{sessionId}/confirm", "customer"),
                Route("POST", "/v1/checkout/sessions/{sessionId}/cancel", "customer"),
                Route("POST", "/v1/checkout/sessions/{sessionId}/refunds", "customer"),
            ),
            tables={CHECKOUT: "write", COUPONS: "write", POINTS: "write", IDEMPOTENCY: "write", ORG: "read", "customers": "read"},
        ),
        Function(
            "checkout-sweep",
            capability="checkout",
            module="sweep",
            timeout_s=120,
            schedules=(Schedule("checkout-sessions-sweep", "rate(1 minute)"),),
            tables={CHECKOUT: "write", COUPONS: "write", POINTS: "write"},
        ),
        Function(
            "checkout-outbox",
            capability="checkout",
            module="outbox",
            stream=StreamSource(CHECKOUT, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "notifications-delivery",
            capability="notifications",
            module="delivery",
            timeout_s=30,
            queue="notification-requests",
            tables={NOTIFICATIONS: "write", "customers": "read"},  # customers: consent, through its port
            provider_secrets=True,
        ),
        Function(
            "notifications-due",
            capability="notifications",
            module="due",
            timeout_s=120,
            schedules=(Schedule("notifications-due-sweep", "rate(1 minute)"),),
            tables={NOTIFICATIONS: "write", "customers": "read"},
            provider_secrets=True,
        ),
        Function(
            "mot-admin",
            capability="mot",
            module="admin",
            routes=(
                Route("POST", "/v1/admin/mot-rules", "operator"),
                Route("GET", "/v1/admin/mot-rules", "operator"),
                Route("GET", "/v1/admin/mot-rules/{ruleId}", "operator"),
                Route("PUT", "/v1/admin/mot-rules/{ruleId}", "operator"),
                Route("GET", "/v1/admin/mot-rules/{ruleId}/report", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}/mot-tasks", "operator"),
            ),
            tables={MOT: "write", AUDIT: "append", IDEMPOTENCY: "write", ORG: "read", COUPONS: "read"},  # coupons: an offer's template's unit
        ),
        Function(
            "mot-rm",
            capability="mot",
            module="rm",
            routes=(
                Route("GET", "/v1/rm/tasks", "relationship_manager"),
                Route("POST", "/v1/rm/tasks/{taskId}/start", "relationship_manager"),
                Route("POST", "/v1/rm/tasks/{taskId}/complete", "relationship_manager"),
                Route("POST", "/v1/rm/tasks/{taskId}/offer", "relationship_manager"),
                Route("POST", "/v1/rm/tasks/{taskId}/message", "relationship_manager"),
                Route("GET", "/v1/rm/customers", "relationship_manager"),
            ),
            # coupons: an offer is issued in the coupons' own transaction, with the RM's budget and the task;
            # customers: consent, the book's profiles (read, through their port)
            tables={MOT: "write", COUPONS: "write", "customers": "read", AUDIT: "append", IDEMPOTENCY: "write"},
        ),
        Function(
            "mot-moments",
            capability="mot",
            module="moments",
            timeout_s=30,
            queue="mot-moments",
            tables={MOT: "write", "customers": "read", ORG: "read"},
        ),
        Function(
            "mot-sweep",
            capability="mot",
            module="sweep",
            timeout_s=120,
            schedules=(Schedule("mot-sweep", "rate(5 minutes)"),),
            tables={MOT: "write"},
        ),
        Function(
            "mot-schedules",
            capability="mot",
            module="schedules",
            timeout_s=300,
            schedules=(Schedule("mot-schedules", "rate(15 minutes)"),),
            tables={MOT: "write", "customers": "read", ORG: "read"},  # customers: the profiles, a page at a time (their port)
        ),
        Function(
            "mot-outbox",
            capability="mot",
            module="outbox",
            stream=StreamSource(MOT, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "notifications-outbox",
            capability="notifications",
            module="outbox",
            stream=StreamSource(NOTIFICATIONS, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "customers-api",
            capability="customers",
            module="api",
            routes=(
                Route("GET", "/v1/customers/{customerId}", "customer"),
                Route("GET", "/v1/customers/{customerId}/consents", "customer"),
                Route("PUT", "/v1/customers/{customerId}/consents", "customer"),
            ),
            tables={"customers": "write", ORG: "read", IDEMPOTENCY: "write"},  # write: the customer's own consents
        ),
        Function(
            "customers-admin",
            capability="customers",
            module="admin",
            routes=(Route("PUT", "/v1/admin/customers/{customerId}/tags", "operator"),),
            tables={AUDIT: "append", "customers": "write", IDEMPOTENCY: "write", ORG: "read"},
            publishes_events=True,  # CustomerTagsChanged, for scoring's segments
        ),
        Function(
            "coupons-admin",
            capability="coupons",
            module="admin",
            routes=(
                Route("POST", "/v1/admin/coupon-templates", "operator"),
                Route("GET", "/v1/admin/coupon-templates", "operator"),
                Route("GET", "/v1/admin/coupon-templates/{templateId}", "operator"),
                Route("PUT", "/v1/admin/coupon-templates/{templateId}/status", "operator"),
                Route("POST", "/v1/admin/coupon-templates/{templateId}/stock", "operator"),
                Route("POST", "/v1/admin/coupon-templates/{templateId}/codes", "operator"),
            ),
            tables={AUDIT: "append", COUPONS: "write", IDEMPOTENCY: "write", ORG: "read"},
        ),
        Function(
            "coupons-claim",
            capability="coupons",
            module="claim",
            memory_mb=512,  # flash grabs: more memory is more CPU, and a shorter queue of requests
            routes=(Route("POST", "/v1/coupons/claims", "customer", throttle_percent=60),),
            tables={COUPONS: "write", "customers": "read", AUDIT: "append"},  # audit: an operator claiming for a customer
        ),
        Function(
            "coupons-wallet",
            capability="coupons",
            module="wallet",
            routes=(Route("GET", "/v1/customers/{customerId}/coupons", "customer"),),
            tables={COUPONS: "read", "customers": "read", ORG: "read"},
        ),
        Function(
            "coupons-redemption",
            capability="coupons",
            module="redemption",
            routes=tuple(
                Route("POST", f"/v1/coupons/{{couponId}}/{action}", "customer")
                for action in ("quote", "lock", "redeem", "release", "return")
            ),
            tables={COUPONS: "write", IDEMPOTENCY: "write", AUDIT: "append", "customers": "read", ORG: "read"},  # audit: an operator acting on a customer's coupon
        ),
        Function(
            "coupons-commands",
            capability="coupons",
            module="commands",
            timeout_s=30,
            queue="coupon-commands",
            tables={COUPONS: "write", "customers": "read"},
        ),
        Function(
            "coupons-expiry",
            capability="coupons",
            module="expiry",
            timeout_s=300,
            schedules=(Schedule("coupons-expiry-sweep", "cron(5 * * * ? *)"),),
            tables={COUPONS: "write"},
        ),
        Function(
            "coupons-outbox",
            capability="coupons",
            module="outbox",
            stream=StreamSource(COUPONS, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "points-accrual",
            capability="points",
            module="accrual",
            timeout_s=30,
            queue="points-accrual",
            tables={POINTS: "write"},
        ),
        Function(
            "points-api",
            capability="points",
            module="api",
            routes=(
                Route("GET", "/v1/customers/{customerId}/points", "customer"),
                Route("GET", "/v1/customers/{customerId}/points/history", "customer"),
                Route("POST", "/v1/points/quote", "customer"),
                Route("GET", "/v1/points/catalogue", "customer"),
            ),
            tables={POINTS: "read", "customers": "read", ORG: "read"},
        ),
        Function(
            "points-redemption",
            capability="points",
            module="redemption",
            routes=(
                Route("POST", "/v1/points/redemptions", "customer"),
                Route("GET", "/v1/points/redemptions/{redemptionId}", "customer"),
            ),
            # audit: an operator redeeming for a customer; customers: that customer must be known
            tables={POINTS: "write", AUDIT: "append", "customers": "read", ORG: "read"},
        ),
        Function(
            "points-redemption-outcomes",
            capability="points",
            module="redemption_outcomes",
            queue="points-redemption-outcomes",
            tables={POINTS: "write"},
        ),
        Function(
            "points-commands",
            capability="points",
            module="commands",
            queue="points-commands",
            tables={POINTS: "write"},
        ),
        Function(
            "points-holds",
            capability="points",
            module="holds",
            timeout_s=120,
            schedules=(Schedule("points-holds-sweep", "rate(5 minutes)"),),
            tables={POINTS: "write"},
        ),
        Function(
            "points-admin",
            capability="points",
            module="admin",
            timeout_s=30,
            routes=(
                Route("POST", "/v1/admin/point-rules", "operator"),
                Route("GET", "/v1/admin/point-rules", "operator"),
                Route("GET", "/v1/admin/point-rules/{ruleId}", "operator"),
                Route("PUT", "/v1/admin/point-rules/{ruleId}", "operator"),
                Route("POST", "/v1/admin/customers/{customerId}/points/adjustments", "operator"),
                Route("GET", "/v1/admin/points/liability", "operator"),
                Route("PUT", "/v1/admin/points/catalogue/{itemId}", "operator"),
                Route("GET", "/v1/admin/points/catalogue", "operator"),
                Route("POST", "/v1/admin/points/redemptions/{redemptionId}/settlement", "operator"),
                Route("PUT", "/v1/admin/point-tiers", "operator"),
                Route("GET", "/v1/admin/point-tiers", "operator"),
                Route("PUT", "/v1/admin/points/risk-settings", "operator"),
                Route("GET", "/v1/admin/points/risk-settings", "operator"),
                Route("GET", "/v1/admin/points/risk-holds", "operator"),
                Route("POST", "/v1/admin/points/risk-holds/{holdId}/decision", "operator"),
            ),
            # customers: adjustments are refused for a customer the engine has never seen
            tables={AUDIT: "append", POINTS: "write", IDEMPOTENCY: "write", "customers": "read", ORG: "read"},
        ),
        Function(
            "points-expiry",
            capability="points",
            module="expiry",
            timeout_s=600,
            schedules=(Schedule("points-expiry-daily", "cron(10 0 * * ? *)"),),
            tables={POINTS: "write"},
            publishes_events=True,  # PointsExpiringSoon is announced directly: it changes no state
        ),
        Function(
            "points-tiers",
            capability="points",
            module="tiers",
            timeout_s=900,
            # Monthly, after the month's growth is in: downgrades fall due, monthly benefits go out.
            schedules=(Schedule("points-tiers-monthly", "cron(30 1 1 * ? *)"),),
            tables={POINTS: "write"},
        ),
        Function(
            "points-outbox",
            capability="points",
            module="outbox",
            stream=StreamSource(POINTS, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "campaigns-admin",
            capability="campaigns",
            module="admin",
            timeout_s=30,
            routes=(
                Route("POST", "/v1/admin/campaigns", "operator"),
                Route("GET", "/v1/admin/campaigns", "operator"),
                Route("GET", "/v1/admin/campaigns/{campaignId}", "operator"),
                Route("PUT", "/v1/admin/campaigns/{campaignId}", "operator"),
                *(Route("POST", f"/v1/admin/campaigns/{{campaignId}}/{action}", "operator")
                  for action in ("submit", "approve", "reject", "pause", "resume", "end", "fire")),
                Route("GET", "/v1/admin/campaigns/{campaignId}/runs/{runId}", "operator"),
                Route("POST", "/v1/admin/campaigns/{campaignId}/audience-uploads", "operator"),
                Route("GET", "/v1/admin/campaigns/{campaignId}/audience-uploads/{uploadId}", "operator"),
                Route("GET", "/v1/admin/campaigns/{campaignId}/audit", "operator"),
                Route("GET", "/v1/admin/campaigns/{campaignId}/report", "operator"),
                Route("GET", "/v1/admin/campaign-templates", "operator"),
                Route("POST", "/v1/admin/campaign-templates/{template}/campaigns", "operator"),
            ),
            # uploads check ids are known; org: a campaign's org unit and its pools (save)
            tables={AUDIT: "append", CAMPAIGNS: "write", IDEMPOTENCY: "write", "customers": "read", ORG: "read"},
        ),
        Function(
            "campaigns-api",
            capability="campaigns",
            module="api",
            routes=(
                Route("GET", "/v1/customers/{customerId}/tasks", "customer"),
                Route("POST", "/v1/customers/{customerId}/invite-code", "customer"),
                Route("GET", "/v1/customers/{customerId}/referrals", "customer"),
            ),
            # audit: an operator acting for a customer; org: a grant draws from its org unit's pool
            tables={CAMPAIGNS: "write", IDEMPOTENCY: "write", AUDIT: "append", ORG: "write", "customers": "read"},
            pii_key=True,
        ),
        Function(
            "campaigns-triggers",
            capability="campaigns",
            module="triggers",
            timeout_s=30,
            queue="campaign-triggers",
            # scoring: the shared device and phone index, against self-referral; org: a grant draws from its org unit's pool
            tables={CAMPAIGNS: "write", "customers": "read", "scoring": "read", ORG: "write"},
            pii_key=True,
        ),
        Function(
            "campaigns-parked",
            capability="campaigns",
            module="parked",
            timeout_s=300,
            # Triggers that came before their customer's profile wait in the campaigns table until it
            # comes (docs/campaigns.md, "Triggers before the profile"). Hourly, as scoring-parked: applies
            # those whose profile's own event missed them, and counts those waiting longer than
            # CAMPAIGNS_PARKED_REPORT_DAYS. scoring: the shared device and phone index (a parked sign-up's
            # self-referral check).
            schedules=(Schedule("campaigns-parked-sweep", "rate(1 hour)"),),
            tables={CAMPAIGNS: "write", "customers": "read", "scoring": "read", ORG: "write"},  # org: grants draw from pools
            alarms=(MetricAlarm("campaigns-parked-events-stale", "CampaignsParkedEventsStale", period_minutes=120,
                                description="campaign triggers for customers whose profile never arrived have waited longer than "
                                            "CAMPAIGNS_PARKED_REPORT_DAYS (the sweep's log names them; the TTL deletes them later)"),),
        ),
        Function(
            "campaigns-fanout",
            capability="campaigns",
            module="fanout",
            timeout_s=60,
            queue="campaign-fanout",
            tables={CAMPAIGNS: "write", "customers": "read"},
            sends_to=("campaign-grants",),
        ),
        Function(
            "campaigns-worker",
            capability="campaigns",
            module="worker",
            timeout_s=60,
            queue="campaign-grants",
            # customers: a grant checks the customer was not erased; org: it draws from its org unit's pool
            tables={CAMPAIGNS: "write", "customers": "read", ORG: "write"},
        ),
        Function(
            "campaigns-scheduler",
            capability="campaigns",
            module="scheduler",
            timeout_s=60,
            schedules=(Schedule("campaigns-scheduler-minutely", "rate(1 minute)"),),
            tables={CAMPAIGNS: "write"},
        ),
        Function(
            "campaigns-outcomes",
            capability="campaigns",
            module="outcomes",
            queue="campaign-outcomes",
            tables={CAMPAIGNS: "write", ORG: "write"},  # org: an undone grant gives its cost back to its org unit's pool
        ),
        Function(
            "campaigns-outbox",
            capability="campaigns",
            module="outbox",
            stream=StreamSource(CAMPAIGNS, filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
        Function(
            "privacy-admin",
            capability="privacy",
            module="admin",
            timeout_s=60,
            routes=(
                Route("POST", "/v1/admin/customers/{customerId}/export", "operator"),
                Route("POST", "/v1/admin/customers/{customerId}/erase", "operator"),
            ),
            # Reads every capability's data on one customer (the audit entries about them too); writes
            # the profile tombstone and the points account's erased mark, deletes the scoring state and
            # campaigns' records of the customer (loyalty/privacy).
            tables={AUDIT: "read_append", "customers": "write", COUPONS: "read", POINTS: "write", CAMPAIGNS: "write", "scoring": "write",
                    MOT: "write", IDEMPOTENCY: "write", ORG: "read"},
        ),
        Function(
            "org-admin",
            capability="org",
            module="admin",
            timeout_s=30,
            routes=(
                Route("POST", "/v1/admin/org-units", "operator"),
                Route("GET", "/v1/admin/org-units", "operator"),
                Route("GET", "/v1/admin/org-units/unknown-branches", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}", "operator"),
                Route("PUT", "/v1/admin/org-units/{unitId}", "operator"),
                Route("POST", "/v1/admin/org-units/{unitId}/move", "operator"),
                Route("POST", "/v1/admin/org-units/{unitId}/close", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}/versions", "operator"),
                Route("POST", "/v1/admin/org-units/{unitId}/pools", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}/pools", "operator"),
                Route("POST", "/v1/admin/org-units/{unitId}/pools/allocations", "operator"),
                Route("POST", "/v1/admin/org-units/{unitId}/pools/reallocations", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}/pools/{poolId}", "operator"),
                Route("GET", "/v1/admin/org-units/{unitId}/forecast", "operator"),
            ),
            # customers: the branch ids on profiles, for those no unit maps and the forecast's customers'
            # units; campaigns, coupons, points: the cash-need forecast's books (each through its port)
            tables={ORG: "write", AUDIT: "append", IDEMPOTENCY: "write", "customers": "read", CAMPAIGNS: "read", COUPONS: "read",
                    POINTS: "read"},
        ),
        Function(
            "audit-api",
            capability="audit",
            module="api",
            routes=(Route("GET", "/v1/admin/audit", "operator"),),
            tables={AUDIT: "read", ORG: "read"},
        ),
        Function(
            "org-kpis-api",
            capability="org",
            module="kpis_api",
            routes=(Route("GET", "/v1/admin/org-units/{unitId}/kpis", "operator"),),
            tables={ORG: "read"},
        ),
        Function(
            "org-kpis",
            capability="org",
            module="kpis",
            timeout_s=30,
            queue="org-kpi-events",
            tables={ORG: "write", "customers": "read"},  # customers: the customer's branch id on their profile
        ),
        Function(
            "customers-ingest",
            capability="customers",
            module="ingest",
            timeout_s=20,
            queue="customer-profile-events",
            tables={"customers": "write"},
        ),
        Function(
            "scoring-ingest",
            capability="scoring",
            module="ingest",
            timeout_s=30,
            queue="scoring-events",
            # customers: scoring writes lifecycleStage, segments and scores on the profile, in the
            # same transaction as the scores (docs/scoring.md, "The customer profile").
            tables={"scoring": "write", "customers": "write"},
            pii_key=True,  # device and phone hashes are stored keyed (scoring.identities)
        ),
        Function(
            "scoring-admin",
            capability="scoring",
            module="admin",
            timeout_s=30,
            routes=(
                Route("GET", "/v1/admin/scoring/models/{model}", "operator"),
                Route("PUT", "/v1/admin/scoring/models/{model}", "operator"),
                Route("POST", "/v1/admin/segments", "operator"),
                Route("GET", "/v1/admin/segments", "operator"),
                Route("GET", "/v1/admin/segments/{segmentId}", "operator"),
                Route("PUT", "/v1/admin/segments/{segmentId}", "operator"),
                Route("GET", "/v1/admin/segments/{segmentId}/members", "operator"),
                Route("GET", "/v1/admin/segments/{segmentId}/estimate", "operator"),
                Route("GET", "/v1/admin/customers/{customerId}/scores", "operator"),
                Route("GET", "/v1/admin/scoring/runs/{runId}", "operator"),
                Route("GET", "/v1/admin/relationship-managers", "operator"),
                Route("GET", "/v1/admin/relationship-managers/{managerId}/value", "operator"),
            ),
            tables={AUDIT: "append", "scoring": "write", IDEMPOTENCY: "write", "customers": "read", ORG: "read"},
        ),
        Function(
            "scoring-nightly",
            capability="scoring",
            module="nightly",
            memory_mb=1024,  # the page's feature columns and NumPy; more memory is also more CPU
            timeout_s=900,
            # 02:00 starts the business date's run; every 10 minutes an unfinished run goes on from its
            # checkpoints (after a timeout or a failure); with nothing unfinished it does nothing.
            schedules=(Schedule("scoring-nightly", "cron(0 2 * * ? *)"), Schedule("scoring-nightly-resume", "rate(10 minutes)")),
            tables={"scoring": "write", "customers": "write"},
        ),
        Function(
            "scoring-parked",
            capability="scoring",
            module="parked",
            timeout_s=300,
            # Events that came before their customer's profile wait in the scoring table until it comes
            # (docs/scoring.md, "Events before the profile"). Hourly: applies those whose profile's own
            # event missed them, and counts those waiting longer than SCORING_PARKED_REPORT_DAYS (the
            # alarm looks at 2 hours: one sweep late or early does not clear it).
            schedules=(Schedule("scoring-parked-sweep", "rate(1 hour)"),),
            tables={"scoring": "write", "customers": "write"},  # applying re-scores: the profile's scores too
            alarms=(MetricAlarm("scoring-parked-events-stale", "ScoringParkedEventsStale", period_minutes=120,
                                description="events for customers whose profile never arrived have waited longer than "
                                            "SCORING_PARKED_REPORT_DAYS (the sweep's log names them; the TTL deletes them later)"),),
        ),
        Function(
            "reconciliation-api",
            capability="reconciliation",
            module="api",
            routes=(
                Route("POST", "/v1/admin/reconciliation/{businessDate}", "operator"),
                Route("GET", "/v1/admin/reconciliation/{businessDate}", "operator"),
            ),
            tables={RECONCILIATION: "write", AUDIT: "append", IDEMPOTENCY: "write", ORG: "read"},
            sends_to=("reconciliation-runs",),
        ),
        Function(
            "reconciliation-run",
            capability="reconciliation",
            module="run",
            memory_mb=512,
            timeout_s=900,
            queue="reconciliation-runs",
            # 00:30 bank time reconciles the day that closed; every 10 minutes an unfinished run goes on
            # from its checkpoint (after a timeout or a failure); with none unfinished it does nothing.
            schedules=(Schedule("reconciliation", "cron(30 0 * * ? *)"), Schedule("reconciliation-resume", "rate(10 minutes)")),
            # Reads every capability's books through its port (docs/reconciliation.md); writes only its own.
            tables={RECONCILIATION: "write", CAMPAIGNS: "read", COUPONS: "read", POINTS: "read", CHECKOUT: "read"},
            publishes_events=True,  # ReconciliationFailed
            alarms=(MetricAlarm("reconciliation-discrepancies", "ReconciliationDiscrepancies", period_minutes=1440,
                                description="the daily reconciliation found books that disagree (GET /v1/admin/reconciliation/"
                                            "{businessDate} lists each discrepancy with the ids to repair it)"),),
        ),
        Function(
            "scoring-outbox",
            capability="scoring",
            module="outbox",
            stream=StreamSource("scoring", filter_pattern=OUTBOX_INSERTS),
            publishes_events=True,
        ),
    ),
)
