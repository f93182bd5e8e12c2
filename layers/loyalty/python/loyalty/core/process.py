"""What a Lambda process creates once and keeps (clients, settings, item models bound to their
tables, the transaction connection, cached operator configuration), forgotten at once.

Production never calls it: a Lambda process serves one environment for its life. A benchmark or a
test that points one process at a second emulator does, or the models keep the first one's client.
"""

from __future__ import annotations


def forget_process_state() -> None:
    from loyalty.core import aws, config_cache, tables, transactions
    from loyalty.core.config import get_settings

    for cached in (aws.dynamodb, aws.sqs, aws.events, aws.ssm, get_settings, transactions.shared_connection):
        cached.cache_clear()
    tables.unbind_all()
    config_cache.clear()
