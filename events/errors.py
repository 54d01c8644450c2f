"""The one error the codec raises, with a reason fit for a dead-letter header.

``DecodeError.code`` is a short machine code (stable, for metrics and routing);
``DecodeError.reason`` is one line of human text, at most ``MAX_REASON_CHARS``
characters, that never carries more than a clipped, escaped fragment of the input.
It is safe to write as a UTF-8 Kafka header value.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

MAX_REASON_CHARS = 1000
MAX_QUOTED_CHARS = 80

CODES = frozenset(
    {
        "missing-header",
        "duplicate-header",
        "invalid-header",
        "too-many-headers",
        "bad-specversion",
        "unknown-type",
        "unexpected-type",
        "bad-content-type",
        "missing-value",
        "oversize",
        "invalid-json",
        "invalid-data",
        "bad-key",
        "key-mismatch",
        "subject-mismatch",
    }
)


class DecodeError(ValueError):
    """A Kafka record that is not a well-formed event of ours."""

    def __init__(self, code: str, reason: str) -> None:
        self.code = code
        self.reason = _one_line(reason)
        super().__init__(code, self.reason)

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


def quote(value: str | bytes, limit: int = MAX_QUOTED_CHARS) -> str:
    """A clipped, printable, single-quoted rendering of untrusted input."""
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    escaped = "".join(_escape(ch) for ch in text[:limit])
    suffix = "..." if len(text) > limit else ""
    return f"'{escaped}{suffix}'"


def _escape(char: str) -> str:
    if char == "'":
        return "\\'"
    if char.isascii() and char.isprintable():
        return char
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def describe_validation(error: ValidationError, prefix: str = "data") -> str:
    """``"data.project_uuid: must be a canonical lowercase UUID"``, first errors first.

    ``prefix`` names the root of the locations (``"data"`` for a record value, ``""``
    for a model built from CLI arguments).
    """
    parts = [_describe(detail, prefix) for detail in error.errors(include_input=False)]
    more = f" (and {len(parts) - 3} more)" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + more


def _describe(detail: ErrorDetails, prefix: str) -> str:
    return f"{_location(detail['loc'], prefix)}: {detail['msg']}"


def _location(loc: Sequence[int | str], prefix: str) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        elif part.isidentifier() and len(part) <= 64:
            path += f".{part}" if path else part
        else:
            path += f"[{quote(part, 40)}]"
    return path or "value"


def _one_line(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = printable.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    if len(flat) > MAX_REASON_CHARS:
        return flat[: MAX_REASON_CHARS - 3] + "..."
    return flat


class EncodeError(ValueError):
    """An event that cannot be put on the wire (its value would exceed the size limit)."""
