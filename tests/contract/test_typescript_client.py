"""The TypeScript client the operator console uses (console/): generated from docs/openapi.json,
type-checked, and one scripted flow per capability run through it against `make run`, every
answer it receives held to the document."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from infra.local.tokens import issue
from infra.openapi import DOCUMENT_PATH
from tests.e2e.conftest import RunningSystem

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
SCHEMA = CONSOLE / "src" / "api" / "schema.d.ts"
FLOWS = ["customers", "coupons", "points", "campaigns", "scoring", "privacy and audit"]
CUSTOMER = "c-001"  # seeded by the demo bank


def npm(*args: str, timeout_s: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", "--prefix", "console", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def console() -> Path:
    """console/ with its dependencies installed as package-lock.json pins them (the Makefile does the same)."""
    if shutil.which("npm") is None:
        pytest.fail("npm is not on PATH: the console needs Node 20+ and npm")
    installed = CONSOLE / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (CONSOLE / "package-lock.json").stat().st_mtime:
        result = npm("ci", "--no-audit", "--no-fund", timeout_s=600)
        assert result.returncode == 0, f"npm ci --prefix console failed:\n{output(result)}"
    return CONSOLE


def test_the_committed_client_schema_is_generated_from_the_committed_document(console: Path, tmp_path: Path) -> None:
    # Given the `generate` script of console/package.json, writing into a temporary file instead
    script = shlex.split(json.loads((console / "package.json").read_text(encoding="utf-8"))["scripts"]["generate"])
    command = [tmp_path / "schema.d.ts" if previous == "-o" else arg for previous, arg in zip(["", *script[:-1]], script, strict=True)]
    assert tmp_path / "schema.d.ts" in command, f"the generate script names no output (-o): {script}"
    # When it runs on docs/openapi.json as committed
    env = {**os.environ, "PATH": f"{console / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([str(arg) for arg in command], cwd=console, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, output(result)
    # Then the committed schema.d.ts is exactly what it writes
    assert SCHEMA.read_text(encoding="utf-8") == (tmp_path / "schema.d.ts").read_text(encoding="utf-8"), (
        "console/src/api/schema.d.ts is stale: run `npm --prefix console run generate` (after `make openapi`)"
    )


def test_the_client_and_its_flows_type_check(console: Path) -> None:
    # Given the client and the flows, when tsc checks them against the generated schema, then it finds nothing
    result = npm("run", "typecheck", timeout_s=180)
    assert result.returncode == 0, output(result)


def test_one_flow_per_capability_runs_through_the_client_twice(console: Path, system: RunningSystem, tmp_path: Path) -> None:
    # Given the flows built, an operator, an approver (another employee) and a demo customer's tokens
    built = npm("run", "flows:build", timeout_s=180)
    assert built.returncode == 0, output(built)
    env = {
        **os.environ,
        "API_URL": system.api.base_url,
        "OPERATOR_TOKEN": issue("op-console-maker", ["operators"], org_unit="hq"),
        "APPROVER_TOKEN": issue("op-console-checker", ["operators", "approvers"], org_unit="hq"),
        "CUSTOMER_TOKEN": issue(CUSTOMER),
        "CUSTOMER_ID": CUSTOMER,
    }
    record = tmp_path / "answers.jsonl"
    # When they run, and run again on the same system (each run makes its own ids)
    for attempt, extra in enumerate([{"FLOWS_RECORD": str(record)}, {}], start=1):
        ran = npm("run", "flows", env={**env, **extra}, timeout_s=180)
        # Then every flow passes, one line each
        assert ran.returncode == 0, f"run {attempt}: {output(ran)}"
        passed = [line.split(maxsplit=1)[1] for line in ran.stdout.splitlines() if line.startswith("ok ")]
        assert [name for name in FLOWS if not any(line.startswith(name + " ") for line in passed)] == [], ran.stdout
    # And every answer the client received is one the document describes
    answers = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(answers) >= 30, answers
    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    problems = [problem for answer in answers for problem in conformance(document, answer)]
    assert problems == [], "\n".join(problems)


def conformance(document: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    """What in one answer ({method, path, status, body}) the document does not describe."""
    where = f"{answer['method'].upper()} {answer['path']} → {answer['status']}"
    responses = document["paths"][answer["path"]][answer["method"]]["responses"]
    response = responses.get(str(answer["status"]))
    if response is None:
        return [f"{where}: undocumented status (documented: {sorted(responses)}): {answer['body']}"]
    media = response["content"]["application/json"]
    schema = {**media["schema"], "components": document["components"]}  # so that its $refs resolve
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(answer["body"])]
    if not problems and answer["status"] >= 400 and answer["body"]["error"]["code"] not in media.get("examples", {}):
        problems.append(f"{where}: undocumented code {answer['body']['error']['code']} (documented: {sorted(media.get('examples', {}))})")
    return problems
