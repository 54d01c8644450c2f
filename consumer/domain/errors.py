"""Outcome errors of actions, in two families (as kopf has them).

``TransientError``: try again later with backoff (API hiccup, timeout, namespace still
terminating). ``PermanentError``: retrying cannot help (chart rejects the values); the
session goes to ``failed`` at once. Both name the step that failed, so a timeout says
which step stalled.
"""

from __future__ import annotations


class ActionError(Exception):
    """An action failed at a named step."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


class TransientError(ActionError):
    """A failure worth retrying."""


class PermanentError(ActionError):
    """A failure no retry will fix."""


class StepTimeout(TransientError):
    """A wait ran out of time; the message says what was still blocking."""
