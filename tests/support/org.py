"""Org tree helpers shared by the integration, exactly-once and browser tests.

The tree has one head office per table, so every test of a session shares it (`ensure_head_office`)
and builds its own branches under it, with ids of its own (`unique`)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import Api

ROOT = "/v1/admin/org-units"
HEAD_OFFICE = "hq"
HQ: dict[str, Any] = {"as_": "op-hq", "groups": ["operators"], "org": HEAD_OFFICE}


def operator(unit: str | None, subject: str = "op-branch") -> dict[str, Any]:
    """Api.call's caller: an operator of `unit` (None: a token without an org unit)."""
    return {"as_": subject, "groups": ["operators"], "org": unit}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ensure_head_office(api: Api) -> str:
    """The session's head office, created by its own operator if it is not there yet."""
    response = api.call("POST", ROOT, body={"unitId": HEAD_OFFICE, "kind": "head_office", "name": "总行"}, **HQ)
    assert response.status_code == 201 or response.json()["error"]["code"] in ("ORG_ROOT_EXISTS", "ORG_UNIT_EXISTS"), response.text
    return HEAD_OFFICE


def create(api: Api, unit_id: str, kind: str, parent: str, who: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    response = api.call("POST", ROOT, body={"unitId": unit_id, "kind": kind, "name": unit_id.upper(), "parentId": parent, **fields},
                        **(who or HQ))
    assert response.status_code == 201, response.text
    return dict(response.json())


def branch(api: Api, **fields: Any) -> str:
    """A new branch under the head office."""
    ensure_head_office(api)
    return str(create(api, unique("br"), "branch", HEAD_OFFICE, **fields)["unitId"])


def get(api: Api, unit_id: str, who: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.call("GET", f"{ROOT}/{unit_id}", **(who or HQ))
    assert response.status_code == 200, response.text
    return dict(response.json())


def subtree(api: Api, unit_id: str | None = None, who: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every unit of the subtree, page after page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = "&".join(f"{k}={v}" for k, v in (("under", unit_id), ("cursor", cursor)) if v)
        response = api.call("GET", f"{ROOT}?{params}", **(who or HQ))
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        cursor = response.json()["nextCursor"]
        if cursor is None:
            return found


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


# ---- budget pools -----------------------------------------------------------------------------------

APPROVER_HQ: dict[str, Any] = {"as_": "ap-hq", "groups": ["operators", "approvers"], "org": HEAD_OFFICE}
BIG = 10**12


def measure_body(measure: str) -> dict[str, Any]:
    return {"unit": "rewards"} if measure == "rewards" else {"unit": "minor", "currency": measure}


def ensure_root_pool(api: Api, period: str, measure: str = "rewards") -> None:
    """The head office's pool for the period, large enough for every test of the session."""
    ensure_head_office(api)
    response = api.call("POST", f"{ROOT}/{HEAD_OFFICE}/pools", body={"period": period, "allocation": BIG, **measure_body(measure)}, **HQ)
    assert response.status_code == 201 or error_code(response) == "POOL_EXISTS", response.text


def allocate(api: Api, unit_id: str, child_id: str, period: str, amount: int, measure: str = "rewards", who: dict[str, Any] | None = None,
             **fields: Any) -> Any:
    return api.call("POST", f"{ROOT}/{unit_id}/pools/allocations",
                    body={"childId": child_id, "period": period, "amount": amount, **measure_body(measure), **fields}, **(who or HQ))


def pool(api: Api, unit_id: str, period: str, measure: str = "rewards", who: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.call("GET", f"{ROOT}/{unit_id}/pools/{period}.{measure}", **(who or HQ))
    assert response.status_code == 200, response.text
    return dict(response.json())
