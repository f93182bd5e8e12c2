"""Configuration, parsed once per process from the environment CDK (or the local cloud) sets."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Settings(BaseModel):
    """Environment variable names follow `infra.topology.table_env` (`<TABLE>_TABLE`).

    A plain pydantic model fed from `os.environ`, not pydantic-settings: that package adds about
    100 ms to every cold start (it imports asyncio and its source machinery) for nothing we use.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    customers_table: str = "customers"
    coupons_table: str = "coupons"
    points_table: str = "points"
    scoring_table: str = "scoring"
    # The nightly re-scoring: parallel scan segments (one thread each), STATE items per page, and the
    # seconds left in the invocation at which it checkpoints and stops (the resume schedule goes on).
    scoring_scan_segments: int = Field(default=4, ge=1, le=16)  # ≤ STATE_BUCKETS
    scoring_page_size: int = Field(default=1000, ge=1, le=1000)
    scoring_stop_seconds: float = Field(default=60.0, ge=0)
    # An event for a customer whose profile has not arrived is parked (docs/scoring.md, "Events before
    # the profile"): one parked longer than the first is reported and alarmed by the sweep; the table's
    # TTL deletes it after the second, which must be longer, so it is reported before it goes.
    scoring_parked_report_days: int = Field(default=7, ge=1)
    scoring_parked_keep_days: int = Field(default=30, ge=2)
    campaigns_table: str = "campaigns"
    # The same for a campaign trigger parked until the profile arrives (docs/campaigns.md, "Triggers
    # before the profile").
    campaigns_parked_report_days: int = Field(default=7, ge=1)
    campaigns_parked_keep_days: int = Field(default=30, ge=2)
    audit_table: str = "audit"
    org_table: str = "org"
    checkout_table: str = "checkout"
    # Other capabilities read the org tree (loyalty.org.ports) from memory for this long after a change.
    org_cache_seconds: float = Field(default=30.0, ge=0)
    # BudgetPacingAlert: an org pool's spend ahead of or behind its pacing plan by more than this share of the plan to date.
    pool_pacing_alert_percent: int = Field(default=20, ge=0, le=100)
    # What one point is worth when it is redeemed, in minor units of `point_value_currency` (a decimal:
    # "0.5" is 200 points to the yuan): the cash-need forecast's and the checkout's value of a point.
    point_value_minor: Decimal = Field(default=Decimal("1"), ge=0)
    point_value_currency: str = "CNY"
    # The cash-need forecast (docs/org-units.md, "The cash-need forecast") examines at most this many
    # items in each of its scans (coupons, lots, ledger entries) before it answers 422 FORECAST_TOO_LARGE.
    forecast_max_items: int = Field(default=200_000, ge=1)
    # The branch league table (docs/org-units.md) sums MonthlyAumComputed figures in this currency only.
    org_kpi_currency: str = "CNY"
    reconciliation_table: str = "reconciliation"
    # The daily reconciliation (docs/reconciliation.md): items a scan request reads per page; how old an
    # unfinished saga, command or redemption must be to count as stuck rather than in flight; and the
    # seconds left in the invocation at which it checkpoints and stops (the resume schedule goes on).
    reconciliation_page_items: int = Field(default=500, ge=1, le=1000)
    reconciliation_settle_minutes: int = Field(default=15, ge=0)
    reconciliation_stop_seconds: float = Field(default=60.0, ge=0)
    reconciliation_runs_queue_url: str = ""
    # The local cloud turns metrics off; counting then would only pile values up in memory.
    powertools_metrics_disabled: bool = False
    # The key of `core.pii.keyed_hash`: an SSM SecureString parameter in AWS, or the key itself on
    # the local cloud (never in a deployed environment: the parameter wins when both are set).
    pii_hash_key_parameter: str = ""
    pii_hash_key: str = "local-development-key-not-for-any-deployed-environment"
    # A bank's own identity provider, for the Lambda TOKEN authorizer (core.tokens); empty with Cognito.
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_jwks_url: str = ""
    jwt_groups_claim: str = ""
    jwt_group_map: dict[str, str] | None = None  # JSON text in the environment: the IdP's group names for ours
    jwt_org_unit_claim: str = ""  # the claim naming the operator's org unit; empty: `orgUnit`, else `custom:orgUnit`
    # Queues campaigns send to (set by CDK from the topology's `sends_to`; locally by the local cloud).
    campaign_fanout_queue_url: str = ""
    campaign_grants_queue_url: str = ""
    # Campaign notifications one customer may get in a business day, across all campaigns.
    notifications_per_customer_daily: int = Field(default=3, ge=0)
    # Delivering notifications (docs/notifications.md): the notifications table; messages one customer
    # may receive across all channels per business day and per ISO week; the quiet hours in the bank's
    # time zone ("HH:MM", end exclusive; a window may span midnight), inside which a message waits; the
    # attempts a provider gets before the message fails; each provider's timeout and rate per process;
    # and the Secrets Manager names of the providers' endpoints and credentials, `<prefix><provider>`.
    notifications_table: str = "notifications"
    messages_per_customer_daily: int = Field(default=3, ge=0)
    messages_per_customer_weekly: int = Field(default=10, ge=0)
    quiet_hours_start: str = Field(default="21:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    quiet_hours_end: str = Field(default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    delivery_max_attempts: int = Field(default=5, ge=1, le=20)
    # Relationship managers' tasks from key moments (docs/mot.md): the mot table; tasks one customer
    # gets a week across rules; tasks an RM takes a day (the rest go to the branch's queue); the face
    # value of the offers an RM may send a month; how long an open task lives past its SLA.
    mot_table: str = "mot"
    mot_tasks_per_customer_weekly: int = Field(default=2, ge=1)
    rm_daily_capacity: int = Field(default=20, ge=1)
    rm_offer_budget_monthly_minor: int = Field(default=100_000, ge=0)
    mot_task_expiry_days: int = Field(default=7, ge=1)
    provider_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    provider_rate_per_second: float = Field(default=50.0, gt=0)
    provider_secrets_prefix: str = "loyalty/local/providers/"
    # Accrual reads the earn rules from memory for this long after an operator saves a version.
    rules_cache_seconds: float = Field(default=30.0, ge=0)
    points_expiring_soon_days: int = Field(default=7, ge=1)
    idempotency_table: str = "idempotency"
    event_bus_name: str = "loyalty-events"
    bank_time_zone: str = "Asia/Shanghai"
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    # A request that has held its idempotency key longer than this is assumed dead (Lambda timeout).
    idempotency_in_flight_seconds: int = Field(default=60, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    # Claims read the template from memory for this long; pausing still stops claims at once,
    # because every stock shard carries the template's active flag.
    template_cache_seconds: float = Field(default=5.0, ge=0)

    @field_validator("bank_time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at cold start, not per request
        return value

    @field_validator("jwt_group_map", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) and value else value or None

    @model_validator(mode="after")
    def _parked_kept_longer_than_reported(self) -> Settings:
        # Fail at cold start: a TTL at or below the report limit would delete parked events unreported.
        for consumer in ("scoring", "campaigns"):
            if getattr(self, f"{consumer}_parked_keep_days") <= getattr(self, f"{consumer}_parked_report_days"):
                name = consumer.upper()
                raise ValueError(f"{name}_PARKED_KEEP_DAYS must be longer than {name}_PARKED_REPORT_DAYS")
        return self

    @property
    def bank_zone(self) -> ZoneInfo:
        return ZoneInfo(self.bank_time_zone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate({name.lower(): value for name, value in os.environ.items()})
