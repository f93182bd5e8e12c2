"""A function's handler in a Python process of its own, as a Lambda environment would run it.

The sections that measure a handler's memory run it in a child process: the bench process holds the
emulator (moto, and werkzeug's buffers), whose allocations must not count as the function's. The child
gets this process's environment (the local cloud's endpoint and the function variables it set), the
repository and the library layer on PYTHONPATH, and argv `import_path name memory_mb *extra`.

A section's script is appended to `PREAMBLE`, which gives it:

- `import_path`, `name`, `memory_mb` (from argv 1-3) and `argv` (the extra arguments);
- `load_handler()`: imports the function's module and returns its `handler`;
- `context(remaining_ms)`: a Lambda context object for `name`;
- `peak_rss_kb()`: the process's peak RSS (VmHWM: what Lambda reports as Max Memory Used).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from infra.topology import Function

ROOT = Path(__file__).resolve().parents[1]

PREAMBLE = """
import importlib, json, resource, sys, time, tracemalloc, uuid

import_path, name, memory_mb, argv = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

class Context:
    def __init__(self, remaining_ms):
        self.function_name, self.function_version, self.memory_limit_in_mb = name, "$LATEST", memory_mb
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name
        self.aws_request_id, self.log_group_name, self.log_stream_name = str(uuid.uuid4()), "/aws/lambda/" + name, "bench"
        self.remaining_ms = remaining_ms
    def get_remaining_time_in_millis(self):
        return self.remaining_ms

def context(remaining_ms=30000):
    return Context(remaining_ms)

def load_handler():
    return importlib.import_module(import_path).handler

def peak_rss_kb():
    # VmHWM starts afresh at exec; ru_maxrss may carry the parent's peak over the fork
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def environment() -> dict[str, str]:
    """This process's environment, with the repository and the library layer importable."""
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'loyalty' / 'python'}"}


def command(function: Function, script: str, *extra: str) -> list[str]:
    return [sys.executable, "-c", PREAMBLE + script, function.import_path, function.name, str(function.memory_mb), *extra]


def run(function: Function, script: str, *extra: str, input: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """The script to its end, `input` on its stdin; stdout and stderr captured."""
    return subprocess.run(command(function, script, *extra), input=input, env=environment(), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s, check=False)


def start(function: Function, script: str, *extra: str, stderr: IO[Any]) -> subprocess.Popen[str]:
    """The script, started; talk to it through its stdin and stdout pipes (text, line by line)."""
    return subprocess.Popen(command(function, script, *extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                            env=environment(), cwd=ROOT, text=True)
