"""Accounts sharing a device or phone (an abuse signal) and relationship managers' books, on the
local cloud: the identity index holds keyed hashes only, counts the other customers on each, feeds
the abuse score the coupon gate reads, is idempotent, answers `shares_identity`, and is erased with
the customer; a manager's roll-up follows their customers, also when one moves to another manager."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.dynamo import from_item, to_item
from loyalty.core.pii import keyed_hash
from loyalty.scoring import nightly, service
from loyalty.scoring.items import identity_key, state_key
from loyalty.scoring.ports import shared_identities
from tests.support.api import Api
from tests.support.scoring import (
    OPERATOR,
    envelope,
    hours_ago,
    ingest,
    ingest_ok,
    opened,
    profile,
    profile_snapshot,
    put_profile,
    scores_of,
    stored_profile,
    unique,
)


def raw_hash() -> str:
    """A device or phone hash as the bank sends it (64 hex characters)."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def login(customer_id: str, device: str | None) -> tuple[str, dict[str, Any]]:
    detail = {"customerId": customer_id, "channel": "app", "loggedInAt": hours_ago(1)}
    return "LoginCompleted", {**detail, "deviceHash": device} if device else detail


def customer(cloud: LocalCloud, **profile_fields: Any) -> str:
    found = unique("si")
    put_profile(cloud, found, **profile_fields)
    ingest_ok(cloud, opened(found, days_ago=200))  # an established account: only the shared-identity signal moves
    return found


def profile_phone(cloud: LocalCloud, customer_id: str, phone: str) -> None:
    """The bank's profile names the customer's phone: stored by customers-ingest, then scored."""
    profile_snapshot(cloud, customer_id, phoneHash=phone)


def opens_with_phone(cloud: LocalCloud, phone: str) -> str:
    """An established customer who opens another account with this phone."""
    found = customer(cloud)
    ingest_ok(cloud, ("AccountOpened", {**opened(found, "savings", days_ago=1)[1], "phoneHash": phone}))
    return found


def shared(api: Api, customer_id: str) -> int:
    return int(scores_of(api, customer_id)["features"]["sharedIdentityAccounts"])


def abuse(cloud: LocalCloud, customer_id: str) -> float:
    """The abuse score on the profile: what coupons' and campaigns' eligibility gate reads."""
    return float(stored_profile(cloud, customer_id)["scores"]["abuseRisk"])


def shares_identity(customer_id: str, raw_hashes: list[str]) -> bool:
    """Scoring's port, as campaigns asks it."""
    return shared_identities().shares_identity(customer_id, raw_hashes)


def scoring_item(cloud: LocalCloud, key: dict[str, str]) -> dict[str, Any] | None:
    item = cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item(key), ConsistentRead=True).get("Item")
    return from_item(item) if item else None


def erase(api: Api, customer_id: str) -> Any:
    response = api.call("POST", f"/v1/admin/customers/{customer_id}/erase", **OPERATOR)
    assert response.status_code == 200, response.text
    return response.json()


def test_two_customers_on_one_device_both_count_the_other_and_score_riskier_than_one_alone(cloud: LocalCloud, api: Api) -> None:
    # Given two customers who log in from the same device, one after the other, and one alone on theirs
    device = raw_hash()
    first, second, alone = customer(cloud), customer(cloud), customer(cloud)
    ingest_ok(cloud, login(first, device), login(alone, raw_hash()))
    assert shared(api, first) == 0
    # When the second one logs in from that device
    ingest_ok(cloud, login(second, device))
    # Then each counts one other account on it: the second at once, the first re-scored by that event
    assert shared(api, second) == 1 and shared(api, first) == 1 and shared(api, alone) == 0
    # And both score riskier on the profile the eligibility gate reads than the one alone
    assert abuse(cloud, first) > abuse(cloud, alone) and abuse(cloud, second) > abuse(cloud, alone)
    assert abuse(cloud, first) == abuse(cloud, second)


def test_a_phone_shared_through_profiles_and_account_openings_counts_too(cloud: LocalCloud, api: Api) -> None:
    # Given a customer whose profile carries a phone hash
    phone = raw_hash()
    holder = unique("si")
    profile_phone(cloud, holder, phone)
    # When another customer opens an account with that phone
    other = opens_with_phone(cloud, phone)
    # Then both count one other account
    assert shared(api, other) == 1 and shared(api, holder) == 1
    state = scoring_item(cloud, state_key(other))
    assert state is not None and state["identities"] == {keyed_hash(phone): "phone"}


