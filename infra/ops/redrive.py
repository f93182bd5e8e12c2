"""Move messages from a queue's DLQ back onto the queue, locally or in AWS.

    python -m infra.ops.redrive <queue> [--max N] [--env dev|staging|prod] [--endpoint-url URL]
    make redrive QUEUE=<queue> [MAX=N] [ENV=dev|staging|prod]

`<queue>` is the topology's name (`coupon-commands`); its DLQ is `<queue>-dlq`. Without `--env` it
talks to the local cloud (`make run`, port LOCAL_EMULATOR_PORT, names as in the topology); with
`--env` to AWS with the default credential chain, where queues are named `loyalty-<env>-<queue>`.

Receive, send, then delete: it works on moto (which has no StartMessageMoveTask) as on AWS. A
message leaves the DLQ only after the queue accepted it, so an interruption can duplicate a message
but never lose one; the consumers are idempotent (docs/idempotency.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from infra.naming import ENV_NAMES, queue_name

SQS_BATCH = 10
DLQ_SUFFIX = "-dlq"
# Long polls on AWS (a short poll samples a subset of servers and may answer "empty" too soon);
# none locally, where the emulator serializes requests and a long poll would stall everyone.
AWS_WAIT_SECONDS = 2
# Long enough to send and delete a batch; a message whose send failed reappears on the DLQ after it.
RECEIVE_VISIBILITY_TIMEOUT_S = 30


@dataclass
class RedriveReport:
    queue: str
    dead_letter_queue: str
    moved: int = 0
    failed: int = 0
    left_visible: int = 0
    left_in_flight: int = 0

    def summary(self) -> str:
        return (
            f"redrive {self.dead_letter_queue} -> {self.queue}: moved {self.moved}, failed {self.failed}; "
            f"{self.dead_letter_queue} now holds ~{self.left_visible} (+{self.left_in_flight} in flight)"
        )


def resolve(sqs: Any, queue: str, env_name: str | None) -> tuple[str, str, str, str]:
    """(queue name, queue URL, DLQ name, DLQ URL) for a topology queue name in an environment."""
    logical = queue.removesuffix(DLQ_SUFFIX)  # accept the DLQ's own name too
    source, dead = queue_name(env_name, logical), queue_name(env_name, logical + DLQ_SUFFIX)
    urls = []
    for name in (source, dead):
        try:
            urls.append(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except sqs.exceptions.QueueDoesNotExist:
            raise LookupError(
                f"no queue named {name!r}. Give a topology queue (infra/topology.py: Topology.queues); stream "
                "failure queues hold pointers to stream records, not messages, and have no source to redrive to "
                "(docs/operations.md)."
            ) from None
    return source, urls[0], dead, urls[1]


def _depth(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    # What SendMessage accepts back: the data type and the one value each attribute carries.
    return {
        name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
        for name, value in message.get("MessageAttributes", {}).items()
    }


def redrive(
    sqs: Any, *, queue: str, queue_url: str, dead_letter_queue: str, dead_letter_url: str, max_messages: int | None = None,
    wait_seconds: int = 0,
) -> RedriveReport:
    """Moves up to `max_messages` (default: as many as the DLQ held when it started, so messages that
    fail again and come back are not redriven twice in one run)."""
    report = RedriveReport(queue, dead_letter_queue)
    limit = max_messages if max_messages is not None else _depth(sqs, dead_letter_url)[0]
    while report.moved + report.failed < limit:
        received = sqs.receive_message(
            QueueUrl=dead_letter_url,
            MaxNumberOfMessages=min(SQS_BATCH, limit - report.moved - report.failed),
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=RECEIVE_VISIBILITY_TIMEOUT_S,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(received)]
        for entry, message in zip(entries, received, strict=True):
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = _attributes(message)
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        delivered = [received[int(ok["Id"])] for ok in sent.get("Successful", [])]
        if delivered:
            sqs.delete_message_batch(
                QueueUrl=dead_letter_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(delivered)],
            )
        report.moved += len(delivered)
        report.failed += len(sent.get("Failed", []))
    report.left_visible, report.left_in_flight = _depth(sqs, dead_letter_url)
    return report


def local_endpoint() -> str:
    # The port `make run` serves the emulator on (infra.local.cloud.Ports.from_env reads the same).
    return f"http://127.0.0.1:{int(os.environ.get('LOCAL_EMULATOR_PORT', 4566))}"


def sqs_client(env_name: str | None, endpoint_url: str | None, region: str | None) -> Any:
    import boto3

    if env_name is None:  # the local cloud: its fixed region and throw-away credentials
        from infra.local.clients import LOCAL_CREDENTIALS, LOCAL_REGION

        return boto3.client(
            "sqs",
            endpoint_url=endpoint_url or local_endpoint(),
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        )
    return boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("queue", help="a topology queue name, e.g. coupon-commands (its DLQ is <queue>-dlq)")
    parser.add_argument("--max", type=int, default=None, help="move at most N messages (default: the DLQ's depth at start)")
    parser.add_argument("--env", choices=ENV_NAMES, default=None, help="an AWS environment; omit for the local cloud")
    parser.add_argument("--endpoint-url", default=None, help="override the SQS endpoint (default: local cloud, or AWS with --env)")
    parser.add_argument("--region", default=None, help="AWS region (default: from the AWS configuration)")
    args = parser.parse_args(argv)
    if not args.queue:
        parser.error("give a queue name: make redrive QUEUE=<name>")
    if args.max is not None and args.max < 1:
        parser.error("--max must be at least 1")

    from botocore.exceptions import BotoCoreError, ClientError

    sqs = sqs_client(args.env, args.endpoint_url, args.region)
    try:
        queue, queue_url, dlq, dlq_url = resolve(sqs, args.queue, args.env)
        report = redrive(
            sqs,
            queue=queue,
            queue_url=queue_url,
            dead_letter_queue=dlq,
            dead_letter_url=dlq_url,
            max_messages=args.max,
            wait_seconds=AWS_WAIT_SECONDS if args.env else 0,
        )
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        where = f"AWS ({args.env})" if args.env else f"the local cloud at {args.endpoint_url or local_endpoint()} (is `make run` running?)"
        print(f"error talking to {where}: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
