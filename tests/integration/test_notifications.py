"""Delivering notifications against the local cloud and the providers' simulator (docs/notifications.md):
consent, quiet hours (the clock injected), the customer's caps, and the providers' failures, each
message sent at most once and every outcome told by a receipt on the bus."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.config import get_settings
from loyalty.customers.ports import consents
from loyalty.notifications import policy, service
from loyalty.notifications.model import DeliveryRequest
from loyalty.notifications.providers import provider
from loyalty.notifications.store import DynamoDeliveryStore
from tests.integration.test_customer_profiles import envelope as profile_envelope
from tests.integration.test_customer_profiles import invoke_ingest, new_customer_id
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.checkout import SCHEMAS

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def simulator(cloud: LocalCloud) -> Iterator[Any]:
    cloud.simulator.reset()
    yield cloud.simulator
    cloud.simulator.reset()


@pytest.fixture(scope="module")
def receipts(cloud: LocalCloud) -> Iterator[BusTap]:
    tap = BusTap(cloud, f"notification-receipts-{uuid.uuid4().hex[:8]}", ["loyalty.notifications"])
    yield tap
    tap.close()


def customer_consenting(cloud: LocalCloud, api: Api, **channels: bool) -> str:
    customer = new_customer_id()
    invoke_ingest(cloud, profile_envelope(customer, "2026-11-23T10:00:00Z"))
    if channels:
        assert api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body=channels).status_code == 200
    return customer


def request(customer: str, channel: str = "sms", **fields: Any) -> DeliveryRequest:
    return DeliveryRequest.model_validate({"notificationId": f"ntf-{uuid.uuid4().hex[:12]}", "customerId": customer, "channel": channel,
                                           "templateId": "tpl-spring", "variables": {"name": "Li"}, "campaignId": "camp-n", **fields})


def deliver(message: DeliveryRequest, now: datetime = NOON) -> str:
    return service.deliver(DynamoDeliveryStore(), consents(), provider, message, now, sleep=lambda _: None)


def receipt(tap: BusTap, notification_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found[:] = [e for e in tap.drain() if e["detail"]["notificationId"] == notification_id]
        return bool(found)

    eventually(arrived, timeout_s=20)
    assert len(found) == 1, found
    jsonschema.validate(found[0]["detail"], SCHEMAS[found[0]["detail-type"]])
    return {"type": found[0]["detail-type"], **found[0]["detail"]}


@pytest.mark.parametrize("channel", ["sms", "push", "wecom"])
def test_a_consenting_customer_gets_the_message_once_however_often_it_is_asked(cloud: LocalCloud, api: Api, simulator: Any,
                                                                               receipts: BusTap, channel: str) -> None:
    # Given a customer who consents on the channel
    customer = customer_consenting(cloud, api, **{channel: True})
    message = request(customer, channel)
    # When the same notification is asked for three times
    assert [deliver(message) for _ in range(3)] == ["delivered"] * 3
    # Then the provider received it once, and one receipt says so
    received = simulator.received(channel)
    assert len(received) == 1, received
    assert receipt(receipts, message.notificationId)["type"] == "NotificationDelivered"


def test_without_consent_nothing_is_sent(cloud: LocalCloud, api: Api, simulator: Any, receipts: BusTap) -> None:
    customer = customer_consenting(cloud, api, sms=False)
    message = request(customer, "sms")
    assert deliver(message) == "failed"
    assert simulator.received("sms") == []
    found = receipt(receipts, message.notificationId)
    assert (found["type"], found["reason"]) == ("NotificationFailed", "NO_CONSENT")


def test_a_service_message_needs_no_marketing_consent(cloud: LocalCloud, api: Api, simulator: Any) -> None:
    customer = customer_consenting(cloud, api)
    assert deliver(request(customer, "push", kind="service")) == "delivered"
    assert len(simulator.received("push")) == 1


def test_a_provider_that_keeps_failing_is_retried_then_the_message_fails_without_a_duplicate(cloud: LocalCloud, api: Api, simulator: Any,
                                                                                             receipts: BusTap) -> None:
    # Given a gateway answering 503 to everything
    customer = customer_consenting(cloud, api, sms=True)
    simulator.behave("sms", fail_rate=1.0)
    message = request(customer, "sms")
    # When the request is delivered: three tries at once, then it waits
    assert deliver(message) == "sending"
    assert simulator.stats("sms")["calls"] == 3
    # And the same request again (a redelivery) before the next attempt is due sends nothing
    assert deliver(message) == "sending" and simulator.stats("sms")["calls"] == 3
    # When the sweep runs once the next attempt is due
    tally = service.send_due(DynamoDeliveryStore(), consents(), provider, datetime(2026, 12, 7, 6, 0, tzinfo=UTC))
    # Then it was tried DELIVERY_MAX_ATTEMPTS (5) times in all, failed with the gateway's status, and nothing was sent
    assert tally.get("failed", 0) >= 1 and simulator.stats("sms")["calls"] == 5
    found = receipt(receipts, message.notificationId)
    assert (found["type"], found["reason"], found["providerCode"]) == ("NotificationFailed", "PROVIDER_UNAVAILABLE", "503")
    # And once the gateway is back, the failed message is not sent late
    simulator.behave("sms")
    assert deliver(message) == "failed" and simulator.received("sms") == []


def test_a_repeated_request_is_not_sent_again_while_its_sender_is_at_it(cloud: LocalCloud, api: Api, simulator: Any) -> None:
    # Given a WeCom message (WeCom takes no idempotency key) whose delivery is claimed and not finished
    customer = customer_consenting(cloud, api, wecom=True)
    simulator.behave("wecom", fail_rate=1.0)
    message = request(customer, "wecom")
    assert deliver(message) == "sending"
    calls = simulator.stats("wecom")["calls"]
    # When the same request comes twice more before its next attempt is due
    simulator.behave("wecom")
    assert [deliver(message), deliver(message)] == ["sending", "sending"]
    # Then nothing more was sent; and once due, it is sent once
    assert simulator.stats("wecom")["calls"] == calls
    assert deliver(message, datetime(2026, 12, 7, 6, 0, tzinfo=UTC)) == "delivered"
    assert len(simulator.received("wecom")) == 1


def test_a_provider_refusal_fails_at_once_with_its_code(cloud: LocalCloud, api: Api, simulator: Any, receipts: BusTap) -> None:
    customer = customer_consenting(cloud, api, wecom=True)
    simulator.behave("wecom", refuse="41001")
    message = request(customer, "wecom")
    assert deliver(message) == "failed"
    assert simulator.stats("wecom")["calls"] == 1
    found = receipt(receipts, message.notificationId)
    assert (found["reason"], found["providerCode"]) == ("PROVIDER_REFUSED", "41001")


def test_a_flaky_provider_delivers_each_message_exactly_once(cloud: LocalCloud, api: Api, simulator: Any) -> None:
    customer = customer_consenting(cloud, api, push=True)
    simulator.behave("push", fail_rate=0.3)
    outcomes = []
    for _ in range(3):  # within the daily allowance
        message, at = request(customer, "push"), NOON
        state = deliver(message, at)
        while state == "sending":  # what the sweep does once the next attempt is due
            at += timedelta(hours=1)
            state = deliver(message, at)
        outcomes.append(state)
    assert outcomes == ["delivered"] * 3
    assert len(simulator.received("push")) == 3 and simulator.stats("push")["duplicates"] == 0


def test_a_message_inside_quiet_hours_waits_for_their_end(cloud: LocalCloud, api: Api, simulator: Any) -> None:
    # Given a consenting customer, and a message asked for at 23:30 in the bank's time zone
    customer = customer_consenting(cloud, api, sms=True)
    late = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
    message = request(customer, "sms")
    # When it is delivered then, and the sweep runs at 07:59 and at 08:00
    assert deliver(message, late) == "deferred"
    store = DynamoDeliveryStore()
    before = service.send_due(store, consents(), provider, datetime(2026, 12, 7, 23, 59, tzinfo=UTC))
    at_end = service.send_due(store, consents(), provider, datetime(2026, 12, 8, 0, 0, 1, tzinfo=UTC))
    # Then nothing went out in the night, and it went out once at the end of the quiet hours
    assert before.get("delivered", 0) == 0 and at_end.get("delivered", 0) >= 1
    assert [m["params"] for m in simulator.received("sms")] == [{"name": "Li"}]
    assert deliver(message, late) == "delivered"


def test_the_customers_daily_allowance_holds_across_channels(cloud: LocalCloud, api: Api, simulator: Any, receipts: BusTap) -> None:
    # Given a customer consenting on every channel, and MESSAGES_PER_CUSTOMER_DAILY (3) messages today
    customer = customer_consenting(cloud, api, sms=True, push=True, wecom=True)
    assert [deliver(request(customer, channel)) for channel in ("sms", "push", "wecom")] == ["delivered"] * 3
    # When a fourth is asked for the same day
    fourth = request(customer, "sms")
    # Then it is not sent
    assert deliver(fourth) == "failed"
    assert receipt(receipts, fourth.notificationId)["reason"] == "FREQUENCY_CAPPED"
    assert len(simulator.received("sms")) == 1


def test_a_campaigns_notification_request_on_the_bus_is_delivered(cloud: LocalCloud, api: Api, simulator: Any, receipts: BusTap) -> None:
    import json

    customer = customer_consenting(cloud, api, push=True)
    notification = f"ntf-bus-{uuid.uuid4().hex[:8]}"
    detail = {"eventId": str(uuid.uuid4()), "occurredAt": NOON.strftime("%Y-%m-%dT%H:%M:%SZ"), "campaignId": "camp-bus", "notificationId": notification,
              "customerId": customer, "channel": "push", "templateId": "tpl-bus", "variables": {}}
    cloud.clients.events.put_events(Entries=[{"EventBusName": cloud.topology.bus_name, "Source": "loyalty.campaigns",
                                              "DetailType": "NotificationRequested", "Detail": json.dumps(detail)}])
    # Then it is delivered, with its receipt; or, when the test runs in the bank's quiet hours, it waits for their end
    settings = get_settings()
    quiet = policy.quiet_until(datetime.now(UTC), settings.bank_zone, settings.quiet_hours_start, settings.quiet_hours_end)
    if quiet is None:
        assert receipt(receipts, notification)["type"] == "NotificationDelivered"
    else:
        waiting = eventually(lambda: DynamoDeliveryStore().get(notification), timeout_s=20)
        assert (waiting.state, (waiting.due_at or "")[:16]) == ("deferred", quiet.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))


def test_a_campaigns_receipts_count_in_its_report_once_per_notification(cloud: LocalCloud, api: Api, simulator: Any) -> None:
    from tests.support import campaigns as cmp
    from tests.support.coupons import active_template

    # Given a campaign whose reward is only an SMS notice, and two qualifying customers: one consenting to SMS, one not
    template = active_template(api)  # a coupon campaign's body, its actions replaced by the notice
    notice = [{"type": "notify", "channel": "sms", "templateId": "notice-spend"}]
    campaign = cmp.launch(api, cmp.coupon_campaign(template, variants=[{"variantId": "main", "weightPercent": 100, "actions": notice}]))
    willing, silent = customer_consenting(cloud, api, sms=True), customer_consenting(cloud, api)
    tap = BusTap(cloud, f"campaign-notices-{uuid.uuid4().hex[:8]}", ["loyalty.campaigns"])
    try:
        # When each pays at the campaign's merchant, and the grants ask for their notices
        for customer in (willing, silent):
            assert cmp.trigger(cloud, "CardTransactionPosted", cmp.card_spend(customer, 150_000, merchant=campaign)) == {"batchItemFailures": []}

        def requested() -> dict[str, Any] | None:
            found = [e["detail"] for e in tap.seen + tap.drain() if e["detail-type"] == "NotificationRequested"
                     and e["detail"]["customerId"] == willing]
            return found[0] if found else None

        request = DeliveryRequest.model_validate(eventually(requested, timeout_s=20))
    finally:
        tap.close()
    # And the consenting customer's notice is delivered (at the next noon in the bank's time zone, outside
    # quiet hours whenever the suite runs), while the other's fails for want of consent
    noon = datetime.now(UTC).astimezone(get_settings().bank_zone).replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert request.arm == "main" and deliver(request, noon) == "delivered"
    assert deliver(request, noon) == "delivered"  # asked again: still one delivery, one receipt

    # Then the arm's report counts one delivered and one failed, each once
    def counted() -> dict[str, Any] | None:
        main = cmp.arm(cmp.report(api, campaign), "main")
        return main if (main["notificationsDelivered"], main["notificationsFailed"]) == (1, 1) else None

    main = eventually(counted, timeout_s=30)
    assert main["notified"] == 2
