"""The notification providers, simulated for the local cloud (docs/notifications.md, "The simulator"):
a real HTTP server speaking each adapter's protocol, so that tests and `make run` drive the real
adapters over the network.

- **WeCom**: `GET /cgi-bin/gettoken?corpid&corpsecret`, `POST /cgi-bin/externalcontact/add_msg_template?access_token`
  (HTTP 200 with an `errcode`, as WeCom answers; no idempotency key, as WeCom has none).
- **SMS gateway**: `POST /v1/messages` with `X-Api-Key` and `Idempotency-Key`.
- **Push gateway**: `POST /v1/push` with `Authorization: Bearer` and `Idempotency-Key`.

It records every message it accepted (a repeated idempotency key is answered as the first and not
recorded twice: `duplicates` counts them), and can be told, per provider, to fail a share of calls
(5xx, or WeCom's busy code), to refuse (a 4xx, or WeCom's errcode), to throttle (429) or to answer
slowly: `POST /_sim/behaviour`, `GET /_sim/received`, `POST /_sim/reset` (or the Python methods).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PROVIDERS = ("wecom", "sms", "push")
CREDENTIALS = {"wecom": {"corpId": "ww-local", "corpSecret": "local-corp-secret"}, "sms": {"apiKey": "local-sms-key"},
               "push": {"token": "local-push-token"}}


@dataclass
class Behaviour:
    fail_rate: float = 0.0  # share of calls answered 5xx (WeCom: errcode -1)
    fail_status: int = 503
    refuse: str | None = None  # every call refused with this code (a 4xx's body code, or WeCom's errcode)
    throttle: bool = False  # every call answered 429 (WeCom: errcode 45009)
    delay_ms: int = 0


@dataclass
class Provider:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, str] = field(default_factory=dict)  # idempotency key: the message id answered
    duplicates: int = 0
    calls: int = 0


class ProviderSimulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 20261207):
        self.providers = {name: Provider() for name in PROVIDERS}
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.tokens: set[str] = set()
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ProviderSimulator:
        self.thread = threading.Thread(target=self.server.serve_forever, name="provider-simulator", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def secrets(self) -> dict[str, dict[str, str]]:
        """Each provider's secret as the engine reads it from Secrets Manager: its endpoint and credentials."""
        return {name: {"baseUrl": self.url, **CREDENTIALS[name]} for name in PROVIDERS}

    # ---- control ------------------------------------------------------------------------------------

    def behave(self, provider: str, **changes: Any) -> None:
        with self.lock:
            self.providers[provider].behaviour = Behaviour(**changes)

    def reset(self) -> None:
        with self.lock:
            self.providers = {name: Provider() for name in PROVIDERS}

    def received(self, provider: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.providers[provider].received)

    def stats(self, provider: str) -> dict[str, int]:
        with self.lock:
            found = self.providers[provider]
            return {"received": len(found.received), "duplicates": found.duplicates, "calls": found.calls}

    # ---- the protocols ------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        if path.startswith("/_sim/"):
            return self._control(method, path, query, body)
        if method == "GET" and path == "/cgi-bin/gettoken":
            if query.get("corpsecret", [""])[0] != CREDENTIALS["wecom"]["corpSecret"]:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"tok-{self.random.getrandbits(48):012x}"
            with self.lock:
                self.tokens.add(token)
            return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if method == "POST" and path == "/cgi-bin/externalcontact/add_msg_template":
            if query.get("access_token", [""])[0] not in self.tokens:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            return self._message("wecom", None, body, wecom=True)
        if method == "POST" and path == "/v1/messages":
            if headers.get("x-api-key") != CREDENTIALS["sms"]["apiKey"]:
                return 401, {"code": "UNAUTHORIZED"}
            return self._message("sms", headers.get("idempotency-key"), body)
        if method == "POST" and path == "/v1/push":
            if headers.get("authorization") != f"Bearer {CREDENTIALS['push']['token']}":
                return 401, {"code": "UNAUTHORIZED"}
            return self._message("push", headers.get("idempotency-key"), body)
        return 404, {"code": "NOT_FOUND"}

    def _message(self, name: str, key: str | None, body: dict[str, Any], wecom: bool = False) -> tuple[int, Any]:
        with self.lock:
            provider = self.providers[name]
            provider.calls += 1
            behaviour = provider.behaviour
            failed = behaviour.fail_rate > 0 and self.random.random() < behaviour.fail_rate
        if behaviour.delay_ms:
            time.sleep(behaviour.delay_ms / 1000)
        if behaviour.throttle:
            return (200, {"errcode": 45009, "errmsg": "api freq out of limit"}) if wecom else (429, {"code": "THROTTLED"})
        if behaviour.refuse:
            return (200, {"errcode": int(behaviour.refuse), "errmsg": "refused"}) if wecom else (400, {"code": behaviour.refuse})
        if failed:
            return (200, {"errcode": -1, "errmsg": "system busy"}) if wecom else (behaviour.fail_status, {"code": "UNAVAILABLE"})
        with self.lock:
            if key is not None and key in provider.by_key:
                provider.duplicates += 1
                message_id = provider.by_key[key]
            else:
                message_id = f"{name}-{len(provider.received) + 1:06d}"
                provider.received.append({"messageId": message_id, "idempotencyKey": key, **body})
                if key is not None:
                    provider.by_key[key] = message_id
        if wecom:
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": message_id}
        return 202, {"messageId" if name == "sms" else "pushId": message_id}

    def _control(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, Any]:
        if method == "GET" and path == "/_sim/received":
            name = query.get("provider", ["sms"])[0]
            return 200, {"provider": name, **self.stats(name), "messages": self.received(name)}
        if method == "POST" and path == "/_sim/behaviour":
            changes = {k: v for k, v in body.items() if k != "provider"}
            self.behave(str(body.get("provider")), **{_snake(k): v for k, v in changes.items()})
            return 200, {"ok": True}
        if method == "POST" and path == "/_sim/reset":
            self.reset()
            return 200, {"ok": True}
        return 404, {"code": "NOT_FOUND"}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _handler(simulator: ProviderSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, answer = simulator.answer(method, parsed.path, parse_qs(parsed.query),
                                              {k.lower(): v for k, v in self.headers.items()}, body if isinstance(body, dict) else {})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the engine logs its own calls
            return

    return Handler
