"""Exactly once under crashes: a call whose process dies after its business write is never applied
again by a retry with the same Idempotency-Key (loyalty.core.commit_marker)."""

from __future__ import annotations

import uuid

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.config import get_settings
from tests.support.api import Api
from tests.support.coupons import OPERATOR, TEMPLATES, active_template, get_template, stock_left
from tests.support.crashes import DiesAfterCommit, Later, idempotency_store, real_store

# A killed process leaves its thread with an exception nobody handles: that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def add_stock(api: Api, template_id: str, amount: int, key: str) -> tuple[int, dict[str, str], dict[str, object]]:
    try:
        answer = api.call("POST", f"{TEMPLATES}/{template_id}/stock", body={"add": amount}, idempotency_key=key, **OPERATOR)
    except Exception:  # the killed process answered nothing
        return 0, {}, {}
    return answer.status_code, dict(answer.headers), answer.json() if answer.content else {}


def stale_later() -> int:
    return get_settings().idempotency_in_flight_seconds + 1


def test_a_stock_addition_killed_after_its_commit_is_replayed_not_added_again(cloud: LocalCloud, api: Api) -> None:
    # Given an active template with 10 coupons
    template_id = active_template(api, stock=10)
    key = uuid.uuid4().hex
    # When its process dies right after adding 5 (no answer stored, the key left behind)
    with idempotency_store(DiesAfterCommit(real_store())):
        status, _, _ = add_stock(api, template_id, 5, key)
    assert status not in (200, 201)
    # Then the 5 were added once
    assert stock_left(api, template_id) == 15
    # And a retry at once is told the first is still in progress (its holder may yet answer)
    status, _, body = add_stock(api, template_id, 5, key)
    assert (status, body["error"]["code"]) == (409, "IDEMPOTENCY_IN_PROGRESS")  # type: ignore[index]
    # And a retry once the claim is stale gets the template as it now is, marked as a replay, and adds nothing
    with idempotency_store(Later(real_store(), stale_later())):
        status, headers, body = add_stock(api, template_id, 5, key)
    assert (status, headers.get("Idempotent-Replayed")) == (200, "true")
    assert body["templateId"] == template_id and body["version"] == get_template(api, template_id)["version"]
    assert stock_left(api, template_id) == 15


def test_a_retry_of_a_committed_call_with_another_body_is_still_refused(cloud: LocalCloud, api: Api) -> None:
    # Given a stock addition killed after its commit
    template_id = active_template(api, stock=10)
    key = uuid.uuid4().hex
    with idempotency_store(DiesAfterCommit(real_store())):
        add_stock(api, template_id, 5, key)
    # When the key is reused for another amount, long after
    with idempotency_store(Later(real_store(), stale_later())):
        status, _, body = add_stock(api, template_id, 7, key)
    # Then it is 422 and nothing more is added
    assert (status, body["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")  # type: ignore[index]
    assert stock_left(api, template_id) == 15


@pytest.mark.parametrize("seconds", [0, 3600])
def test_a_call_that_fails_before_writing_frees_its_key(cloud: LocalCloud, api: Api, seconds: int) -> None:
    # Given a stock addition refused before any write (the template does not exist)
    key = uuid.uuid4().hex
    status, _, _ = add_stock(api, "no-such-template", 5, key)
    assert status == 404
    # When the client corrects it and retries under the same key (at once, or an hour later)
    template_id = active_template(api, stock=10)
    with idempotency_store(Later(real_store(), seconds)):
        answer = api.call("POST", f"{TEMPLATES}/{template_id}/stock", body={"add": 5}, idempotency_key=key, **OPERATOR)
    # Then the path differs, so it is another request: refused as a reused key, or applied once if it was free
    assert answer.status_code in (200, 422)
    assert stock_left(api, template_id) == (15 if answer.status_code == 200 else 10)
