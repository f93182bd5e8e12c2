"""Nightly batch scoring compute, no AWS: `CUSTOMERS` synthetic customers as NumPy columns, scored in one
vectorised pass (`loyalty.scoring.batch`) against the per-row loop (`scores.score`) on a sample, in the
same run and the same process.

Everything runs in a child process (`python -m bench.sections.scoring`), so its max RSS is the batch's
alone: the interpreter, NumPy, the synthetic columns and the scoring. The configuration is the example
of docs/scoring.md, with the RFM cut points recomputed from the synthetic customers, as the nightly
batch does. Untimed afterwards: the vectorised scores of the sample compared with the per-row ones,
and tracemalloc's peak during one more vectorised pass (NumPy reports its buffers to tracemalloc).
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from bench.table import Column, Table

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = int(os.environ.get("SCORING_CUSTOMERS", 1_000_000))
ROW_SAMPLE = int(os.environ.get("SCORING_ROW_SAMPLE", 20_000))  # every (CUSTOMERS // ROW_SAMPLE)-th customer
REPEATS = 3  # vectorised passes; the median is reported
SEGMENTS = ("mass", "affluent", "payroll")  # payroll has no weights of its own in the example: the default's
SEGMENT_SHARES = (0.80, 0.15, 0.05)
MANAGERS = 2_000
SEED = 20_261_123
GOAL_SECONDS, GOAL_MB = 10.0, 2_048


def synthetic(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Plausible, mutually consistent features: 10% without a product, 30% without a transaction in a year."""
    products = np.where(rng.random(n) < 0.1, 0, rng.integers(1, 7, n))
    recency365 = np.where(rng.random(n) < 0.3, 365, np.minimum(rng.geometric(1 / 30, n) - 1, 364))
    frequency365 = np.where(recency365 < 365, 1 + rng.poisson(rng.gamma(2.0, 15.0, n)), 0)
    frequency90 = np.where(recency365 < 90, np.maximum(rng.binomial(frequency365, 90 / 365), 1), 0)
    frequency30 = np.where(recency365 < 30, np.maximum(rng.binomial(frequency90, 30 / 90), 1), 0)
    ticket = rng.lognormal(9.5, 1.0, n)  # ~130 yuan a transaction, in fen
    claims30 = rng.poisson(0.5, n) + np.where(rng.random(n) < 0.01, rng.integers(5, 40, n), 0)
    offers = rng.integers(0, 12, n)
    return {
        "recency30": np.minimum(recency365, 30), "frequency30": frequency30, "monetary30Minor": (frequency30 * ticket).astype(np.int64),
        "recency90": np.minimum(recency365, 90), "frequency90": frequency90, "monetary90Minor": (frequency90 * ticket).astype(np.int64),
        "recency365": recency365, "frequency365": frequency365, "monetary365Minor": (frequency365 * ticket).astype(np.int64),
        "logins30": rng.poisson(4.0, n), "daysSinceLastLogin": np.minimum(rng.geometric(1 / 20, n) - 1, 365),
        "couponClaims7": rng.binomial(claims30, 7 / 30), "couponClaims30": claims30,
        "couponRedemptions90": rng.poisson(0.8, n), "pointsEvents90": rng.poisson(6.0, n),
        "campaignResponseRate": np.where(offers > 0, rng.binomial(offers, 0.15) / np.maximum(offers, 1), 0.0),
        "aumMinor": np.where(products > 0, rng.lognormal(15.0, 1.5, n), 0).astype(np.int64), "aumTrend": rng.normal(0.0, 0.05, n),
        "productsHeld": products, "daysSinceOnboarding": np.where(products > 0, rng.integers(0, 3_650, n), 0),
        "sharedIdentityAccounts": np.where(rng.random(n) < 0.02, rng.integers(1, 8, n), 0),
    }  # fmt: skip


