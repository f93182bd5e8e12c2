"""The DynamoDB scoring store's refusals on the local cloud: which condition cancelled a re-scoring
says what happened (and nothing of it is written), a racing save of a model or a segment at its
limit is refused, and a hash's count costs one Query however many customers share it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.aws import dynamodb
from loyalty.core.dynamo import from_item, to_item
from loyalty.core.errors import BusinessRuleViolation, Conflict
from loyalty.core.tables import batch_write
from loyalty.scoring import service
from loyalty.scoring.features import FeatureState
from loyalty.scoring.identities import SHARED_CAP
from loyalty.scoring.items import IdentityItem, state_key
from loyalty.scoring.segments import SegmentDefinition
from loyalty.scoring.store import AlreadyApplied, Rescoring, StaleState, UnknownCustomer
from tests.support.api import Api
from tests.support.scoring import OPERATOR, put_profile, unique

AT = "2026-11-23T04:00:00.000000Z"


def first_scoring(customer: str, version: int = 0, marker: str | None = None, **writes: Any) -> Rescoring:
    return Rescoring(customer, version, {"features": FeatureState().model_dump_json(), "scoredAt": AT}, True, "potential", [], {}, AT,
                     marker=(marker, 1_795_000_000) if marker else None, **writes)


def state(cloud: LocalCloud, customer: str) -> dict[str, Any] | None:
    found = cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item(state_key(customer)), ConsistentRead=True).get("Item")
    return from_item(found) if found else None


def test_each_refusal_says_what_happened_and_writes_nothing(cloud: LocalCloud, api: Api) -> None:
    store = service.default_store()
    customer, stranger, erased = unique("st"), unique("st"), unique("st")
    for known in (customer, erased):
        put_profile(cloud, known)
    assert api.call("POST", f"/v1/admin/customers/{erased}/erase", **OPERATOR).status_code == 200
    # Given a customer scored once, by event e-1
    store.commit([first_scoring(customer, marker="e-1")])
    assert state(cloud, customer)["version"] == 1  # type: ignore[index]
    # Then the same event again is AlreadyApplied, also when the version read is stale too
    with pytest.raises(AlreadyApplied):
        store.commit([first_scoring(customer, marker="e-1", entered=["gold"])])
    # And a write at a version read before that one is StaleState
    with pytest.raises(StaleState):
        store.commit([first_scoring(customer, marker="e-2", entered=["gold"])])
    # And a customer without a profile, or erased, is UnknownCustomer
    with pytest.raises(UnknownCustomer):
        store.commit([first_scoring(stranger, marker="e-3")])
    with pytest.raises(UnknownCustomer):
        store.commit([first_scoring(erased, marker="e-4")])
    # And none of the refused writes left anything
    assert state(cloud, customer)["version"] == 1 and state(cloud, stranger) is None and state(cloud, erased) is None  # type: ignore[index]
    members = cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item({"pk": f"CUST#{customer}", "sk": "SEG#gold"}))
    assert "Item" not in members


def test_a_save_racing_another_is_a_version_conflict_and_a_segment_past_the_limit_is_refused(cloud: LocalCloud) -> None:
    store = service.default_store()
    segment = unique("st-seg")
    # (a definition no customer matches: other tests in the session score with every segment in force)
    definition = SegmentDefinition.model_validate({"segmentId": segment, "name": segment, "rule": {"tagsAll": [unique("tag")]}})
    body = {"definition": definition.model_dump_json(), "updatedBy": "op-1", "updatedAt": AT}
    # Given a segment at version 1
    store.save_version("SEGMENT", segment, 1, body)
    # When two saves both read version 1 and save version 2, then the second is a conflict
    store.save_version("SEGMENT", segment, 2, {**body, "updatedBy": "op-2"})
    with pytest.raises(Conflict) as raced:
        store.save_version("SEGMENT", segment, 2, {**body, "updatedBy": "op-3"})
    assert raced.value.code == "VERSION_CONFLICT" and store.version("SEGMENT", segment)["updatedBy"] == "op-2"
    # And a new segment when the count is at the limit is refused
    store.reserve_segment(unique("st-seg"), limit=1_000)
    count = from_item(cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item({"pk": "SEGMENT-COUNT", "sk": "COUNT"}),
                                                      ConsistentRead=True).get("Item") or {}).get("count", 0)
    with pytest.raises(BusinessRuleViolation) as full:
        store.reserve_segment(unique("st-seg"), limit=int(count))
    assert full.value.code == "SEGMENT_LIMIT_REACHED"


@pytest.fixture
def queries() -> Iterator[list[str]]:
    sent: list[str] = []

    def count(model: Any, **_: Any) -> None:
        sent.append(model.name)

    client = dynamodb()
    client.meta.events.register("before-call.dynamodb.*", count)
    yield sent
    client.meta.events.unregister("before-call.dynamodb.*", count)


def test_a_crowded_hash_is_counted_with_one_query_capped(cloud: LocalCloud, queries: list[str]) -> None:
    # Given a hash recorded for 60 customers
    keyed = unique("hk1")
    crowd = [unique("st") for _ in range(60)]
    batch_write([IdentityItem(f"IDENT#{keyed}", f"CUST#{c}", customerId=c, kind="device", firstSeenAt=AT) for c in crowd])
    queries.clear()
    # When one of them counts the others, and asks for some of them
    store = service.default_store()
    others = store.others_on(keyed, crowd[0])
    found = store.customers_on(keyed, crowd[0], 3)
    # Then the count is capped, each answer took one Query, and the customer is never among the others
    assert others == SHARED_CAP and queries == ["Query", "Query"]
    assert len(found) == 3 and crowd[0] not in found and set(found) <= set(crowd)
