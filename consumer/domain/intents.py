"""What an HTTP request asks of a project's session, decided without I/O.

The HTTP API never writes sessions: every write it accepts becomes a ``ProjectCreated``
or ``ProjectDeleted`` on the input topic, so the log stays the only source of truth and
a replay rebuilds what the API did. This module validates request input (canonical
UUIDs, ids, cursors, wait times), decides from the session a request saw whether to
publish, and derives the event id from that observation: concurrent requests that saw
the same state publish the same id, and intake's inbox drops the duplicates.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import math
import re
from datetime import datetime, timedelta

from consumer.domain import naming
from consumer.domain.model import Cause, Desired, SessionState, Status

CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UUID_MESSAGE = (
    "must be a canonical lowercase UUID, e.g. 550e8400-e29b-41d4-a716-446655440000 "
    "(36 characters: lowercase hex digits and dashes, no braces, no prefix)"
)
MAX_ID = 2**63 - 1
SETTLED = (Status.RUNNING, Status.FAILED)


class BadRequest(ValueError):
    """Input the API refuses (HTTP 400); ``field`` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class LogUnavailable(Exception):
    """The input topic could not take an event; nothing was published."""


class Verdict(enum.StrEnum):
    """What a request leads to."""

    SETTLED = "settled"  # running or failed: answer 200
    IN_PROGRESS = "in_progress"  # being provisioned or torn down: answer 202
    PUBLISH = "publish"  # publish the event, answer 202
    NOT_FOUND = "not_found"  # answer 404
    GONE = "gone"  # already deleted: nothing to publish, answer 200


@dataclasses.dataclass(frozen=True)
class Ids:
    """The upstream ids a create carries."""

    user_id: int
    project_id: int


@dataclasses.dataclass(frozen=True)
class Decision:
    """A verdict and, when something is to be published, the event's id."""

    verdict: Verdict
    event_id: str = ""


def check_uuid(value: str, field: str = "project_uuid") -> str:
    """``value`` if it is a canonical lowercase UUID, else ``BadRequest``."""
    if not CANONICAL_UUID.fullmatch(value):
        raise BadRequest(field, UUID_MESSAGE)
    return value


def check_id(value: str | int, field: str) -> int:
    """A non-negative 64-bit id from a query string or JSON number."""
    if isinstance(value, bool):
        raise BadRequest(field, "must be a whole number between 0 and 2^63-1")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise BadRequest(field, "must be a whole number between 0 and 2^63-1")
        value = int(value)
    if not 0 <= value <= MAX_ID:
        raise BadRequest(field, "must be a whole number between 0 and 2^63-1")
    return value


def check_ids(user_id: str | int | None, project_id: str | int | None) -> Ids | None:
    """Both ids, or None when neither is given; one without the other is refused."""
    if user_id is None and project_id is None:
        return None
    if user_id is None or project_id is None:
        missing = "user_id" if user_id is None else "project_id"
        raise BadRequest(missing, "user_id and project_id go together: give both or neither")
    return Ids(user_id=check_id(user_id, "user_id"), project_id=check_id(project_id, "project_id"))


def session_ref(value: str) -> int | str:
    """A session named in a path: its numeric ``id`` or its project's UUID."""
    if value.isascii() and value.isdigit():
        return check_id(value, "id")
    if CANONICAL_UUID.fullmatch(value):
        return value
    raise BadRequest("id", f"must be a session's numeric id or a project UUID that {UUID_MESSAGE}")


def wait_seconds(value: float | None, cap: float) -> float:
    """How long a ``?wait=`` request may be held: 0..cap seconds."""
    if value is None:
        return 0.0
    if math.isnan(value) or value < 0:
        raise BadRequest("wait", f"must be a number of seconds between 0 and {cap:g}")
    return min(value, cap)


def is_live(session: SessionState | None) -> bool:
    """True when the log currently wants this project to have a session."""
    return session is not None and session.desired is Desired.PRESENT


def settled(session: SessionState | None) -> bool:
    """True when a live session has an answer for a waiting UI: running or failed."""
    return is_live(session) and session is not None and session.status in SETTLED


def created_event_id(project_uuid: str, session: SessionState | None, ids: Ids) -> str:
    """The id of the ``ProjectCreated`` a request publishes, from the state it saw."""
    seen = "none" if session is None else f"g{session.generation}.{session.status.value}"
    return f"api.created.{project_uuid}.{seen}.u{ids.user_id}.p{ids.project_id}"


def deleted_event_id(session: SessionState) -> str:
    """The id of the ``ProjectDeleted`` a request publishes, from the state it saw."""
    return f"api.deleted.{session.project_uuid}.g{session.generation}"


def on_get(project_uuid: str, session: SessionState | None, ids: Ids | None) -> Decision:
    """Get-or-create: an existing live session is returned; otherwise create if ids given."""
    if is_live(session):
        return Decision(Verdict.SETTLED if settled(session) else Verdict.IN_PROGRESS)
    if ids is None:
        return Decision(Verdict.NOT_FOUND)
    return Decision(Verdict.PUBLISH, created_event_id(project_uuid, session, ids))


def on_create(project_uuid: str, session: SessionState | None, ids: Ids) -> Decision:
    """An explicit create: also revives a failed session and applies changed ids."""
    if session is not None and is_live(session) and session.status is not Status.FAILED:
        same = (session.user_id, session.project_id) == (ids.user_id, ids.project_id)
        if same:
            running = session.status is Status.RUNNING
            return Decision(Verdict.SETTLED if running else Verdict.IN_PROGRESS)
    return Decision(Verdict.PUBLISH, created_event_id(project_uuid, session, ids))


def on_delete(session: SessionState | None) -> Decision:
    """A delete: publish unless the project is unknown or already on its way out."""
    if session is None:
        return Decision(Verdict.NOT_FOUND)
    if session.desired is Desired.ABSENT:
        done = session.status is Status.DELETED
        return Decision(Verdict.GONE if done else Verdict.IN_PROGRESS)
    return Decision(Verdict.PUBLISH, deleted_event_id(session))


def as_requested(
    project_uuid: str, session: SessionState | None, ids: Ids | None, now: datetime
) -> SessionState:
    """The session as it stands once the published create is taken: pending, no URLs."""
    base = session or SessionState(
        project_uuid=project_uuid,
        project_id=0,
        user_id=0,
        namespace=naming.namespace_for(project_uuid),
        release_name=naming.release_for(project_uuid),
        status=Status.PENDING,
        desired=Desired.PRESENT,
        generation=0,
        observed_generation=0,
        high_water=None,
        cause=Cause(id="", source=""),
        overrides={},
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=365),
    )
    return dataclasses.replace(
        base,
        status=Status.PENDING,
        desired=Desired.PRESENT,
        user_id=ids.user_id if ids else base.user_id,
        project_id=ids.project_id if ids else base.project_id,
        endpoints=None,
        ready_at=None,
        deleted_at=None,
        last_error=None,
    )


def as_deleting(session: SessionState) -> SessionState:
    """The session as it stands once the published delete is taken."""
    return dataclasses.replace(session, status=Status.DELETING, desired=Desired.ABSENT)


def encode_cursor(last_id: int) -> str:
    """An opaque cursor that continues after the session with ``last_id``."""
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a cursor continues after (0 for the first page)."""
    if not cursor:
        return 0
    refused = BadRequest("cursor", "is not a cursor this API gave out")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error):
        raise refused from None
    version, _, last = raw.partition(":")
    if version != "v1" or not last.isascii() or not last.isdigit():
        raise refused
    return check_id(last, "cursor")
