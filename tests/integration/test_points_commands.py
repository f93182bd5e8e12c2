"""AwardPoints, the command campaigns send to points: booked once per command id, whether it comes
straight to the queue or over the bus; a malformed one goes to the DLQ without blocking its batch."""

from __future__ import annotations

import json
from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.points import balance, dlq_bodies, history, new_customer, stored, unique

QUEUE, DLQ = "points-commands", "points-commands-dlq"


def award(customer: str, points: int = 50, **fields: Any) -> dict[str, Any]:
    return {"commandId": unique("cmd"), "customerId": customer, "points": points, "costCentre": "cc-campaigns",
            "campaignId": "camp-1", "reason": "spend 1000 get 50 points", **fields}


def send(cloud: LocalCloud, *bodies: str) -> None:
    url = cloud.provisioned.queue_urls[QUEUE]
    cloud.clients.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])


def test_an_award_delivered_three_times_earns_once(cloud: LocalCloud, api: Api) -> None:
    # Given an AwardPoints command
    customer = new_customer()
    command = award(customer, 50, validityDays=30)
    # When it reaches the queue three times, once of them over the bus from campaigns
    send(cloud, json.dumps(command), json.dumps(command))
    cloud.clients.events.put_events(Entries=[{"EventBusName": "loyalty-events", "Source": "loyalty.campaigns",
                                              "DetailType": "AwardPoints", "Detail": json.dumps(command)}])
    # Then the customer earns 50 points once, paid by the campaign's cost centre
    eventually(lambda: balance(api, customer)["available"] == 50, timeout_s=15)
    (entry,) = eventually(lambda: history(api, customer), timeout_s=5)
    assert entry["entryId"] == f"award:{command['commandId']}" and entry["costCentre"] == "cc-campaigns"
    assert entry["source"]["campaignId"] == "camp-1"
    (lot,) = stored(cloud.clients.dynamodb, customer).lots
    assert lot["costCentre"] == "cc-campaigns"
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_a_malformed_award_goes_to_the_dlq_and_the_rest_of_its_batch_is_booked(cloud: LocalCloud, api: Api) -> None:
    # Given a batch with a negative award and a good one
    customer, marker = new_customer(), unique("bad")
    bad = award(customer, -5, commandId=marker)
    good = award(customer, 20)
    # When both are sent together
    send(cloud, json.dumps(bad), json.dumps(good))
    # Then the good one is booked and the bad one reaches the DLQ
    eventually(lambda: balance(api, customer)["available"] == 20, timeout_s=15)
    eventually(lambda: dlq_bodies(cloud.clients.sqs, cloud.provisioned.queue_urls[DLQ], marker), timeout_s=30)
