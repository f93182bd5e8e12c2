"""Cold start: how long importing each handler module takes in a fresh interpreter, against boto3.

Each measurement is a new `python -c` process timing one `import` with `time.perf_counter`, so it
covers everything the module imports at top level and nothing of the interpreter's own start-up.
The environment is the one CDK gives the function in Lambda (Powertools service and namespace, log
level, table names, `LAMBDA_TASK_ROOT`, so Powertools' tracer is on, as `Tracing.ACTIVE` makes it),
built from scratch so the caller's shell does not leak in. Runs are interleaved, so drift in the
machine's speed affects every row alike, and one discarded run per row first warms the page cache
and writes the bytecode caches.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.stats import median
from bench.table import Column, Table
from infra.topology import DEFAULT_BANK_TIME_ZONE, LAMBDA_PYTHON_VERSION, TOPOLOGY, Function, table_env

RUNS = 5
GOAL_RATIO = 1.5
ROOT = Path(__file__).resolve().parents[2]
METRICS_NAMESPACE = "Loyalty"  # infra/stacks/compute.py: METRICS_NAMESPACE
REGION = "us-east-1"


@dataclass(frozen=True)
class Probe:
    label: str
    statement: str  # Python code whose duration is measured
    env: dict[str, str]
    goal: bool  # whether the ≤ 1.5x boto3 goal applies to this row


def lambda_environment(function: Function | None) -> dict[str, str]:
    """What a Lambda process sees: the runtime's variables plus those CDK sets on the function."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'loyalty' / 'python'}",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON_VERSION}",
        "BANK_TIME_ZONE": DEFAULT_BANK_TIME_ZONE,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": "INFO",
    }
    if function is not None:
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
                "_HANDLER": function.handler,
                "POWERTOOLS_SERVICE_NAME": function.capability,
            }
        )
        env.update({table_env(t): t for t in function.tables})
    else:
        env["POWERTOOLS_SERVICE_NAME"] = "bench"
    return env


def probes() -> list[Probe]:
    baseline = lambda_environment(None)
    rows = [Probe(f.import_path, f"import {f.import_path}", lambda_environment(f), goal=True) for f in TOPOLOGY.functions]
    return [
        Probe("boto3 (baseline)", "import boto3", baseline, goal=False),
        *rows,
        Probe(
            'context: boto3 + boto3.client("dynamodb")',
            'import boto3; boto3.client("dynamodb", region_name="us-east-1")',
            baseline,
            goal=False,
        ),
    ]


def measure_once(probe: Probe) -> float:
    """Milliseconds the statement took in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); {probe.statement}; print(time.perf_counter() - t)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=probe.env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{probe.label}: the import failed:\n{result.stderr.strip()}")
    return float(result.stdout.strip().splitlines()[-1]) * 1000


def heaviest_packages(probe: Probe, top: int = 8) -> str:
    """Where the import time goes: `-X importtime` self times, summed per top-level package (stdlib included)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe.statement],
        env=probe.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    by_package: dict[str, int] = {}
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        package = parts[2].strip().split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(parts[0])
    heaviest = sorted(by_package.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in heaviest)


def run() -> Table:
    all_probes = probes()
    for probe in all_probes:  # warm-up: page cache and .pyc files; not counted
        measure_once(probe)
    samples: dict[str, list[float]] = {p.label: [] for p in all_probes}
    for _ in range(RUNS):
        for probe in all_probes:
            samples[probe.label].append(measure_once(probe))
    boto3_ms = median(samples[all_probes[0].label])

    table = Table(
        f"Cold start: import time in a fresh interpreter, median of {RUNS} runs",
        [
            Column("module"),
            Column("median", "ms", ".1f"),
            Column("min", "ms", ".1f"),
            Column("max", "ms", ".1f"),
            Column("ratio to boto3", "x", ".2f"),
            Column(f"goal ≤ {GOAL_RATIO}x met"),
        ],
    )
    for probe in all_probes:
        values = samples[probe.label]
        ratio = median(values) / boto3_ms
        goal: str | bool = (ratio <= GOAL_RATIO) if probe.goal else "n/a"
        table.add(probe.label, median(values), min(values), max(values), ratio, goal)
    table.notes += [
        "the time of the import statement only, interpreter start-up excluded; the module's own top-level imports included",
        "environment as in Lambda: CDK's variables, and LAMBDA_TASK_ROOT, so Powertools' tracer is enabled as Tracing.ACTIVE makes it",
        f"this machine runs Python {sys.version.split()[0]}; Lambda runs Python {LAMBDA_PYTHON_VERSION} on arm64",
        "the context row is not a goal: it is what a handler pays on its first AWS call, when boto3 is imported lazily",
    ]
    if TOPOLOGY.functions:
        first = all_probes[1]
        table.notes.append(
            f"heaviest packages under {first.label} (self time per top-level package, one -X importtime run): "
            + heaviest_packages(first)
        )
    return table
