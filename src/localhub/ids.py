"""Identifiers and timestamps in the Hub's shapes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time
from datetime import UTC, datetime

_UUID8_ALPHABET = string.ascii_lowercase + string.digits


def new_object_id() -> str:
    """A 24-hex id shaped like a MongoDB ObjectId: 4 bytes of time, then 8 random bytes."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def new_uuid8() -> str:
    """An executor's short id, e.g. ``w7qckiqy``."""
    return "".join(secrets.choice(_UUID8_ALPHABET) for _ in range(8))


def new_secret() -> str:
    """An executor secret: 32 hex characters."""
    return secrets.token_hex(16)


def hash_secret(secret: str) -> str:
    """What the store keeps of a secret (never the secret itself)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, secret_hash: str | None) -> bool:
    """Whether ``secret`` is the one whose hash is stored (constant-time compare)."""
    if not secret or not secret_hash:
        return False
    return hmac.compare_digest(hash_secret(secret), secret_hash)


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds and a ``Z``, as the Hub writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
