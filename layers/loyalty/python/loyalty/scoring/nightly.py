"""The nightly re-scoring of everybody: a run per business date, in two passes over the STATE items.

1. Cut points: a parallel scan reads every customer's RFM features as of the run's date, and
   `batch.rfm_cut_points` recomputes the quintiles; they are saved as a new version of the `rfm`
   model (by `nightly:<run>`) and put in force. This pass only reads; interrupted, it is redone.
2. Re-scoring: each scan segment, on its own thread, reads a page of customers, scores the page with
   the vectorised batch, and writes it in transactions of whole customers, each conditioned on the
   state version it read (an event that re-scored a customer meanwhile wins: that customer is
   skipped, already scored with the new cut points). After each page the segment's checkpoint (the
   scan key to go on from) is saved, so a failed or timed-out run resumes where it stopped; a page
   redone writes the same scores again and announces nothing.

One invocation works on a run at a time (a lease on the run, released at the end and running out
with the invocation's time if it dies). A new business date supersedes a run that has not finished:
the new run scores everybody anyway, and the old one would score them as of a day gone. A customer
an event scored as of a later day than the run's is left as it is. A customer whose writes DynamoDB
refuses as invalid is logged and left for the next night, never retried for ever.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from loyalty.core.clock import iso_utc
from loyalty.core.config import get_settings
from loyalty.core.observability import logger
from loyalty.scoring import batch, features, identities, service
from loyalty.scoring.assess import Outcome, outcome_of, value_segment
from loyalty.scoring.features import FeatureState
from loyalty.scoring.models import STAGES
from loyalty.scoring.scores import Scores
from loyalty.scoring.segments import Facts
from loyalty.scoring.store import (
    MAX_TRANSACTION_ITEMS,
    AlreadyApplied,
    InvalidWrites,
    Rescoring,
    RunStore,
    ScoringStore,
    StaleState,
    UnknownCustomer,
)

MAX_LEASE_SECONDS = 900  # a Lambda's longest run


def start_or_resume(store: ScoringStore, run_date: date | None, now: datetime, time_left: Callable[[], float]) -> dict[str, Any]:
    """Starts the run of `run_date` (None: only resume an unfinished one), then works until it is done
    or `time_left()` (seconds) runs low. The progress record."""
    latest = store.latest_run()
    run = store.run(latest["runId"]) if latest else None
    if run_date is not None and (run is None or run["runId"] < run_date.isoformat()):
        if run is not None and run["status"] != "done":
            logger.warning("scoring run superseded before it finished", extra={"runId": run["runId"], "by": run_date.isoformat()})
            store.put_run({**run, "status": "superseded", "supersededBy": run_date.isoformat(), "finishedAt": iso_utc(now)})
        segments = get_settings().scoring_scan_segments
        run = {"runId": run_date.isoformat(), "asOf": run_date.isoformat(), "status": "cuts", "totalSegments": segments, "startedAt": iso_utc(now)}
        store.put_run(run)
        store.put_latest_run(run["runId"], int((latest or {}).get("customers", 0)))
    if run is None or run["status"] in ("done", "superseded"):
        return progress(store, run["runId"]) if run else {"status": "none"}
    until = now + timedelta(seconds=min(time_left(), MAX_LEASE_SECONDS))
    if not store.claim(run["runId"], iso_utc(until), iso_utc(now)):
        return {**progress(store, run["runId"]), "busy": True}  # another invocation is on it
    try:
        if run["status"] == "cuts":
            run = cut_points(store, run, now)
        rescore_all(store, run, now, time_left)
    finally:
        store.release(run["runId"])
    return progress(store, run["runId"])


def _parallel(store: ScoringStore, run: dict[str, Any], work: Callable[[int], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=int(run["totalSegments"])) as pool:
        return list(pool.map(work, range(int(run["totalSegments"]))))


def cut_points(store: ScoringStore, run: dict[str, Any], now: datetime) -> dict[str, Any]:
    models, _ = service.active_models(store)
    days, as_of = models.rfm.windowDays, date.fromisoformat(run["asOf"])
    page_size = get_settings().scoring_page_size

    def read(segment: int) -> list[tuple[int, int, int]]:
        values, start = [], None
        while True:
            page, start = store.states_page(segment, int(run["totalSegments"]), start, page_size)
            for record in page:
                state = FeatureState.model_validate_json(record["features"])
                w = features.window(state, max(as_of, state.latestDay or as_of), days)
                values.append((w.recency(*features.TRANSACTION_KINDS), w.count(*features.TRANSACTION_KINDS), w.amount(*features.TRANSACTION_KINDS)))
            if start is None:
                return values

    rows = [row for part in _parallel(store, run, read) for row in part]
    run = {**run, "status": "rescoring", "customers": len(rows)}
    if rows:
        columns = np.array(rows, dtype=np.int64)
        rfm = batch.rfm_cut_points({f"recency{days}": columns[:, 0], f"frequency{days}": columns[:, 1], f"monetary{days}Minor": columns[:, 2]}, days)
        from loyalty.scoring import admin

        # A new version only when the cut points moved: a version per night that changes nothing
        # would make every customer's scores look re-scored.
        saved = admin.model_view(store, "rfm")
        if saved["config"] != json.loads(rfm.model_dump_json()):
            saved = admin.save_model(store, "rfm", rfm.model_dump(), f"nightly:{run['runId']}", iso_utc(now))
        run.update({"rfmVersion": saved["version"], "cutPoints": json.dumps(saved["config"])})
    store.put_run(run)
    store.put_latest_run(run["runId"], len(rows))
    return run


def rescore_all(store: ScoringStore, run: dict[str, Any], now: datetime, time_left: Callable[[], float]) -> None:
    def work(segment: int) -> bool:
        return rescore_segment(store, run, segment, now, time_left)

    if all(_parallel(store, run, work)):
        store.put_run({**run, "status": "done", "finishedAt": iso_utc(now)})


def rescore_segment(store: ScoringStore, run: dict[str, Any], segment: int, now: datetime, time_left: Callable[[], float]) -> bool:
    """True once the segment is done; False when time ran low (the checkpoint says where to go on)."""
    checkpoint = store.checkpoint(run["runId"], segment) or {"segment": segment, "done": False, "scanned": 0, "written": 0, "skipped": 0}
    models, versions = service.active_models(store)
    segments = service.active_segments(store)
    as_of = date.fromisoformat(run["asOf"])
    while not checkpoint["done"]:
        if time_left() < get_settings().scoring_stop_seconds:
            return False
        start = json.loads(checkpoint["lastKey"]) if checkpoint.get("lastKey") else None
        page, last = store.states_page(segment, int(run["totalSegments"]), start, get_settings().scoring_page_size)
        written, unchanged_ = score_page(store, page, models, versions, segments, as_of, now)
        # skipped: no profile, or changed by an event meanwhile (that event scored it)
        checkpoint.update({"scanned": checkpoint["scanned"] + len(page), "written": checkpoint["written"] + written,
                           "unchanged": checkpoint.get("unchanged", 0) + unchanged_,
                           "skipped": checkpoint["skipped"] + len(page) - written - unchanged_,
                           "lastKey": json.dumps(last) if last else None, "done": last is None})
        store.put_checkpoint(run["runId"], checkpoint)
    return True


def score_page(store: ScoringStore, page: list[dict[str, Any]], models: Any, versions: dict[str, int], segments: list[Any],
               as_of: date, now: datetime) -> tuple[int, int]:
    if not page:
        return 0, 0
    profiles = store.profiles([r["customerId"] for r in page])
    known = [r for r in page if r["customerId"] in profiles and not profiles[r["customerId"]].erased]
    states = [FeatureState.model_validate_json(r["features"]) for r in known]
    facts = [Facts.of_profile(service.facts_of(profiles[r["customerId"]])) for r in known]
    # Every customer's shared-identity count is taken again: others joined or left (erasure) their
    # hashes since. One Query per hash, for the customers who have any.
    shared = identities.shared_accounts_of_many(store, [(r["customerId"], list(r.get("identities") or {})) for r in known])
    rows = [features.snapshot(s, max(as_of, s.latestDay or as_of), shared[i]) for i, s in enumerate(states)]
    names = list(models.value.segments)
    codes = np.array([names.index(value_segment(models.value, f)) for f in facts], dtype=np.int64)
    scored = batch.score_batch(batch.columns_of(rows), codes, names, models) if rows else None
    groups: list[Rescoring] = []
    for i, record in enumerate(known):
        assert scored is not None
        outcome: Outcome = outcome_of(_row(scored, i), facts[i], segments)
        if unchanged(record, outcome, facts[i], shared[i]) or str(record.get("asOf") or "") > as_of.isoformat():
            continue  # nothing to write; or an event scored them as of a later day than this run's
        sets = {"asOf": max(as_of, states[i].latestDay or as_of).isoformat(), "sharedAccounts": shared[i]}
        groups.append(service.rescoring(record["customerId"], record, outcome, facts[i], versions, now, "nightly", sets))
    return write_groups(store, groups), len(known) - len(groups)


def unchanged(record: dict[str, Any], outcome: Outcome, facts: Facts, shared_accounts: int = 0) -> bool:
    """Nothing to write: the same scores, stage, segments, facts and shared-identity count as stored
    (a customer whose windows saturated, or who did nothing that moves a score). Their
    `modelVersions` stay those of the scoring that last changed something."""
    from loyalty.scoring.admin import plain

    stored_facts = {k: v for k, v in facts.as_record().items() if v is not None}
    return (plain(record.get("scores")) == outcome.scores and record.get("stage") == outcome.stage and record.get("gated") == outcome.gated
            and (record.get("segments") or []) == outcome.segments and plain(record.get("facts") or {}) == stored_facts
            and int(record.get("sharedAccounts", 0)) == shared_accounts)


def _row(b: batch.BatchScores, i: int) -> Scores:
    return Scores(recency=int(b.recency[i]), frequency=int(b.frequency[i]), monetary=int(b.monetary[i]), value=float(b.value[i]),
                  stage=STAGES[int(b.stage[i])], churnRiskBps=int(b.churnRiskBps[i]), abuseRisk=float(b.abuseRisk[i]),
                  abuseGated=bool(b.abuseGated[i]))


def write_groups(store: ScoringStore, groups: list[Rescoring]) -> int:
    """Whole customers per transaction (≤ 100 items). A customer refused (changed meanwhile, or the
    profile gone) is left out and the rest of its transaction written again. The number written."""
    written, size = 0, 0
    chunk: list[Rescoring] = []
    for group in [*groups, None]:
        if chunk and (group is None or size + group.items > MAX_TRANSACTION_ITEMS):
            written += _commit_dropping_refused(store, chunk)
            chunk, size = [], 0
        if group is not None:
            chunk.append(group)
            size += group.items
    return written


def _commit_dropping_refused(store: ScoringStore, chunk: list[Rescoring]) -> int:
    try:
        store.commit(chunk)
        return len(chunk)
    except (StaleState, UnknownCustomer, AlreadyApplied):
        # Which customer was refused is not worth a lookup: each alone once, the refused stay out.
        if len(chunk) == 1:
            return 0
        return sum(_commit_dropping_refused(store, [group]) for group in chunk)
    except InvalidWrites:
        # Not the table or the network (those stop the run, which resumes from its checkpoint).
        if len(chunk) > 1:
            return sum(_commit_dropping_refused(store, [group]) for group in chunk)
        logger.exception("nightly re-scoring of a customer refused as invalid; left for the next run",
                         extra={"customerId": chunk[0].customer_id})
        return 0


def progress(store: RunStore, run_id: str) -> dict[str, Any]:
    run = store.run(run_id)
    if run is None:
        from loyalty.core.errors import NotFound

        raise NotFound(f"no scoring run {run_id}", code="RUN_NOT_FOUND")
    scans = store.checkpoints(run_id)
    processed = sum(int(s["scanned"]) for s in scans)
    customers = int(run.get("customers", 0))
    return {"runId": run_id, "status": run["status"], "asOf": run["asOf"], "startedAt": run["startedAt"], "finishedAt": run.get("finishedAt"),
            "customers": customers, "processed": processed, "written": sum(int(s["written"]) for s in scans),
            "skipped": sum(int(s["skipped"]) for s in scans), "unchanged": sum(int(s.get("unchanged", 0)) for s in scans), "segmentsDone": sum(1 for s in scans if s["done"]),
            "totalSegments": int(run["totalSegments"]), "rfmVersion": run.get("rfmVersion"),
            "cutPoints": json.loads(run["cutPoints"]) if run.get("cutPoints") else None}


def log_progress(result: dict[str, Any]) -> None:
    logger.info("scoring run", extra={k: v for k, v in result.items() if k != "cutPoints"})



def progress_of(store: RunStore, run_id: str) -> dict[str, Any]:
    """A run's progress; `latest` names the newest run."""
    if run_id == "latest":
        latest = store.latest_run()
        if latest is None:
            from loyalty.core.errors import NotFound

            raise NotFound("no scoring run yet", code="RUN_NOT_FOUND")
        run_id = latest["runId"]
    return progress(store, run_id)