def test_a_new_phone_on_the_profile_retires_the_old_one_and_its_sharer_counts_one_fewer(cloud: LocalCloud, api: Api) -> None:
    # Given a customer whose profile carries a phone another customer opened an account with
    old_phone, new_phone = raw_hash(), raw_hash()
    holder = unique("si")
    profile_phone(cloud, holder, old_phone)
    other = opens_with_phone(cloud, old_phone)
    assert shared(api, holder) == 1 and shared(api, other) == 1
    # When the bank changes the holder's phone (the number may go to somebody else)
    profile_phone(cloud, holder, new_phone)
    # Then the holder is off the old phone's index, on the new one, and neither counts the other
    assert scoring_item(cloud, identity_key(keyed_hash(old_phone), holder)) is None
    assert scoring_item(cloud, identity_key(keyed_hash(new_phone), holder)) is not None
    state = scoring_item(cloud, state_key(holder))
    assert state is not None and state["identities"] == {keyed_hash(new_phone): "phone"}
    assert shared(api, holder) == 0 and shared(api, other) == 0
    assert not shares_identity(holder, [old_phone]) and shares_identity(other, [old_phone])
    # And a snapshot older than that, naming the old phone, arriving late, changes none of it
    ingest_ok(cloud, profile(holder, phoneHash=old_phone, changedAt=hours_ago(3)))
    assert scoring_item(cloud, identity_key(keyed_hash(old_phone), holder)) is None
    assert shared(api, holder) == 0 and shared(api, other) == 0


def test_the_index_never_holds_a_hash_as_received(cloud: LocalCloud) -> None:
    # Given a customer who logged in from a device
    device = raw_hash()
    holder = customer(cloud)
    ingest_ok(cloud, login(holder, device))
    # Then the index item is keyed by the keyed hash, with the customer, kind and when first seen
    item = scoring_item(cloud, identity_key(keyed_hash(device), holder))
    assert item is not None and item["customerId"] == holder and item["kind"] == "device" and item["firstSeenAt"]
    # And the hash as received is in no item of the scoring table, nor in the profile
    pages = cloud.clients.dynamodb.get_paginator("scan").paginate(TableName="scoring")
    assert not any(device in json.dumps(i) for page in pages for i in page["Items"])
    assert device not in json.dumps(stored_profile(cloud, holder))


def test_shares_identity_answers_for_the_customer_s_own_hashes_only(cloud: LocalCloud) -> None:
    # Given a customer who logged in from a device
    device = raw_hash()
    holder, stranger = customer(cloud), customer(cloud)
    ingest_ok(cloud, login(holder, device))
    # Then that device, among others, is theirs (as the bank sends it, un-keyed)
    assert shares_identity(holder, [raw_hash(), device])
    # And not another customer's, nor an unknown hash, nor none
    assert not shares_identity(stranger, [device])
    assert not shares_identity(holder, [raw_hash()]) and not shares_identity(holder, [])


def test_the_same_login_again_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given two customers on one device
    device = raw_hash()
    first, second = customer(cloud), customer(cloud)
    ingest_ok(cloud, login(first, device))
    body = envelope(*login(second, device))
    assert ingest(cloud, body) == {"batchItemFailures": []}
    before = [scoring_item(cloud, identity_key(keyed_hash(device), c)) for c in (first, second)]
    version = scores_of(api, second)["version"]
    # When the second's login is delivered again
    assert ingest(cloud, body, body) == {"batchItemFailures": []}
    # Then nothing changed: the same state version, the same index items, the same counts
    assert scores_of(api, second)["version"] == version
    assert [scoring_item(cloud, identity_key(keyed_hash(device), c)) for c in (first, second)] == before
    assert shared(api, first) == shared(api, second) == 1
    # And a later login from the same device (a new event) keeps the first time it was seen
    ingest_ok(cloud, login(second, device))
    assert scoring_item(cloud, identity_key(keyed_hash(device), second)) == before[1]
    assert shared(api, second) == 1


def test_the_nightly_run_recounts_the_customers_on_a_hash(cloud: LocalCloud, api: Api) -> None:
    # Given two customers on one device, the second then erased (their index items go)
    device = raw_hash()
    first, second = customer(cloud), customer(cloud)
    ingest_ok(cloud, login(first, device), login(second, device))
    assert shared(api, first) == 1
    erase(api, second)
    # When the nightly run scores the first one's page
    store, now = service.default_store(), datetime.now(UTC)
    models, versions = service.active_models(store)
    state = store.state(first)
    assert state is not None
    written, _ = nightly.score_page(store, [state], models, versions, service.active_segments(store), service.bank_today(now), now)
    # Then they count nobody any more, and their abuse score is back to the one-alone score
    assert written == 1 and shared(api, first) == 0 and abuse(cloud, first) == 0


