"""Idempotent issuing: claims keyed by their Idempotency-Key, IssueCoupon commands by their commandId."""

from __future__ import annotations

import concurrent.futures
import json
import uuid
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.coupons.logic import command_coupon_id
from tests.support.api import Api, eventually
from tests.support.coupons import (
    CLAIMS,
    active_template,
    add_stock,
    bundle,
    claim,
    coupon_item,
    coupons_in_table,
    create_template,
    error_code,
    new_customer,
    stock_left,
    template_body,
    unique,
    voucher_code,
    wallet_items,
)

COMMANDS = "coupon-commands"


def send_commands(cloud: LocalCloud, *bodies: dict[str, Any] | str) -> None:
    entries = [{"Id": str(i), "MessageBody": b if isinstance(b, str) else json.dumps(b)} for i, b in enumerate(bodies)]
    result = cloud.clients.sqs.send_message_batch(QueueUrl=cloud.provisioned.queue_urls[COMMANDS], Entries=entries)
    assert not result.get("Failed")


def issue_command(customer: str, template_id: str, command_id: str | None = None) -> dict[str, Any]:
    return {
        "commandId": command_id or unique("cmd"),
        "customerId": customer,
        "templateId": template_id,
        "source": "campaign",
        "campaignId": "camp-spring",
    }


