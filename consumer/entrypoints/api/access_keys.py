"""Signing keys of session access tokens, from a file (typically a mounted Secret).

One key per line, at least 32 bytes each (``#`` comments and blank lines skipped). The
first line signs; every line verifies, so a key is rotated by putting the new one first
and removing the old one once the tokens it signed have expired (at most an hour). The
file is re-read when it changes, like the API's bearer tokens.
"""

from __future__ import annotations

from pathlib import Path

from consumer.domain import access_token


def parse(text: str) -> tuple[bytes, ...]:
    """The keys of a key file's text, in order; refuses short keys and an empty file."""
    lines = (line.strip() for line in text.splitlines())
    keys = tuple(line.encode() for line in lines if line and not line.startswith("#"))
    if not keys:
        raise ValueError("the access key file holds no key")
    if any(len(k) < access_token.MIN_KEY_BYTES for k in keys):
        raise ValueError(f"every access key needs at least {access_token.MIN_KEY_BYTES} bytes")
    return keys


class AccessKeys:
    """The configured keys, re-read from ``path`` when its modification time changes."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: tuple[bytes, ...] = ()
        self._reload()

    def _reload(self) -> None:
        if self._path is None:
            return
        stat = self._path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._keys = parse(self._path.read_text())
            self._stamp = stamp

    @property
    def configured(self) -> bool:
        return self._path is not None

    def all(self) -> tuple[bytes, ...]:
        """Every key (for verifying); empty when none is configured."""
        self._reload()
        return self._keys
