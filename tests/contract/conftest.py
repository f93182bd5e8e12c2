"""The API contract: the generated OpenAPI document, and the running system (`make run`) held to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import RunningSystem, running_system


@pytest.fixture(scope="session")
def system() -> Iterator[RunningSystem]:
    with running_system() as running:
        yield running


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    from infra.openapi import generate

    return generate()
