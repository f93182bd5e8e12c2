"""The nightly re-scoring: cut points recomputed, everybody re-scored, resumable from its checkpoints
after a failure, progress readable through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.clock import iso_utc
from loyalty.core.config import Settings
from loyalty.core.dynamo import to_item
from loyalty.scoring import nightly, service
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.features import CustomerFeatures, FeatureState
from loyalty.scoring.items import state_key
from loyalty.scoring.models import RfmModel
from loyalty.scoring.scores import rfm
from loyalty.scoring.store import InvalidWrites, Rescoring
from tests.support.api import Api
from tests.support.scoring import NIGHTLY, OPERATOR, card, ingest_ok, opened, put_profile, save_model, scores_of, unique


@pytest.fixture(scope="module")
def customers(cloud: LocalCloud) -> list[str]:
    """24 customers with 0 to 7 card transactions each."""
    found = []
    for i in range(24):
        customer = unique("sn")
        put_profile(cloud, customer)
        ingest_ok(cloud, opened(customer), *[card(customer, 5_000 * (j + 1)) for j in range(i % 8)])
        found.append(customer)
    return found


@pytest.fixture(autouse=True)
def default_rfm(api: Api) -> Iterator[None]:
    yield
    save_model(api, "rfm", DEFAULT_MODELS["rfm"])  # the cut points the other tests score with


def run_progress(api: Api, run_id: str = "latest") -> dict[str, Any]:
    response = api.call("GET", f"/v1/admin/scoring/runs/{run_id}", **OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_new_day_supersedes_an_unfinished_run_and_a_run_never_rescores_as_of_a_day_gone(
        cloud: LocalCloud, api: Api, customers: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    store, now = service.default_store(), datetime.now(UTC)
    today = service.bank_today(now)
    before = {c: scores_of(api, c)["features"]["asOf"] for c in customers}
    # Given the run of two days ago, which failed on its first page
    monkeypatch.setattr(nightly, "score_page", lambda *args: (_ for _ in ()).throw(RuntimeError("the function died")))
    with pytest.raises(RuntimeError):
        nightly.start_or_resume(store, today - timedelta(days=2), now, lambda: 900.0)
    monkeypatch.undo()
    stuck = run_progress(api)
    assert stuck["runId"] == (today - timedelta(days=2)).isoformat() and stuck["status"] == "rescoring"
    # When another invocation holds the run's lease, a resume leaves it alone
    assert store.claim(stuck["runId"], iso_utc(now + timedelta(minutes=5)), iso_utc(now))
    assert nightly.start_or_resume(store, None, now, lambda: 900.0)["busy"] is True
    store.release(stuck["runId"])
    # When yesterday's run starts
    done = nightly.start_or_resume(store, today - timedelta(days=1), now, lambda: 900.0)
    # Then the stuck run is superseded, and yesterday's ran to the end
    assert run_progress(api, stuck["runId"])["status"] == "superseded" and done["status"] == "done"
    # And the customers, scored today by their events, were not re-scored as of yesterday
    assert {c: scores_of(api, c)["features"]["asOf"] for c in customers} == before


def rescoring_of(customer: str, **writes: Any) -> Rescoring:
    """A first scoring of the customer (a STATE with empty features), with these writes too."""
    at = iso_utc(datetime.now(UTC))
    return Rescoring(customer, 0, {"features": FeatureState().model_dump_json(), "scoredAt": at}, True, "potential", [], {}, at, **writes)


def test_a_customer_whose_writes_are_invalid_is_left_out_and_the_rest_are_written(cloud: LocalCloud) -> None:
    # Given a page's writes for three customers: one valid; one DynamoDB refuses as invalid (it enters
    # and leaves one segment: two operations on one item of a transaction); one with more writes than
    # a transaction may hold
    good, bad, big = unique("wg"), unique("wg"), unique("wg")
    for customer in (good, bad, big):
        put_profile(cloud, customer)
    writes = [rescoring_of(good), rescoring_of(bad, entered=["seg-x"], left=["seg-x"]),
              rescoring_of(big, entered=[f"seg-{i}" for i in range(101)])]
    with pytest.raises(InvalidWrites):
        service.default_store().commit(writes[1:2])
    # When they are written together
    written = nightly.write_groups(service.default_store(), writes)
    # Then the valid one is, and the invalid ones are left out rather than stopping the run
    assert written == 1
    stored = [customer for customer in (good, bad, big)
              if "Item" in cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item(state_key(customer)))]
    assert stored == [good]


def test_a_failed_run_resumes_from_its_checkpoints(cloud: LocalCloud, api: Api, customers: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a run over 2 scan segments, 3 customers a page, that fails on its fourth page
    small = Settings(scoring_scan_segments=2, scoring_page_size=3)
    monkeypatch.setattr(nightly, "get_settings", lambda: small)
    calls = {"n": 0}
    score_page = nightly.score_page

    def failing(*args: Any) -> tuple[int, int]:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("the function died")
        return score_page(*args)

    monkeypatch.setattr(nightly, "score_page", failing)
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        nightly.start_or_resume(service.default_store(), service.bank_today(now), now, lambda: 900.0)
    # Then the run is unfinished, part of it done
    halfway = run_progress(api)
    assert halfway["status"] == "rescoring" and 0 < halfway["processed"] < halfway["customers"]
    assert halfway["customers"] >= len(customers) and halfway["rfmVersion"] >= 1
    # When the resume schedule fires (the function itself, with its own settings)
    monkeypatch.undo()
    result = cloud.registry.invoke(cloud.topology.function(NIGHTLY), {"schedule": "scoring-nightly-resume"})
    # Then the run is done, every customer counted once (nothing scanned twice), all written
    done = run_progress(api)
    assert result["status"] == "done" and done["status"] == "done" and done["segmentsDone"] == 2
    assert done["processed"] == done["customers"] == done["written"] + done["unchanged"] + done["skipped"]
    # And every customer's RFM scores are those of the recomputed cut points
    cut = RfmModel.model_validate(done["cutPoints"])
    for customer in customers:
        scored = scores_of(api, customer)
        found = scored["features"]
        expected = rfm(CustomerFeatures(**{k: v for k, v in found.items() if k != "asOf"}), cut)
        assert (scored["scores"]["rfmRecency"], scored["scores"]["rfmFrequency"], scored["scores"]["rfmMonetary"]) == expected


def test_the_schedule_again_for_a_finished_day_does_nothing(cloud: LocalCloud, api: Api, customers: list[str]) -> None:
    # Given the day's run (started or finished)
    function = cloud.topology.function(NIGHTLY)
    first = cloud.registry.invoke(function, {"schedule": "scoring-nightly"})
    assert first["status"] == "done"
    # When the schedule fires again the same day (Scheduler delivers at least once)
    again = cloud.registry.invoke(function, {"schedule": "scoring-nightly"})
    # Then it is the same run, not a second one
    assert again["runId"] == first["runId"] and again["processed"] == first["processed"]
    assert run_progress(api, first["runId"])["status"] == "done"
    assert api.call("GET", "/v1/admin/scoring/runs/1999-01-01", **OPERATOR).status_code == 404