def test_an_erasure_removes_the_customer_s_identities_and_manager_entry(cloud: LocalCloud, api: Api) -> None:
    # Given a customer of a relationship manager who logged in from a device
    device, manager = raw_hash(), unique("rm")
    holder = customer(cloud, relationshipManagerId=manager)
    ingest_ok(cloud, login(holder, device))
    exported = api.call("POST", f"/v1/admin/customers/{holder}/export", **OPERATOR).json()
    assert [(i["keyedHash"], i["kind"]) for i in exported["identities"]] == [(keyed_hash(device), "device")]
    assert manager_value(api, manager)["customers"] == 1
    # When an operator erases them
    erased = erase(api, holder)
    # Then their identity and their place in the manager's book are gone with their scoring state
    assert scoring_item(cloud, identity_key(keyed_hash(device), holder)) is None
    assert not shares_identity(holder, [device])
    assert manager_value(api, manager)["customers"] == 0
    assert erased["scoringItemsDeleted"] >= 3  # state, identity, manager entry (and memberships)


def manager_value(api: Api, manager: str, **caller: Any) -> dict[str, Any]:
    response = api.call("GET", f"/v1/admin/relationship-managers/{manager}/value", **(caller or OPERATOR))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_manager_s_roll_up_counts_their_customers_and_sums_their_value_scores(cloud: LocalCloud, api: Api) -> None:
    # Given two customers of one manager, with different activity, and one of another manager
    manager, other = unique("rm"), unique("rm")
    first, second = customer(cloud, relationshipManagerId=manager), customer(cloud, relationshipManagerId=manager)
    customer(cloud, relationshipManagerId=other)
    ingest_ok(cloud, opened(second, "credit-card", days_ago=100))
    values = [scores_of(api, c)["scores"]["value"] for c in (first, second)]
    assert values[0] != values[1]
    # When an operator reads the manager's roll-up
    found = manager_value(api, manager)
    # Then it has their two customers, the sum and the mean of their value scores
    assert found == {"managerId": manager, "customers": 2, "totalValue": round(sum(values), 2), "meanValue": round(sum(values) / 2, 2)}
    assert manager_value(api, other)["customers"] == 1
    # And a manager without customers has an empty book
    nobody = unique("rm")
    assert manager_value(api, nobody) == {"managerId": nobody, "customers": 0, "totalValue": 0.0, "meanValue": None}


def test_a_customer_who_moves_to_another_manager_leaves_the_former_s_roll_up(cloud: LocalCloud, api: Api) -> None:
    # Given two customers of one manager
    former, new = unique("rm"), unique("rm")
    staying, moving = customer(cloud, relationshipManagerId=former), customer(cloud, relationshipManagerId=former)
    assert manager_value(api, former)["customers"] == 2
    # When core banking moves one of them to another manager (the profile first, then scoring sees the event)
    profile_snapshot(cloud, moving, relationshipManagerId=new)
    # Then the former manager's book has only the one who stayed, the new one's has the one who moved
    staying_value = scores_of(api, staying)["scores"]["value"]
    assert manager_value(api, former) == {"managerId": former, "customers": 1, "totalValue": staying_value, "meanValue": staying_value}
    assert manager_value(api, new)["customers"] == 1
    # And when the profile no longer names a manager, the customer leaves that book too
    profile_snapshot(cloud, moving)
    assert manager_value(api, new)["customers"] == 0


def every_book(api: Api, limit: int) -> list[dict[str, Any]]:
    """GET /v1/admin/relationship-managers, page after page."""
    books: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        response = api.call("GET", "/v1/admin/relationship-managers?" + urlencode({"limit": limit, **({"cursor": cursor} if cursor else {})}), **OPERATOR)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        books += page["items"]
        if not (cursor := page["nextCursor"]):
            return books


def test_every_manager_s_book_is_listed_once_page_by_page(cloud: LocalCloud, api: Api) -> None:
    # Given five managers with one to three customers each (and the books of other tests)
    managers = [unique("rm") for _ in range(5)]
    for i, manager in enumerate(managers):
        for _ in range(i % 3 + 1):
            customer(cloud, relationshipManagerId=manager)
    # When an operator pages through every book, two at a time
    books = every_book(api, limit=2)
    # Then each manager is listed once, with the figures of their own roll-up
    listed = [book["managerId"] for book in books]
    assert len(listed) == len(set(listed))
    by_manager = {book["managerId"]: book for book in books}
    assert [by_manager[m] for m in managers] == [manager_value(api, m) for m in managers]
    assert [by_manager[m]["customers"] for m in managers] == [1, 2, 3, 1, 2]
    # And a bigger page lists the same books
    assert {b["managerId"]: b for b in every_book(api, limit=100)} == by_manager


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=bm90LWEtY3Vyc29y", "cursor=" + base64.urlsafe_b64encode(b'{"shard": 99, "after": null}').decode()])
def test_a_bad_page_request_is_refused(api: Api, query: str) -> None:
    response = api.call("GET", f"/v1/admin/relationship-managers?{query}", **OPERATOR)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("path", ["/v1/admin/relationship-managers", "/v1/admin/relationship-managers/rm-1/value"])
def test_the_roll_ups_are_for_operators_only(api: Api, path: str) -> None:
    response = api.call("GET", path, as_=unique("c"))
    assert response.status_code == 403
