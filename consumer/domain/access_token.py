"""Session access tokens (pure): short-lived, HMAC-signed, bound to one user and one project.

Why: a session's endpoints (VS Code, preview, chat) must open only for the project's owner.
The design (docs/security.md, "Sessions only their owner can open") puts a forward-auth
check in front of every session route at the Ingress: the authenticated HTTP API mints a
token for (user, project) after checking that the user owns the project, and the
forward-auth endpoint verifies it on every request before the controller forwards it.
This module is that mint/verify pair, with no I/O, so the endpoint stays a thin adapter.

Format: ``v1.<payload>.<signature>``, both base64url without padding; the payload is
canonical JSON ``{"exp", "iat", "p", "u"}`` (expiry and issue time in epoch seconds, project
UUID, user id); the signature is HMAC-SHA256 over a domain-separated prefix and the encoded
payload. Verification recomputes the MAC with each configured key (the first signs; the
others are still accepted, for rotation) and compares in constant time, then checks
expiry, the project asked for, and the project's owner. Tokens live at most
``MAX_TTL``: nothing revokes them, so they must die on their own.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

VERSION = "v1"
MAX_TTL = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=30)
MIN_KEY_BYTES = 32
MAX_TOKEN_CHARS = 512
_CONTEXT = b"devsessions.session-access." + VERSION.encode() + b"."


class TokenRejected(Exception):
    """The token does not open this session; ``reason`` is for logs, never for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Claims:
    """Who a token was minted for, and until when (epoch seconds)."""

    user_id: int
    project_uuid: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a signing key needs at least {MIN_KEY_BYTES} bytes")


def mint(key: bytes, *, user_id: int, project_uuid: str, now: datetime, ttl: timedelta) -> str:
    """A token for ``user_id`` to open ``project_uuid``'s session until ``now + ttl``."""
    _check_key(key)
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be positive and at most {MAX_TTL}")
    issued = int(now.timestamp())
    claims = {
        "exp": issued + int(ttl.total_seconds()),
        "iat": issued,
        "p": project_uuid,
        "u": user_id,
    }
    payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    return f"{VERSION}.{payload}.{_b64(_mac(key, payload))}"


def verify(
    keys: Sequence[bytes], token: str, *, project_uuid: str, owner_id: int, now: datetime
) -> Claims:
    """The token's claims if it opens ``project_uuid`` (owned by ``owner_id``) at ``now``.

    Raises ``TokenRejected`` otherwise. The signature is checked before anything in the
    payload is read, so an unsigned payload is never parsed.
    """
    if not keys:
        raise ValueError("no verification key configured")
    for key in keys:
        _check_key(key)
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenRejected("token too long")
    version, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if version != VERSION or not payload or not signature:
        raise TokenRejected("malformed token")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise TokenRejected("malformed signature") from None
    # Every key is tried (no early exit), each with a constant-time comparison.
    valid = [hmac.compare_digest(_mac(key, payload), given) for key in keys]
    if not any(valid):
        raise TokenRejected("bad signature")
    claims = _parse(payload)
    instant = now.timestamp()
    if claims.expires_at <= instant:
        raise TokenRejected("expired")
    if claims.issued_at > instant + CLOCK_SKEW.total_seconds():
        raise TokenRejected("issued in the future")
    if claims.expires_at - claims.issued_at > MAX_TTL.total_seconds():
        raise TokenRejected("lifetime longer than allowed")
    if not hmac.compare_digest(claims.project_uuid.encode(), project_uuid.encode()):
        raise TokenRejected("token is for another project")
    if claims.user_id != owner_id:
        raise TokenRejected("token holder does not own the project")
    return claims


def _parse(payload: str) -> Claims:
    try:
        raw = json.loads(_unb64(payload))
        claims = Claims(
            user_id=raw["u"], project_uuid=raw["p"], issued_at=raw["iat"], expires_at=raw["exp"]
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise TokenRejected("malformed payload") from None
    if not (
        isinstance(claims.user_id, int)
        and isinstance(claims.project_uuid, str)
        and isinstance(claims.issued_at, int)
        and isinstance(claims.expires_at, int)
    ):
        raise TokenRejected("malformed payload")
    return claims
