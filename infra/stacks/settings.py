"""Per-environment knobs: everything that differs between dev, staging and prod lives here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from infra.naming import ENV_NAMES, EnvName, env_prefix, queue_name

__all__ = [
    "ENV_NAMES",
    "EnvName",
    "EnvironmentSettings",
    "IdentityProvider",
    "settings_for",
    "validate_identity_provider",
    "validate_time_zone",
]


@dataclass(frozen=True)
class IdentityProvider:
    """A bank's own OpenID Connect identity provider, trusted instead of the Cognito user pool
    (context `identityProvider`; docs/authentication.md). Its tokens are verified by a Lambda TOKEN
    authorizer against the issuer's JWKS."""

    issuer: str  # must equal the tokens' `iss` exactly
    audience: str  # must be in the tokens' `aud`
    jwks_url: str  # default: <issuer>/.well-known/jwks.json
    groups_claim: str | None = None  # None: `groups`, else `cognito:groups`
    # The IdP's group names for ours, e.g. (("LOYALTY-OPS", "operators"),). Set: only these count.
    group_map: tuple[tuple[str, str], ...] | None = None
    org_unit_claim: str | None = None  # the claim naming an operator's org unit; None: `orgUnit`, else `custom:orgUnit`


@dataclass(frozen=True)
class EnvironmentSettings:
    name: str
    bank_time_zone: str
    log_retention: logs.RetentionDays
    api_rate_limit: int  # steady-state requests per second, whole stage
    api_burst_limit: int
    waf_rate_limit: int  # requests per source IP per 5 minutes before WAF blocks
    archive_retention_days: int  # how far back bank events can be replayed (docs/operations.md)
    alarm_email: str | None = None  # subscribed to the alarm topic; context `alarmEmail`
    log_level: str = "INFO"
    # Backend callers (context `apiClients`, comma-separated): one API key each, in one usage plan.
    api_clients: tuple[str, ...] = ("mobile-banking",)
    require_api_key: bool = False  # methods refuse calls without a usage-plan key (staging, prod)
    api_daily_quota: int = 1_000_000  # requests per API key per day
    # Campaign budget units (minor units or rewards) spent across campaigns in one hour that page
    # the on-call (context `budgetBurnAlarmPerHour`).
    budget_burn_alarm_per_hour: int = 1_000_000
    # None: the Cognito user pool authorizer. Set: a Lambda TOKEN authorizer trusting this issuer.
    identity_provider: IdentityProvider | None = None

    @property
    def is_prod(self) -> bool:
        return self.name == "prod"

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Stateful resources (tables, keys, queues, the event archive, user pool, logs) survive
        `cdk destroy` in prod only."""
        return RemovalPolicy.RETAIN if self.is_prod else RemovalPolicy.DESTROY

    @property
    def prefix(self) -> str:
        return env_prefix(self.name)

    def queue_name(self, logical_name: str) -> str:
        return queue_name(self.name, logical_name)


_PER_ENV: dict[str, dict[str, object]] = {
    "dev": {
        "log_retention": logs.RetentionDays.ONE_MONTH,
        "api_rate_limit": 50,
        "api_burst_limit": 100,
        "waf_rate_limit": 2_000,
        "archive_retention_days": 7,
        "require_api_key": False,
        "api_daily_quota": 200_000,
    },
    "staging": {
        "log_retention": logs.RetentionDays.THREE_MONTHS,
        "api_rate_limit": 200,
        "api_burst_limit": 400,
        "waf_rate_limit": 5_000,
        "archive_retention_days": 30,
        "require_api_key": True,
        "api_daily_quota": 1_000_000,
    },
    "prod": {
        "log_retention": logs.RetentionDays.ONE_YEAR,
        "api_rate_limit": 1_000,
        "api_burst_limit": 2_000,
        "waf_rate_limit": 20_000,
        # A year of core-banking events: replay reaches back past a quarter-end reconciliation.
        "archive_retention_days": 365,
        "require_api_key": True,
        "api_daily_quota": 20_000_000,
    },
}


def validate_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_alarm_email(address: str | None) -> str | None:
    if address is not None and not _EMAIL.match(address):
        raise ValueError(f"context 'alarmEmail' must be an email address, got {address!r}")
    return address


_CLIENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def validate_api_clients(names: str | None) -> tuple[str, ...]:
    clients = tuple(n.strip() for n in (names or "mobile-banking").split(",") if n.strip())
    bad = [n for n in clients if not _CLIENT.match(n)]
    if not clients or bad or len(set(clients)) != len(clients):
        raise ValueError(f"context 'apiClients' must be distinct lower-case names, comma-separated, got {names!r}")
    return clients


_IDP_KEYS = {"issuer", "audience", "jwksUrl", "groupsClaim", "groupMap", "orgUnitClaim"}
LOYALTY_GROUPS = ("operators", "approvers", "relationship-managers")  # loyalty.core.auth KNOWN_GROUPS (a test holds them equal)
# An IdP group name the authorizer can pass on: the groups context is joined with commas, and a
# string claim is split on commas and whitespace (loyalty.core.tokens).
_IDP_GROUP_NAME = re.compile(r"^[^\s,\[\]]{1,256}$")
_IDP_EXAMPLE = '{"issuer": "https://idp.bank.example/", "audience": "loyalty-api"}'


def _https_url(value: object, key: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise ValueError(f"context 'identityProvider': {key!r} must be an https URL without query or fragment, got {value!r}")
    return str(value)


def validate_identity_provider(raw: Any, env_name: str) -> IdentityProvider | None:
    """Context `identityProvider`: absent (Cognito), or an object (or its JSON text, as `-c` passes
    it) with `issuer` and `audience`, optionally `jwksUrl`, `groupsClaim`, `groupMap` and `orgUnitClaim`. An object keyed by
    environment names (`{"prod": {...}}`) sets it per environment; an environment without an entry
    keeps Cognito."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError(f"context 'identityProvider' must be a JSON object such as {_IDP_EXAMPLE}, got {raw!r}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"context 'identityProvider' must be a JSON object such as {_IDP_EXAMPLE}, got {raw!r}")
    if raw and set(raw) <= set(ENV_NAMES):
        return validate_identity_provider(raw.get(env_name), env_name)
    unknown = sorted(set(raw) - _IDP_KEYS)
    if unknown:
        raise ValueError(f"context 'identityProvider': unknown key(s) {unknown}; allowed: {sorted(_IDP_KEYS)}")
    issuer = _https_url(raw.get("issuer"), "issuer")
    audience = raw.get("audience")
    if not isinstance(audience, str) or not audience.strip() or audience != audience.strip():
        raise ValueError(f"context 'identityProvider': 'audience' must be a non-empty string, got {audience!r}")
    jwks_url = _https_url(raw["jwksUrl"], "jwksUrl") if raw.get("jwksUrl") is not None else issuer.rstrip("/") + "/.well-known/jwks.json"
    groups_claim = raw.get("groupsClaim")
    if groups_claim is not None and (not isinstance(groups_claim, str) or not groups_claim.strip()):
        raise ValueError(f"context 'identityProvider': 'groupsClaim' must be a claim name, got {groups_claim!r}")
    org_unit_claim = raw.get("orgUnitClaim")
    if org_unit_claim is not None and (not isinstance(org_unit_claim, str) or not org_unit_claim.strip()):
        raise ValueError(f"context 'identityProvider': 'orgUnitClaim' must be a claim name, got {org_unit_claim!r}")
    return IdentityProvider(issuer=issuer, audience=audience, jwks_url=jwks_url, groups_claim=groups_claim,
                            group_map=_group_map(raw.get("groupMap")), org_unit_claim=org_unit_claim)


