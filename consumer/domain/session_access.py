"""Forward-auth decisions (pure): may this request to a session's host go through?

The Ingress controller asks the service before every request to a session (Traefik
ForwardAuth, ingress-nginx ``auth-url``), passing the original host, path and cookies.
This module turns what the request carries (host, ``?access=`` token, cookie) and who
owns the project into one decision; the HTTP endpoint (``consumer.entrypoints.api.
access_routes``) only reads the request, looks the owner up and writes the answer.

Decisions: ``ALLOW`` (2xx: the controller forwards), ``REDIRECT`` (a valid ``?access=``
token: set it as the host's cookie and drop the query from the URL), ``UNAUTHORIZED``
(401: no token, or an expired, forged or malformed one) and ``FORBIDDEN`` (403: a valid
token of another project or user, or a host that is no session's).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from consumer.domain import access_token, endpoints

QUERY_PARAM = "access"
COOKIE_NAME = "devsessions_access"
_MARKER = "00000000-0000-4000-8000-00000000abcd"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Rejections that mean "a genuine token, but not for this session": 403, not 401.
_NOT_YOURS = {"token is for another project", "token holder does not own the project"}


class Verdict(enum.Enum):
    ALLOW = "allow"
    REDIRECT = "redirect"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"


@dataclasses.dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str  # for logs, never sent to the client
    location: str = ""  # REDIRECT: the URL without the token
    cookie: str = ""  # REDIRECT: the token to keep in the host's cookie
    max_age: int = 0  # REDIRECT: seconds until the token expires


@dataclasses.dataclass(frozen=True)
class Request:
    """What the controller tells us about the original request."""

    host: str  # X-Forwarded-Host (a port, if any, is ignored)
    uri: str  # X-Forwarded-Uri: path and query
    proto: str  # X-Forwarded-Proto
    cookie_token: str | None


def project_for_host(template: str, host: str) -> str | None:
    """The project whose session lives at ``host`` (inverse of the public URL template)."""
    pattern = endpoints.ingress_host(template, _MARKER)
    if not pattern:
        return None
    prefix, _, suffix = pattern.partition(_MARKER)
    name = host.strip().lower().rsplit(":", 1)[0] if not host.startswith("[") else ""
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    middle = name[len(prefix) : len(name) - len(suffix)]
    return middle if _UUID.match(middle) else None


def split_token(uri: str) -> tuple[str | None, str]:
    """The ``?access=`` token of ``uri`` (if any) and ``uri`` without it."""
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    tokens = [v for k, v in pairs if k == QUERY_PARAM]
    rest = urlencode([(k, v) for k, v in pairs if k != QUERY_PARAM])
    return (tokens[0] if tokens else None), urlunsplit(("", "", parts.path or "/", rest, ""))


def with_token(url: str, token: str) -> str:
    """``url`` with ``?access=<token>`` added: the link that opens a session once."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({QUERY_PARAM: token})) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def decide(
    request: Request,
    *,
    template: str,
    owner_id: int | None,
    keys: Sequence[bytes],
    now: datetime,
) -> Decision:
    """Allow, redirect (set the cookie, drop the query) or refuse ``request``.

    ``owner_id`` is the ``user_id`` of the project's live session, None when there is
    none. A query token wins over the cookie (it is how a new token replaces an old one).
    """
    project = project_for_host(template, request.host)
    if project is None:
        return Decision(Verdict.FORBIDDEN, "host is not a session's")
    query_token, clean = split_token(request.uri)
    token = query_token or request.cookie_token
    if not token:
        return Decision(Verdict.UNAUTHORIZED, "no token")
    if owner_id is None:
        return Decision(Verdict.FORBIDDEN, "no live session for this project")
    try:
        claims = access_token.verify(keys, token, project_uuid=project, owner_id=owner_id, now=now)
    except access_token.TokenRejected as err:
        verdict = Verdict.FORBIDDEN if err.reason in _NOT_YOURS else Verdict.UNAUTHORIZED
        return Decision(verdict, err.reason)
    if query_token is None:
        return Decision(Verdict.ALLOW, "cookie")
    scheme = "https" if request.proto == "https" else "http"
    location = f"{scheme}://{request.host}{clean}"
    max_age = max(claims.expires_at - int(now.timestamp()), 0)
    return Decision(Verdict.REDIRECT, "query token", location, token, max_age)