def example_models() -> dict[str, Any]:
    block = re.search(r"```json\n(.*?)\n```", (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8"), re.DOTALL)
    if block is None:
        raise RuntimeError("docs/scoring.md has no JSON example")
    data: dict[str, Any] = json.loads(block.group(1))
    return data


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def measure() -> dict[str, Any]:
    """In the child process: generate, time, compare, trace; the figures as a dict."""
    from loyalty.scoring.batch import rfm_cut_points, rollup_batch, score_batch, score_rows
    from loyalty.scoring.models import STAGES, ScoringModels
    from loyalty.scoring.scores import Scores

    out: dict[str, Any] = {"rss_imports_mb": maxrss_mb()}
    rng = np.random.default_rng(SEED)
    out["generate_s"], columns = timed(synthetic, rng, CUSTOMERS)
    segments = rng.choice(len(SEGMENTS), CUSTOMERS, p=SEGMENT_SHARES)
    managers = rng.integers(0, MANAGERS, CUSTOMERS)
    manager_names = [f"rm-{i:04d}" for i in range(MANAGERS)]
    out["rss_columns_mb"] = maxrss_mb()
    data = example_models()

    last: dict[str, Any] = {}

    def nightly() -> tuple[float, float, float]:
        last.clear()  # the previous pass's scores go first: the peak is one pass on top of the columns
        cuts_s, rfm = timed(rfm_cut_points, columns, data["rfm"]["windowDays"])
        last["models"] = ScoringModels.model_validate({**data, "rfm": rfm.model_dump()})
        score_s, last["batch"] = timed(score_batch, columns, segments, SEGMENTS, last["models"])
        rollup_s, _ = timed(rollup_batch, managers, manager_names, last["batch"].value)
        return cuts_s, score_s, rollup_s

    timings = [nightly() for _ in range(REPEATS)]
    for key, i in (("cuts_s", 0), ("score_s", 1), ("rollup_s", 2)):
        out[key] = statistics.median(t[i] for t in timings)
    batch, models = last.pop("batch"), last.pop("models")

    sample = range(0, CUSTOMERS, max(1, CUSTOMERS // ROW_SAMPLE))
    out["rows"] = len(sample)
    out["rows_s"], rows = timed(score_rows, columns, segments, SEGMENTS, models, sample)
    vectorised = [
        Scores(int(batch.recency[i]), int(batch.frequency[i]), int(batch.monetary[i]), float(batch.value[i]), STAGES[batch.stage[i]],
               int(batch.churnRiskBps[i]), float(batch.abuseRisk[i]), bool(batch.abuseGated[i]))
        for i in sample
    ]  # fmt: skip
    out["differing"] = sum(a != b for a, b in zip(vectorised, rows, strict=True))
    out["stages"] = {s: int(n) for s, n in zip(STAGES, np.bincount(batch.stage, minlength=len(STAGES)), strict=True)}
    out["gated"] = int(batch.abuseGated.sum())
    del batch, vectorised, rows

    tracemalloc.start()
    score_batch(columns, segments, SEGMENTS, models)
    out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out["columns_mb"] = sum(c.nbytes for c in columns.values()) / 2**20
    out["rss_end_mb"] = maxrss_mb()
    return out


def run() -> Table:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'loyalty' / 'python'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.sections.scoring"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the scoring process failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    m = json.loads(done.stdout.strip().splitlines()[-1])
    compute_s = m["cuts_s"] + m["score_s"] + m["rollup_s"]
    vector_rate, row_rate = CUSTOMERS / compute_s, m["rows"] / m["rows_s"]

    table = Table(
        f"scoring: nightly batch compute, {CUSTOMERS:,} synthetic customers (NumPy, one process)",
        [Column("measure"), Column("goal"), Column("vectorised"), Column("per-row loop")],
    )
    table.add("customers scored", "", f"{CUSTOMERS:,}", f"{m['rows']:,} (a sample)")
    table.add("compute: cut points + scores + RM roll-up (s)", f"< {GOAL_SECONDS:.0f}", f"{compute_s:.2f}",
              f"{CUSTOMERS / row_rate:.1f} (estimated for {CUSTOMERS:,})")  # fmt: skip
    table.add("  recompute RFM quintile cut points (s)", "", f"{m['cuts_s']:.3f}", "-")
    table.add("  all scores: RFM, value, stage, churn, abuse (s)", "", f"{m['score_s']:.3f}", f"{m['rows_s']:.2f}")
    table.add(f"  value roll-up per relationship manager ({MANAGERS:,}) (s)", "", f"{m['rollup_s']:.3f}", "-")
    table.add("customers per second", f"> {CUSTOMERS / GOAL_SECONDS:,.0f}", f"{vector_rate:,.0f}", f"{row_rate:,.0f}")
    table.add("vectorised / per-row (x)", "", f"{vector_rate / row_rate:,.0f}", "-")
    table.add("goal met: compute < 10 s and peak RSS < 2 GB", "yes",
              "yes" if compute_s < GOAL_SECONDS and m["rss_end_mb"] < GOAL_MB else "no", "-")  # fmt: skip
    table.add("peak RSS of the process (MB)", f"< {GOAL_MB:,}", f"{m['rss_end_mb']:,.0f}", "(same process)")
    table.add(
        "  max RSS after imports / after the columns (MB)", "", f"{m['rss_imports_mb']:,.0f} / {m['rss_columns_mb']:,.0f}", ""
    )
    table.add("  feature columns (MB)", "", f"{m['columns_mb']:,.0f}", "")
    table.add("  tracemalloc peak during one scoring pass (MB)", "", f"{m['traced_peak_mb']:,.0f}", "")
    table.add("sample customers scored differently", "0", f"{m['differing']} of {m['rows']:,}", "")
    table.notes += [
        f"{CUSTOMERS:,} customers of {len(SEGMENTS)} segments ({', '.join(SEGMENTS)}) and {MANAGERS:,} relationship "
        f"managers, seeded ({SEED}); {len(m['stages'])} stages: "
        + ", ".join(f"{s} {n:,}" for s, n in m["stages"].items())
        + f"; {m['gated']:,} at or above the abuse gate",
        "configuration: the example of docs/scoring.md; the RFM cut points recomputed from the customers in each pass",
        f"vectorised: median of {REPEATS} passes of loyalty.scoring.batch over one int64/float64 array per feature; "
        f"per-row: batch.score_rows (scores.score per customer, from plain Python numbers) on every "
        f"{max(1, CUSTOMERS // ROW_SAMPLE)}th customer, timed once",
        "memory: the whole run is a child process (python -m bench.sections.scoring); peak RSS is its ru_maxrss at the end "
        "(interpreter, NumPy, the synthetic columns and their generation, every pass); the tracemalloc peak is one more "
        "scoring pass traced alone (NumPy reports its buffers to tracemalloc): what scoring allocates on top of the columns",
        f"generating the columns took {m['generate_s']:.1f} s (not counted); SCORING_CUSTOMERS and SCORING_ROW_SAMPLE override the sizes",
    ]
    return table


if __name__ == "__main__":
    print(json.dumps(measure()))
