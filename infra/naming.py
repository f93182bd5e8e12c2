"""Physical names per environment, shared by the CDK stacks and the operator tools (`infra.ops`).

Kept free of aws_cdk imports: `python -m infra.ops.redrive` must start in well under a second, and
importing aws_cdk starts a Node process.
"""

from __future__ import annotations

from typing import Literal, get_args

EnvName = Literal["dev", "staging", "prod"]
ENV_NAMES: tuple[str, ...] = get_args(EnvName)


def env_prefix(env_name: str) -> str:
    """`loyalty-<env>`: the stack name, and the prefix of every physical name we choose."""
    return f"loyalty-{env_name}"


def queue_name(env_name: str | None, logical_name: str) -> str:
    """The SQS name of a topology queue (or `<queue>-dlq`, `<table>-stream-failures`).

    In AWS every queue is prefixed with its environment; the local cloud (env None) uses the
    topology's logical names as they are.
    """
    return logical_name if env_name is None else f"{env_prefix(env_name)}-{logical_name}"
