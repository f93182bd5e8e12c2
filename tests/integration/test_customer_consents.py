"""Marketing consent per channel (docs/consent.md): the customer's own choice over HTTP, the bank's
`CustomerConsentChanged` through the bus and SQS, the newest word per channel winning whatever the
order, kept before the profile comes, exported with the customer's data and erased with them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from infra.local.cloud import LocalCloud
from tests.integration.test_customer_profiles import envelope as profile_envelope
from tests.integration.test_customer_profiles import invoke_ingest, new_customer_id
from tests.support import org
from tests.support.api import Api, bank_event, eventually

HQ = org.HQ


def consent_envelope(customer_id: str, channel: str, granted: bool, changed_at: str, event_id: str | None = None) -> str:
    return json.dumps({"id": event_id or str(uuid.uuid4()), "source": "bank.core", "detail-type": "CustomerConsentChanged", "time": changed_at,
                       "detail": {"customerId": customer_id, "channel": channel, "granted": granted, "changedAt": changed_at}})


def consents(api: Api, customer: str, **who: Any) -> dict[str, Any]:
    response = api.call("GET", f"/v1/customers/{customer}/consents", **(who or {"as_": customer}))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_customer_gives_and_withdraws_consent_channel_by_channel(cloud: LocalCloud, api: Api) -> None:
    # Given a customer core banking knows, who never said anything: no consent on any channel
    customer = new_customer_id()
    invoke_ingest(cloud, profile_envelope(customer, "2026-11-23T10:00:00Z"))
    assert {c: consents(api, customer)[c]["granted"] for c in ("wecom", "sms", "push")} == {"wecom": False, "sms": False, "push": False}
    # When they consent to WeCom and push, then withdraw push
    given = api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"wecom": True, "push": True})
    assert given.status_code == 200, given.text
    withdrawn = api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"push": False})
    # Then WeCom stands, push is withdrawn, SMS was never given; the head office's operator sees the same
    body = withdrawn.json()
    assert (body["wecom"]["granted"], body["wecom"]["source"], body["push"]["granted"], body["sms"]) == (
        True, "customer", False, {"granted": False, "changedAt": None, "source": None})
    assert consents(api, customer, **HQ) == body


def test_bad_consent_requests_are_refused_and_change_nothing(cloud: LocalCloud, api: Api) -> None:
    customer = new_customer_id()
    invoke_ingest(cloud, profile_envelope(customer, "2026-11-23T10:00:00Z"))
    before = consents(api, customer)
    for who, body, status, code in (
        ({"as_": customer}, {}, 400, "VALIDATION_ERROR"),  # no channel named
        ({"as_": customer}, {"email": True}, 400, "VALIDATION_ERROR"),  # not a channel
        ({"as_": customer}, {"sms": "yes"}, 400, "VALIDATION_ERROR"),
        ({"as_": new_customer_id()}, {"sms": True}, 403, "NOT_RESOURCE_OWNER"),  # another customer
        (HQ, {"sms": True}, 403, "CUSTOMER_TOKEN_REQUIRED"),  # operators record consent through the bank's systems
    ):
        response = api.call("PUT", f"/v1/customers/{customer}/consents", body=body, **who)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (body, response.text)
    assert consents(api, customer) == before


def test_the_banks_newest_word_per_channel_wins_in_any_order_even_before_the_profile(cloud: LocalCloud, api: Api) -> None:
    # Given the bank's consent to SMS, arriving before the customer's profile
    customer = new_customer_id()
    newer = consent_envelope(customer, "sms", True, "2026-12-07T02:00:00Z", "evt-consent-newer")
    assert invoke_ingest(cloud, newer) == {"batchItemFailures": []}
    invoke_ingest(cloud, profile_envelope(customer, "2026-11-23T10:00:00Z"))
    # When an older withdrawal arrives late, and the newer consent is delivered again
    older = consent_envelope(customer, "sms", False, "2026-12-06T02:00:00Z")
    assert invoke_ingest(cloud, older, newer) == {"batchItemFailures": []}
    # Then the newest stands, and the profile is whole
    sms = consents(api, customer)["sms"]
    assert (sms["granted"], sms["changedAt"], sms["source"]) == (True, "2026-12-07T02:00:00.000000Z", "bank")
    assert api.call("GET", f"/v1/customers/{customer}", as_=customer).status_code == 200
    # And a customer's later choice replaces the bank's, and the bank's next word replaces that
    assert api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"sms": False}).json()["sms"]["granted"] is False
    invoke_ingest(cloud, consent_envelope(customer, "sms", True, "2099-01-01T00:00:00Z"))
    assert consents(api, customer)["sms"]["granted"] is True


def test_consent_comes_through_the_bus(cloud: LocalCloud, api: Api) -> None:
    customer = new_customer_id()
    cloud.clients.events.put_events(Entries=[bank_event("CustomerConsentChanged", {"customerId": customer, "channel": "wecom", "granted": True,
                                                                                   "changedAt": "2026-12-07T03:00:00Z"})])
    eventually(lambda: consents(api, customer, **HQ)["wecom"]["granted"], timeout_s=20)


def test_consent_is_exported_with_the_customer_and_erased_with_them(cloud: LocalCloud, api: Api) -> None:
    # Given a customer who consents to WeCom
    customer = new_customer_id()
    invoke_ingest(cloud, profile_envelope(customer, "2026-11-23T10:00:00Z"))
    assert api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"wecom": True}).status_code == 200
    # Then the PIPL export holds it
    exported = api.call("POST", f"/v1/admin/customers/{customer}/export", idempotency_key=None, **HQ)
    assert exported.status_code == 200, exported.text
    assert '"consentWecom": true' in json.dumps(exported.json()), exported.text
    # When the customer is erased
    erased = api.call("POST", f"/v1/admin/customers/{customer}/erase", **HQ)
    assert erased.status_code == 200, erased.text
    # Then no consent is left, and none can be given again, by the customer or the bank
    assert consents(api, customer, **HQ)["wecom"] == {"granted": False, "changedAt": None, "source": None}
    again = api.call("PUT", f"/v1/customers/{customer}/consents", as_=customer, body={"wecom": True})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "CUSTOMER_ERASED"), again.text
    invoke_ingest(cloud, consent_envelope(customer, "wecom", True, "2099-01-01T00:00:00Z"))
    assert consents(api, customer, **HQ)["wecom"]["granted"] is False
