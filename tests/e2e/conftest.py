"""e2e: start `python -m infra.local run` (what `make run` runs) and drive it as a client would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import pytest
import requests

from tests.support.api import Api, eventually, free_port
from tests.support.org import ensure_head_office


@dataclass
class RunningSystem:
    process: subprocess.Popen[str]
    api: Api
    aws_endpoint: str
    log: Output

    def output(self) -> str:
        """What the system printed so far (its last 1 MB)."""
        return self.log.text()


class Output:
    """Reads the system's output as it comes: a pipe nobody reads fills up (64 KB) and then blocks
    the system on its next log line, which under a fuzzing run looks like a hang."""

    LIMIT = 1 << 20

    def __init__(self, stream: IO[str]):
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(stream,), name="system-output", daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[str]) -> None:
        for line in stream:
            with self._lock:
                self._chunks.append(line)
                if sum(len(c) for c in self._chunks) > 2 * self.LIMIT:
                    self._chunks = [self.text_unlocked()[-self.LIMIT:]]

    def text_unlocked(self) -> str:
        return "".join(self._chunks)

    def text(self) -> str:
        with self._lock:
            return self.text_unlocked()

    def wait_closed(self, timeout_s: float = 10) -> str:
        self._thread.join(timeout_s)
        return self.text()


@contextmanager
def running_system(*, args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Iterator[RunningSystem]:
    """The whole local system on free ports; stopped with Ctrl-C (SIGINT) on the way out. `args` go
    after `run` (e.g. `--demo seed`), `env` on top of this process's environment."""
    api_port, aws_port = free_port(), free_port()
    full_env = {**os.environ, **(env or {}), "LOCAL_API_PORT": str(api_port), "LOCAL_EMULATOR_PORT": str(aws_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "run", *args], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{api_port}"
    assert process.stdout is not None
    log = Output(process.stdout)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the local cloud exited early:\n{log.wait_closed()}")
        try:
            return requests.get(f"{base}/_local/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        eventually(healthy, timeout_s=60, interval_s=0.2)
        api = Api(base)
        # Every operator route is scoped to an org unit: the head office (hq) is there before any test
        # (`run` creates it already; this is a no-op then, and tolerates the demo seeding's own).
        ensure_head_office(api)
        yield RunningSystem(process, api, f"http://127.0.0.1:{aws_port}", log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)


@pytest.fixture(scope="session")
def system() -> Iterator[RunningSystem]:
    with running_system() as running:
        yield running
