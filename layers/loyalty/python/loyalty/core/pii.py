"""Device and phone identifiers, kept only as keyed hashes.

The bank's events carry `deviceHash` and `phoneHash`. A plain hash of a phone number is reversible
by trying every number (there are only about 10^11), so the engine never stores or logs them as
received: it stores `keyed_hash(value)`, an HMAC-SHA256 under a key the engine alone holds (an SSM
SecureString parameter in AWS, named by `PII_HASH_KEY_PARAMETER`; `PII_HASH_KEY` on the local
cloud). Equal inputs still give equal outputs, so "accounts sharing a device" stays countable.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from loyalty.core.config import get_settings

MIN_KEY_BYTES = 32


@cache
def _key() -> bytes:
    settings = get_settings()
    if settings.pii_hash_key_parameter:
        from loyalty.core.aws import ssm

        value = ssm().get_parameter(Name=settings.pii_hash_key_parameter, WithDecryption=True)["Parameter"]["Value"]
    else:
        value = settings.pii_hash_key
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        raise RuntimeError(f"the PII hash key must be at least {MIN_KEY_BYTES} bytes")
    return key


def keyed_hash(value: str) -> str:
    """`hk1:` + the hex HMAC-SHA256 of `value`: the prefix names the key version for a rotation."""
    return "hk1:" + hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()


def masked(identifier: str) -> str:
    """For logs: enough to tell two ids apart in one incident, never the id."""
    return identifier[:4] + "…" if len(identifier) > 8 else "…"