def _group_map(raw: Any) -> tuple[tuple[str, str], ...] | None:
    """`groupMap`: the IdP's group names for ours, `{"LOYALTY-OPS": "operators", ...}`."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"context 'identityProvider': 'groupMap' must be a non-empty object of IdP group name to one of {list(LOYALTY_GROUPS)}, got {raw!r}")
    for idp_group, ours in raw.items():
        if not isinstance(idp_group, str) or not _IDP_GROUP_NAME.match(idp_group):
            raise ValueError(f"context 'identityProvider': 'groupMap' key {idp_group!r} must be a group name without spaces, commas or brackets")
        if ours not in LOYALTY_GROUPS:
            raise ValueError(f"context 'identityProvider': 'groupMap' maps {idp_group!r} to {ours!r}; allowed: {list(LOYALTY_GROUPS)}")
    return tuple(sorted(raw.items()))


def settings_for(env_name: str, bank_time_zone: str, alarm_email: str | None = None, api_clients: str | None = None,
                 budget_burn_alarm_per_hour: int | None = None, identity_provider: Any = None) -> EnvironmentSettings:
    if env_name not in _PER_ENV:
        raise ValueError(f"context 'env' must be one of {', '.join(ENV_NAMES)}, got {env_name!r}")
    knobs = _PER_ENV[env_name]
    return EnvironmentSettings(
        name=env_name,
        bank_time_zone=validate_time_zone(bank_time_zone),
        alarm_email=validate_alarm_email(alarm_email),
        archive_retention_days=knobs["archive_retention_days"],  # type: ignore[arg-type]
        log_retention=knobs["log_retention"],  # type: ignore[arg-type]
        api_rate_limit=knobs["api_rate_limit"],  # type: ignore[arg-type]
        api_burst_limit=knobs["api_burst_limit"],  # type: ignore[arg-type]
        waf_rate_limit=knobs["waf_rate_limit"],  # type: ignore[arg-type]
        api_clients=validate_api_clients(api_clients),
        require_api_key=knobs["require_api_key"],  # type: ignore[arg-type]
        api_daily_quota=knobs["api_daily_quota"],  # type: ignore[arg-type]
        budget_burn_alarm_per_hour=budget_burn_alarm_per_hour or 1_000_000,
        identity_provider=validate_identity_provider(identity_provider, env_name),
    )
