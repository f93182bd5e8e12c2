"""The emulator is linearizable: real threads racing on one item see DynamoDB's outcome, not moto's.

Without the lock around moto's WSGI app, this exact test gave 305 successes for a stock of 300 and
`RuntimeError: dictionary changed size during iteration` inside moto.
"""

from __future__ import annotations

import concurrent.futures
import uuid

from botocore.exceptions import ClientError

from infra.local.clients import Clients
from infra.local.cloud import LocalCloud

STOCK = 300
THREADS = 20
ATTEMPTS_PER_THREAD = 20


def test_conditional_transactions_never_oversell(cloud: LocalCloud) -> None:
    # Given one stock item of 300 in a table
    clients = Clients.for_endpoint(cloud.emulator.url)
    key = {"pk": {"S": f"stock-{uuid.uuid4()}"}}
    clients.dynamodb.put_item(TableName="idempotency", Item={**key, "left": {"N": str(STOCK)}})

    def take(_: int) -> tuple[int, int]:
        won = refused = 0
        for _attempt in range(ATTEMPTS_PER_THREAD):
            try:
                clients.dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": "idempotency",
                                "Key": key,
                                "UpdateExpression": "SET #l = #l - :one",
                                "ConditionExpression": "#l >= :one",
                                "ExpressionAttributeNames": {"#l": "left"},
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                        {"Put": {"TableName": "idempotency", "Item": {"pk": {"S": str(uuid.uuid4())}}}},
                    ]
                )
                won += 1
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException"
                refused += 1
        return won, refused

    # When 20 threads try 400 decrements in all
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(take, range(THREADS)))
    # Then exactly the stock was taken, the rest refused, and the stock is 0
    assert sum(w for w, _ in results) == STOCK
    assert sum(r for _, r in results) == THREADS * ATTEMPTS_PER_THREAD - STOCK
    left = clients.dynamodb.get_item(TableName="idempotency", Key=key, ConsistentRead=True)["Item"]["left"]["N"]
    assert left == "0"
