"""Synthesize the CDK app once per test session; every infra test reads that one template.

Synthesis is local only: no Docker, no downloads, no AWS credentials. It takes ~15 s, hence the
session scope. A second, small synthesis covers code paths the real topology does not use yet
(schedules, indexes, event publishing, queue senders) and the prod settings. A third has the API
trust a bank's own identity provider (context `identityProvider`) instead of Cognito. A fourth has
an account and region, so it adds the operator console's stacks (and builds console/dist if stale).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.pop("CDK_DEFAULT_ACCOUNT", None)  # keep the synthesized stack environment-agnostic
os.environ.pop("CDK_DEFAULT_REGION", None)

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # pyproject's pytest `pythonpath` does this too
    sys.path.insert(0, str(REPO_ROOT))

import pytest  # noqa: E402

from infra.local.console_build import ensure_built  # noqa: E402
from infra.stacks import SourceLayout  # noqa: E402
from tests.infra.infra_support import ALARM_EMAIL, BANK_IDP, CONSOLE_ENV, SMALL_TOPOLOGY, Synthesized, synthesize  # noqa: E402


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The real app, as `make deploy ENV=dev` synthesizes it."""
    return synthesize(tmp_path_factory.mktemp("cdk-dev"), {"env": "dev"})


@pytest.fixture(scope="session")
def small_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceLayout]:
    root = tmp_path_factory.mktemp("small-src")
    (root / "functions" / "ledger" / "__pycache__").mkdir(parents=True)
    (root / "functions" / "ledger" / "statements.py").write_text("def handler(event, context): ...\n")
    (root / "functions" / "ledger" / "__pycache__" / "statements.cpython-314.pyc").write_bytes(b"junk")
    (root / "layers" / "loyalty" / "python" / "loyalty").mkdir(parents=True)
    (root / "layers" / "loyalty" / "python" / "loyalty" / "__init__.py").write_text("")
    # no build/dependency-layer: synthesis must create it
    yield SourceLayout(root=root)


@pytest.fixture(scope="session")
def small_synth(tmp_path_factory: pytest.TempPathFactory, small_source: SourceLayout) -> Synthesized:
    """SMALL_TOPOLOGY in prod, with an alarm subscriber, from a throw-away source tree."""
    return synthesize(
        tmp_path_factory.mktemp("cdk-small"),
        {"env": "prod", "bankTimeZone": "Asia/Hong_Kong", "alarmEmail": ALARM_EMAIL},
        topology=SMALL_TOPOLOGY,
        source=small_source,
    )


@pytest.fixture(scope="session")
def idp_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The real app in staging, its API trusting the bank's identity provider (a Lambda TOKEN
    authorizer) instead of the Cognito user pool."""
    return synthesize(tmp_path_factory.mktemp("cdk-idp"), {"env": "staging", "identityProvider": json.dumps(BANK_IDP)})


@pytest.fixture(scope="session")
def console_synth(tmp_path_factory: pytest.TempPathFactory, small_source: SourceLayout) -> Synthesized:
    """SMALL_TOPOLOGY in staging with an account and region: loyalty-staging plus the operator
    console (loyalty-staging-console, and loyalty-staging-console-edge in us-east-1)."""
    ensure_built()  # the deployment stages console/dist; builds only when a source is newer
    return synthesize(
        tmp_path_factory.mktemp("cdk-console"), {"env": "staging"}, topology=SMALL_TOPOLOGY, source=small_source, env=CONSOLE_ENV
    )
