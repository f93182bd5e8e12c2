"""The local cloud's side of the console (infra/local/console.py), without a browser: the development
sign-in and the static files with the single-page app's fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.local import console, tokens


def request(method: str, path: str, body: object | None = None) -> Request:
    data = json.dumps(body) if body is not None else None
    return Request(EnvironBuilder(method=method, path=path, data=data, content_type="application/json").get_environ())


def test_the_dev_sign_in_lists_the_local_identities() -> None:
    answer = console.dev_token(request("GET", "/_local/dev-token"))
    labels = {i["label"]: (i["groups"], i.get("orgUnit")) for i in json.loads(answer.get_data())["identities"]}
    assert labels == {"operator": (["operators"], "hq"), "approver": (["operators", "approvers"], "hq"),
                      "operatorApprover": (["operators", "approvers"], "hq"), "branchOperator": (["operators"], "sh"),
                      "relationshipManager": (["relationship-managers"], None)}


def test_the_dev_sign_in_issues_a_relationship_manager_a_token_without_operators() -> None:
    answer = console.dev_token(request("POST", "/_local/dev-token", {"subject": "rm-sh-pudong-1", "groups": ["relationship-managers"]}))
    claims = tokens.verify(json.loads(answer.get_data())["token"])
    assert (claims["sub"], claims["cognito:groups"], "custom:orgUnit" in claims) == ("rm-sh-pudong-1", ["relationship-managers"], False)


def test_the_dev_sign_in_issues_a_short_token_the_api_accepts() -> None:
    answer = console.dev_token(request("POST", "/_local/dev-token", {"subject": "op-alice", "groups": ["operators"]}))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    claims = tokens.verify(json.loads(answer.get_data())["token"])
    assert (claims["sub"], claims["cognito:groups"], claims["exp"] - claims["iat"]) == ("op-alice", ["operators"], 15 * 60)


def test_the_dev_sign_in_carries_the_org_unit_asked_for() -> None:
    answer = console.dev_token(request("POST", "/_local/dev-token", {"subject": "op-erin", "groups": ["operators"], "orgUnit": "sh"}))
    assert tokens.verify(json.loads(answer.get_data())["token"])["custom:orgUnit"] == "sh"


@pytest.mark.parametrize("body", [
    {"subject": "op-alice", "groups": ["operators"], "orgUnit": "s h"},
    {"subject": "op-alice", "groups": ["operators"], "orgUnit": ["sh"]},
    {"subject": "op-alice", "groups": []},  # a customer's token: not what the console signs in with
    {"subject": "op-alice", "groups": ["root"]},
    {"subject": "op alice", "groups": ["operators"]},
    {"subject": "op-alice", "groups": ["operators"], "ttlSeconds": 86_400},
    {"subject": "op-alice", "groups": ["operators"], "ttlSeconds": True},
])
def test_the_dev_sign_in_refuses_what_the_console_never_asks_for(body: dict[str, object]) -> None:
    answer = console.dev_token(request("POST", "/_local/dev-token", body))
    assert answer.status_code == 400 and json.loads(answer.get_data())["error"]["code"] == "VALIDATION_ERROR"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    (tmp_path / "config.json").write_text('{"apiUrl": "/", "auth": {"mode": "dev"}}', encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    return tmp_path


def test_built_files_are_served_with_the_console_policy_and_hashed_assets_cached_for_good(dist: Path) -> None:
    asset = console.console_files(request("GET", "/console/assets/index-abc123.js"), dist)
    assert asset.status_code == 200 and asset.mimetype in ("text/javascript", "application/javascript")
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "script-src 'self'" in asset.headers["Content-Security-Policy"] and asset.headers["X-Frame-Options"] == "DENY"
    config = console.console_files(request("GET", "/console/config.json"), dist)
    assert config.headers["Cache-Control"] == "no-cache" and json.loads(config.get_data())["auth"]["mode"] == "dev"


def test_the_apps_own_paths_get_index_html_and_missing_files_a_404(dist: Path) -> None:
    for path in ("/console", "/console/", "/console/campaigns/camp-1/report"):
        page = console.console_files(request("GET", path), dist)
        assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-cache") and b"<title>console" in page.get_data()
    assert console.console_files(request("GET", "/console/assets/gone-123.js"), dist).status_code == 404
    assert console.console_files(request("GET", "/console/../../infra/local/tokens.py"), dist).status_code == 404
    assert console.console_files(request("POST", "/console/"), dist).status_code == 405


def test_an_unbuilt_console_says_how_to_build_it(tmp_path: Path) -> None:
    answer = console.console_files(request("GET", "/console/"), tmp_path)
    assert answer.status_code == 503 and b"npm --prefix console run build" in answer.get_data()
