"""Browser tests: the operator console in headless Chromium against the whole local system.

The system is `python -m infra.local run` (what `make run` runs) on free ports; the console is its
build (console/dist, built here when its sources changed) served by the local cloud at /console/.
Chromium is Debian's package, driven by the `playwright` package with an explicit executable path:
`playwright install` cannot download browsers on these machines.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningSystem, running_system

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"

# Without these Chromium waits on the network this machine does not have (updates, sync, GPU).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The bank's time zone: the pickers show local time, the API takes UTC.
TIME_ZONE = "Asia/Shanghai"

# Head office operators (hq), as the development sign-in offers them (infra/local/console.py).
OPERATOR = {"subject": "op-alice", "groups": ["operators"], "orgUnit": "hq"}
APPROVER = {"subject": "op-bob", "groups": ["operators", "approvers"], "orgUnit": "hq"}
MAKER_CHECKER = {"subject": "op-dana", "groups": ["operators", "approvers"], "orgUnit": "hq"}


def chromium_executable() -> str:
    """CHROMIUM, else `chromium` on PATH, else Debian's path; a clear failure when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no Chromium: `apt-get install -y chromium` as root (the Makefile does), or put one on PATH, or set CHROMIUM=/path/to/chromium")


@pytest.fixture(scope="session")
def console_dist() -> Path:
    from infra.local.console_build import DIST_INDEX, ensure_built

    ensure_built()
    return DIST_INDEX.parent


@pytest.fixture(scope="session")
def system(console_dist: Path) -> Iterator[RunningSystem]:
    with running_system() as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class Console:
    """One person's browser tab on the console."""

    page: Any
    base: str
    who: dict[str, Any]

    def url(self, path: str) -> str:
        return f"{self.base}/console{path}"

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    def navigate(self, path: str) -> None:
        """Within the loaded console, as its own links do (no reload: quicker than goto)."""
        self.page.evaluate("path => { history.pushState({}, '', path); dispatchEvent(new PopStateEvent('popstate')); }", f"/console{path}")

    def settle(self, path: str) -> None:
        """The screen of `path` drawn (its h1 says which path it was drawn for) and its data in: nothing
        loading (the console marks #main aria-busy meanwhile), no skeleton or spinner left."""
        self.page.locator(f'h1[data-path="{path.split("?")[0]}"]').first.wait_for()
        self.page.wait_for_timeout(150)  # its queries start in effects, just after it is drawn
        self.page.wait_for_function(
            "() => document.querySelector('#main')?.getAttribute('aria-busy') !== 'true'"
            " && !document.querySelector('.ant-skeleton, .ant-spin-spinning, .ant-table-placeholder .ant-spin')"
        )

    def sign_in(self) -> None:
        """Through the development sign-in page, as a person does."""
        self.goto("/signin")
        self.page.get_by_test_id(f"sign-in-{self.who['subject']}").click()
        self.page.get_by_test_id("signed-in-as").wait_for()

    def sign_in_quickly(self, ttl_s: int = 900) -> None:
        """A token from the same development sign-in, put where the console keeps it (saves a page load)."""
        token = requests.post(f"{self.base}/_local/dev-token", json={**self.who, "ttlSeconds": ttl_s}, timeout=10).json()["token"]
        self.page.goto(f"{self.base}/_local/health")  # any page of the origin: sessionStorage is per origin
        self.page.evaluate("token => sessionStorage.setItem('console.session', token)", token)

    def token(self) -> str:
        return str(self.page.evaluate("() => sessionStorage.getItem('console.session')"))

    def api(self, method: str, path: str, body: Any = None, key: str | None = None) -> dict[str, Any]:
        """A call of the API from inside the tab, with the tab's own token (what the console holds)."""
        return dict(
            self.page.evaluate(
                """async ([method, path, body, key]) => {
                    const headers = {"Authorization": "Bearer " + sessionStorage.getItem("console.session"), "Content-Type": "application/json"};
                    if (method !== "GET") headers["Idempotency-Key"] = key ?? crypto.randomUUID();
                    const response = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
                    return {status: response.status, body: await response.json()};
                }""",
                [method, path, body, key],
            )
        )

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now (WCAG 2 A and AA)."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: the console's CSP (script-src 'self') allows it.
            self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.fixture
def open_console(system: RunningSystem, browser: Any) -> Iterator[Callable[[dict[str, Any]], Console]]:
    """`open_console(OPERATOR)`: a fresh browser context (its own sessionStorage), signed in as them."""
    contexts: list[Any] = []

    def open_as(who: dict[str, Any], sign_in: str | None = "page") -> Console:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id=TIME_ZONE, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        console = Console(context.new_page(), system.api.base_url, who)
        if sign_in == "page":
            console.sign_in()
        elif sign_in == "token":
            console.sign_in_quickly()
        return console

    yield open_as
    for context in contexts:
        context.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
