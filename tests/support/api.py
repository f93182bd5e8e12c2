"""A small HTTP client for the local API, with dev tokens, shared by integration and e2e tests."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from infra.local.tokens import issue

T = TypeVar("T")

HEAD_OFFICE = "hq"  # the head office's unit id every session's org tree holds (tests/support/org.py)


class _Unset:
    """`org` not passed at all (an explicit None still means a token without an org unit)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(probe: Callable[[], T | None], timeout_s: float = 10.0, interval_s: float = 0.05) -> T:
    """Polls until `probe` returns something truthy; the value, or AssertionError at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)


class Api:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        as_: str | None = None,
        groups: list[str] | None = None,
        org: str | None = UNSET,
        body: Any = None,
        raw: str | bytes | None = None,
        idempotency_key: str | None = "auto",
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Content-Type": "application/json"}
        if as_ is not None:
            if org is UNSET:  # an operator not told otherwise works at the head office
                org = HEAD_OFFICE if groups and "operators" in groups else None
            sent["Authorization"] = f"Bearer {issue(as_, groups, org_unit=org)}"
        if method in ("POST", "PUT", "PATCH", "DELETE") and idempotency_key:
            sent["Idempotency-Key"] = str(uuid.uuid4()) if idempotency_key == "auto" else idempotency_key
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.session.request(method, self.base_url + path, data=data, headers=sent, timeout=30)


def eventually_ok(call: Callable[[], requests.Response], timeout_s: float = 10.0) -> requests.Response:
    """Repeats `call` until it answers 2xx; that response."""
    found: list[requests.Response] = []

    def probe() -> bool:
        response = call()
        if response.ok:
            found.append(response)
        return response.ok

    eventually(probe, timeout_s)
    return found[-1]


def bank_event(detail_type: str, detail: dict[str, Any], bus: str = "loyalty-events", source: str = "bank.core") -> dict[str, Any]:
    return {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
