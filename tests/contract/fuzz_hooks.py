"""Schemathesis hooks for the contract run (`SCHEMATHESIS_HOOKS=tests.contract.fuzz_hooks`).

A generated mutating call that is meant to be valid gets a fresh Idempotency-Key, as a client
sends one per new request: otherwise two generated bodies would often share a short key ("0") and
the second would be, rightly, 422 IDEMPOTENCY_KEY_REUSED. A call meant to be invalid keeps what
was generated (a missing, empty or malformed key must be refused).
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

KEY = "idempotency-key"


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    headers = case.headers or {}
    names = [name for name in headers if name.lower() == KEY]
    component = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if names and (component is None or component.mode == GenerationMode.POSITIVE):
        for name in names:
            headers[name] = str(uuid.uuid4())
