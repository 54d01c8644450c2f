"""Bearer tokens for the API: several at once (rotation), compared in constant time.

Tokens come from a file with one token per line (``#`` comments and blank lines are
skipped), typically a mounted Secret; the file is re-read when it changes, so a token
is added or retired without a restart. With tokens configured, writes (POST, DELETE, a
get-or-create that creates) need ``Authorization: Bearer <token>``, and reads too when
``api_auth_reads`` is set. Without tokens the API is open, which ``check_bind`` allows
on loopback only unless the operator says otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from pathlib import Path

from consumer.entrypoints.api.errors import ApiError

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="devsessions"'}


def parse(text: str) -> tuple[bytes, ...]:
    """Token digests from a token file's text."""
    lines = (line.strip() for line in text.splitlines())
    tokens = {line for line in lines if line and not line.startswith("#")}
    return tuple(hashlib.sha256(t.encode()).digest() for t in sorted(tokens))


class Tokens:
    """The accepted tokens, re-read from ``path`` when its modification time changes."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._digests: tuple[bytes, ...] = ()
        self._reload()

    def _reload(self) -> None:
        if self._path is None:
            return
        stat = self._path.stat()  # a configured but missing file is an error, not "open"
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._digests = parse(self._path.read_text())
            self._stamp = stamp
            if not self._digests:
                msg = f"token file {self._path.name} holds no token"
                raise ValueError(msg)

    @property
    def configured(self) -> bool:
        return self._path is not None

    def accepts(self, token: str) -> bool:
        """Compare against every token (no early exit), each in constant time."""
        self._reload()
        presented = hashlib.sha256(token.encode()).digest()
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(presented, digest)
        return matched

    def require(self, authorization: str | None) -> None:
        """Raise 401 (no or malformed credentials) or 403 (token not accepted)."""
        if not self.configured:
            return
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>", CHALLENGE)
        if not self.accepts(token.strip()):
            raise ApiError(403, "forbidden", "this token is not accepted")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, tokens_configured: bool, allow_unauthenticated: bool) -> None:
    """Refuse to serve an open API beyond this machine unless explicitly allowed."""
    if tokens_configured or allow_unauthenticated or is_loopback(host):
        return
    msg = (
        f"refusing to listen on {host} without API tokens: set DEVSESSIONS_API_TOKENS_FILE, "
        "or DEVSESSIONS_API_ALLOW_UNAUTHENTICATED=true to serve an open API"
    )
    raise SystemExit(msg)