def queue_drained(cloud: LocalCloud, name: str = COMMANDS) -> bool:
    attributes = cloud.clients.sqs.get_queue_attributes(
        QueueUrl=cloud.provisioned.queue_urls[name],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def in_dlq(cloud: LocalCloud, marker: str) -> bool:
    dlq = cloud.provisioned.queue_urls[f"{COMMANDS}-dlq"]
    messages = cloud.clients.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return any(marker in m["Body"] for m in messages)


# ---- claims ------------------------------------------------------------------------------------


def test_a_replayed_claim_returns_the_same_coupon_and_takes_stock_once(api: Api) -> None:
    # Given a claim that succeeded
    template_id = active_template(api, stock=10)
    customer, key = new_customer(), str(uuid.uuid4())
    first = claim(api, customer, template_id, key=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    # When the client retries it with the same Idempotency-Key, twice
    replays = [claim(api, customer, template_id, key=key) for _ in range(2)]
    # Then each retry answers the same coupon, marked as a replay
    for replay in replays:
        assert replay.status_code == 201
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert replay.json() == first.json()
    # And the stock dropped once, and the customer holds one coupon
    assert stock_left(api, template_id) == 9
    assert [c["couponId"] for c in wallet_items(api, customer)] == [first.json()["couponId"]]


def test_a_replay_is_served_even_after_the_template_was_paused(api: Api) -> None:
    # Given a served claim, and the template paused since
    template_id = active_template(api, stock=5)
    customer, key = new_customer(), str(uuid.uuid4())
    first = claim(api, customer, template_id, key=key)
    assert api.call("PUT", f"/v1/admin/coupon-templates/{template_id}/status", body={"status": "paused"},
                    as_="op", groups=["operators"]).status_code == 200
    # When the client retries the claim
    replay = claim(api, customer, template_id, key=key)
    # Then it gets its coupon, not a refusal
    assert replay.status_code == 201, replay.text
    assert replay.json()["couponId"] == first.json()["couponId"]


def test_concurrent_claims_under_one_key_issue_one_coupon(cloud: LocalCloud) -> None:
    # Given 10 threads sending the same claim with the same key at once (a client retrying eagerly)
    api = Api(cloud.api_url)
    template_id = active_template(api, stock=10)
    customer, key = new_customer(), str(uuid.uuid4())

    def send(_: int) -> tuple[int, str]:
        response = claim(Api(cloud.api_url), customer, template_id, key=key)
        return response.status_code, response.json().get("couponId", response.text)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(send, range(10)))
    # Then every one of them gets the same coupon, and one was taken from the stock
    assert {status for status, _ in outcomes} == {201}, outcomes
    assert len({coupon for _, coupon in outcomes}) == 1
    assert stock_left(api, template_id) == 9
    assert len(wallet_items(api, customer)) == 1


def test_the_same_key_for_another_template_is_refused(api: Api) -> None:
    # Given a claim of template A under a key
    template_a, template_b = active_template(api, stock=5), active_template(api, stock=5)
    customer, key = new_customer(), str(uuid.uuid4())
    assert claim(api, customer, template_a, key=key).status_code == 201
    # When the same key is used to claim template B
    reused = claim(api, customer, template_b, key=key)
    # Then it is refused as a reused key, and B is untouched
    assert reused.status_code == 422, reused.text
    assert error_code(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert stock_left(api, template_b) == 5
    assert len(wallet_items(api, customer)) == 1


def test_keys_are_scoped_to_the_customer(api: Api) -> None:
    # Given customer 1's claim under a key, when customer 2 claims with the same key
    template_id = active_template(api, stock=5)
    key = str(uuid.uuid4())
    first = claim(api, new_customer(), template_id, key=key)
    second = claim(api, new_customer(), template_id, key=key)
    # Then customer 2 gets a coupon of their own
    assert second.status_code == 201
    assert second.json()["couponId"] != first.json()["couponId"]
    assert stock_left(api, template_id) == 3


def test_a_key_used_for_a_bundle_cannot_claim_a_plain_template(api: Api) -> None:
    # Given a bundle claimed under a key
    part_a, part_b = active_template(api, stock=5), active_template(api, stock=5)
    bundle_id = active_template(api, benefit=bundle(part_a, part_b), stock=5)
    plain = active_template(api, stock=5)
    customer, key = new_customer(), str(uuid.uuid4())
    assert claim(api, customer, bundle_id, key=key).status_code == 201
    # When the same key claims a plain template
    reused = claim(api, customer, plain, key=key)
    # Then it is refused as a reused key, and nothing more is issued
    assert (reused.status_code, error_code(reused) if not reused.ok else "") == (422, "IDEMPOTENCY_KEY_REUSED")
    assert stock_left(api, plain) == 5


def test_a_key_used_for_a_plain_template_cannot_claim_a_bundle(api: Api) -> None:
    part_a, part_b = active_template(api, stock=5), active_template(api, stock=5)
    bundle_id = active_template(api, benefit=bundle(part_a, part_b), stock=5)
    plain = active_template(api, stock=5)
    customer, key = new_customer(), str(uuid.uuid4())
    assert claim(api, customer, plain, key=key).status_code == 201
    reused = claim(api, customer, bundle_id, key=key)
    assert (reused.status_code, error_code(reused) if not reused.ok else "") == (422, "IDEMPOTENCY_KEY_REUSED")
    assert stock_left(api, bundle_id) == 5


@pytest.mark.parametrize("header", [None, ""], ids=["absent", "empty"])
def test_a_claim_without_an_idempotency_key_is_refused(api: Api, header: str | None) -> None:
    # Given a claim sent without an Idempotency-Key (or an empty one)
    template_id = active_template(api, stock=5)
    customer = new_customer()
    headers = {} if header is None else {"Idempotency-Key": header}
    response = api.call("POST", CLAIMS, as_=customer, body={"templateId": template_id}, idempotency_key=None, headers=headers)
    # Then it is refused and nothing is issued
    assert response.status_code == 400
    assert error_code(response) == "IDEMPOTENCY_KEY_REQUIRED"
    assert stock_left(api, template_id) == 5
    assert wallet_items(api, customer) == []


def test_an_oversized_idempotency_key_is_refused(api: Api) -> None:
    template_id = active_template(api, stock=5)
    response = claim(api, new_customer(), template_id, key="k" * 129)
    assert response.status_code == 400
    assert error_code(response) == "IDEMPOTENCY_KEY_INVALID"
    assert stock_left(api, template_id) == 5


def test_a_code_upload_retried_after_dying_half_way_completes(cloud: LocalCloud, api: Api) -> None:
    from loyalty.coupons import service
    from loyalty.coupons.store import CODES_PER_TRANSACTION

    # Given a voucher template, and an upload of two chunks whose first try died after its first chunk
    # (as a Lambda timing out would: its idempotency record is then taken over after 60 s)
    body = template_body(benefit=voucher_code(), stock=0)
    template_id = body["templateId"]
    create_template(api, body)
    codes = [f"R-{uuid.uuid4().hex[:10]}" for _ in range(CODES_PER_TRANSACTION + 10)]
    key = str(uuid.uuid4())
    store = service.default_store()
    store.add_codes(store.get_template(template_id, fresh=True), codes[:CODES_PER_TRANSACTION], upload_id=key)
    assert stock_left(api, template_id) == CODES_PER_TRANSACTION
    # When the client retries the upload under the same Idempotency-Key
    retried = api.call("POST", f"/v1/admin/coupon-templates/{template_id}/codes", body={"codes": codes},
                       idempotency_key=key, as_="op", groups=["operators"])
    # Then the applied chunk is skipped and the rest is added: every code once
    assert retried.status_code == 201, retried.text
    assert stock_left(api, template_id) == len(codes)


# ---- IssueCoupon commands ----------------------------------------------------------------------


def test_a_command_delivered_three_times_issues_one_coupon(cloud: LocalCloud, api: Api) -> None:
    # Given an IssueCoupon command
    template_id = active_template(api, stock=10)
    customer = new_customer()
    command = issue_command(customer, template_id)
    # When it is sent to the queue three times
    send_commands(cloud, command)
    send_commands(cloud, command, command)
    # Then the customer gets one coupon, from the campaign, and the stock dropped once
    eventually(lambda: coupons_in_table(cloud.clients.dynamodb, customer))
    eventually(lambda: queue_drained(cloud), timeout_s=20)
    items = wallet_items(api, customer)
    assert len(items) == 1
    assert items[0]["campaignId"] == "camp-spring"
    assert items[0]["couponId"] == command_coupon_id(command["commandId"])
    assert stock_left(api, template_id) == 9


def test_a_command_refused_for_stock_is_refused_for_good(cloud: LocalCloud, api: Api) -> None:
    # Given a template with no stock
    template_id = active_template(api, stock=0)
    customer = new_customer()
    command = issue_command(customer, template_id)
    coupon_id = command_coupon_id(command["commandId"])
    # When an IssueCoupon command for it arrives
    send_commands(cloud, command)
    # Then no coupon is issued, and the refusal is recorded under the command's coupon id
    refusal = eventually(lambda: coupon_item(cloud.clients.dynamodb, coupon_id))
    assert refusal["failure"] == {"S": "COUPON_OUT_OF_STOCK"}
    # And when stock arrives and the same command is delivered again
    assert add_stock(api, template_id, 5).status_code == 200
    send_commands(cloud, command)
    eventually(lambda: queue_drained(cloud), timeout_s=20)
    # Then it is still refused: nothing issued, no stock taken, and the message was not retried to the DLQ
    assert coupons_in_table(cloud.clients.dynamodb, customer) == []
    assert wallet_items(api, customer) == []
    assert stock_left(api, template_id) == 5
    assert not in_dlq(cloud, command["commandId"])


def test_a_malformed_command_goes_to_the_dlq_without_blocking_its_batch(cloud: LocalCloud, api: Api) -> None:
    # Given one batch with a command missing its customer, one that is not JSON, and a good one
    template_id = active_template(api, stock=10)
    customer = new_customer()
    marker = unique("bad")
    missing_customer = {"commandId": marker, "templateId": template_id, "source": "campaign"}
    send_commands(cloud, missing_customer, "{not json " + marker, issue_command(customer, template_id))
    # When the poller delivers them
    # Then the good command is served at once
    eventually(lambda: coupons_in_table(cloud.clients.dynamodb, customer), timeout_s=5)
    # And both bad ones land in the DLQ after their retries (5 receives, 1 s visibility here)

    def both_in_dlq() -> bool:
        dlq = cloud.provisioned.queue_urls[f"{COMMANDS}-dlq"]
        messages = cloud.clients.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        return sum(marker in m["Body"] for m in messages) == 2

    eventually(both_in_dlq, timeout_s=30, interval_s=0.5)
    assert stock_left(api, template_id) == 9
