"""The providers' adapters (docs/notifications.md, "Providers"): WeCom's external-contact message API,
a generic SMS gateway and a push gateway, each over HTTPS with its endpoint and credentials from
Secrets Manager (`<PROVIDER_SECRETS_PREFIX><provider>`, JSON), its own rate per process, a timeout,
and the delivery's id as the idempotency key where the protocol has one.

An adapter answers what the provider said, never raises for it: `accepted`, `refused` (for good, with
the provider's own code) or `unavailable` (a 5xx, a timeout, throttled: worth another attempt).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from loyalty.core.config import get_settings
from loyalty.notifications.model import Channel, DeliveryRequest, ProviderAnswer

WECOM_TOKEN_EXPIRED = ("40014", "42001")  # invalid or expired access_token: fetch one and try once more
WECOM_BUSY = ("-1", "45009")  # system busy, API rate limit reached


class Provider(Protocol):
    def send(self, request: DeliveryRequest) -> ProviderAnswer: ...


class RateLimiter:
    """A token bucket: at most `rate` sends a second from this process, bursts of `rate`."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.tokens, self.at = rate, clock()
        self.lock = threading.Lock()

    def take(self) -> None:
        """Takes a token, waiting for it if there is none: a token owed is reserved at once (the
        bucket goes below zero), so callers waiting at the same time queue up in order."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate) - 1
            self.at = now
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait > 0:
            self.sleep(wait)


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


def _call(method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response | None:
    """The provider's answer, or None when it did not answer in time (or the connection failed)."""
    import urllib3

    timeout = get_settings().provider_timeout_seconds
    try:
        answer = _pool().request(method, url, body=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})},
                                 timeout=urllib3.Timeout(connect=min(2.0, timeout), read=timeout), retries=False)
    except urllib3.exceptions.HTTPError:
        return None
    try:
        parsed = json.loads(answer.data or b"{}")
    except ValueError:
        parsed = {}
    return Response(answer.status, parsed if isinstance(parsed, dict) else {})


@cache
def _pool() -> Any:
    """One connection pool per process, made on the first send (urllib3 comes with botocore)."""
    import urllib3

    return urllib3.PoolManager(maxsize=10)


def _by_status(response: Response | None, id_field: str) -> ProviderAnswer:
    if response is None or response.status >= 500 or response.status == 429:
        return ProviderAnswer(outcome="unavailable", providerCode=None if response is None else str(response.status))
    if response.status >= 400:
        return ProviderAnswer(outcome="refused", providerCode=str(response.body.get("code") or response.status))
    return ProviderAnswer(outcome="accepted", providerMessageId=str(response.body.get(id_field) or ""))


class SmsGateway:
    """`POST {baseUrl}/v1/messages` with `X-Api-Key` and `Idempotency-Key`: `{to, template, params}`
    (`to` is the bank's customer id: the gateway resolves the number, so the engine holds none)."""

    def __init__(self, config: dict[str, str]):
        self.config = config

    def send(self, request: DeliveryRequest) -> ProviderAnswer:
        response = _call("POST", f"{self.config['baseUrl']}/v1/messages",
                         {"to": request.customerId, "template": request.templateId, "params": request.variables},
                         {"X-Api-Key": self.config["apiKey"], "Idempotency-Key": request.notificationId})
        return _by_status(response, "messageId")


class PushGateway:
    """`POST {baseUrl}/v1/push` with a bearer token and `Idempotency-Key`: `{userId, template, data}`."""

    def __init__(self, config: dict[str, str]):
        self.config = config

    def send(self, request: DeliveryRequest) -> ProviderAnswer:
        response = _call("POST", f"{self.config['baseUrl']}/v1/push",
                         {"userId": request.customerId, "template": request.templateId, "data": request.variables},
                         {"Authorization": f"Bearer {self.config['token']}", "Idempotency-Key": request.notificationId})
        return _by_status(response, "pushId")


class WeCom:
    """WeCom's external-contact API: `GET /cgi-bin/gettoken?corpid&corpsecret` for an access token
    (kept until it expires), then `POST /cgi-bin/externalcontact/add_msg_template` with a text to the
    customer as an external contact (`external_userid` is the bank's customer id, as the bank maps its
    WeCom contacts). WeCom answers HTTP 200 with an `errcode`; it takes no idempotency key, so a
    timeout after WeCom accepted can send twice (docs/notifications.md, "Duplicates")."""

    def __init__(self, config: dict[str, str]):
        self.config = config
        self.token: tuple[str, float] | None = None
        self.lock = threading.Lock()

    def _token(self, fresh: bool = False) -> str | None:
        with self.lock:
            if self.token is not None and not fresh and self.token[1] > time.monotonic():
                return self.token[0]
            response = _call("GET", f"{self.config['baseUrl']}/cgi-bin/gettoken?corpid={self.config['corpId']}"
                                    f"&corpsecret={self.config['corpSecret']}")
            if response is None or response.status != 200 or not response.body.get("access_token"):
                return None
            self.token = (str(response.body["access_token"]), time.monotonic() + int(response.body.get("expires_in", 7200)) - 300)
            return self.token[0]

    def send(self, request: DeliveryRequest) -> ProviderAnswer:
        text = request.variables.get("content") or " ".join([request.templateId, *(f"{k}={v}" for k, v in sorted(request.variables.items()))])
        body: dict[str, Any] = {"chat_type": "single", "external_userid": [request.customerId], "text": {"content": text}}
        if request.variables.get("sender"):  # an RM's own message goes out from their WeCom account (MOT)
            body["sender"] = request.variables["sender"]
        for fresh in (False, True):
            token = self._token(fresh)
            if token is None:
                return ProviderAnswer(outcome="unavailable", providerCode="TOKEN_UNAVAILABLE")
            response = _call("POST", f"{self.config['baseUrl']}/cgi-bin/externalcontact/add_msg_template?access_token={token}", body)
            if response is None or response.status >= 500:
                return _by_status(response, "msgid")
            code = str(response.body.get("errcode", 0))
            if code in WECOM_TOKEN_EXPIRED and not fresh:
                continue
            if code == "0":
                return ProviderAnswer(outcome="accepted", providerMessageId=str(response.body.get("msgid") or ""))
            return ProviderAnswer(outcome="unavailable" if code in WECOM_BUSY else "refused", providerCode=code)
        return ProviderAnswer(outcome="unavailable", providerCode="TOKEN_REFUSED")


ADAPTERS: dict[Channel, Callable[[dict[str, str]], Provider]] = {"wecom": WeCom, "sms": SmsGateway, "push": PushGateway}


@dataclass
class Limited:
    """A provider behind its rate limiter."""

    provider: Provider
    limiter: RateLimiter

    def send(self, request: DeliveryRequest) -> ProviderAnswer:
        self.limiter.take()
        return self.provider.send(request)


@cache
def provider(channel: Channel) -> Provider:
    """The channel's provider, its configuration read once per process from Secrets Manager
    (Powertools' parameters, cached)."""
    from aws_lambda_powertools.utilities import parameters

    settings = get_settings()
    config = parameters.get_secret(f"{settings.provider_secrets_prefix}{channel}", transform="json", max_age=300)
    return Limited(ADAPTERS[channel](dict(config)), RateLimiter(settings.provider_rate_per_second))
