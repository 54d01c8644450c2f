"""Forward-auth decisions: host, token (query or cookie), owner -> allow, redirect, refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consumer.domain import session_access
from consumer.domain.access_token import mint
from consumer.domain.session_access import Request, Verdict, decide

KEY, OLD_KEY, FOREIGN_KEY = b"k" * 32, b"o" * 32, b"f" * 32
TEMPLATE = "http://{project_uuid}.devsessions.localhost:8081{path}"
PROJECT = "550e8400-e29b-41d4-a716-446655440000"
OTHER = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
HOST = f"{PROJECT}.devsessions.localhost:8081"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OWNER = 7


def token(*, user: int = OWNER, project: str = PROJECT, key: bytes = KEY, age: int = 0) -> str:
    issued = NOW - timedelta(seconds=age)
    return mint(key, user_id=user, project_uuid=project, now=issued, ttl=timedelta(minutes=5))


def ask(
    uri: str = "/vscode/", cookie: str | None = None, host: str = HOST, owner: int | None = OWNER
) -> session_access.Decision:
    request = Request(host=host, uri=uri, proto="http", cookie_token=cookie)
    return decide(request, template=TEMPLATE, owner_id=owner, keys=[KEY, OLD_KEY], now=NOW)


def test_anonymous_is_unauthorized() -> None:
    assert ask().verdict is Verdict.UNAUTHORIZED
    assert ask("/vscode/?access=").verdict is Verdict.UNAUTHORIZED


def test_owner_token_in_query_redirects_without_it_and_sets_the_cookie() -> None:
    t = token()
    decision = ask(f"/vscode/?folder=/w&access={t}&x=1")
    assert decision.verdict is Verdict.REDIRECT
    assert decision.location == f"http://{HOST}/vscode/?folder=%2Fw&x=1"
    assert decision.cookie == t
    assert decision.max_age == 300


def test_owner_cookie_is_allowed() -> None:
    assert ask(cookie=token()).verdict is Verdict.ALLOW
    assert ask(cookie=token(key=OLD_KEY)).verdict is Verdict.ALLOW  # rotation


def test_query_token_wins_over_cookie() -> None:
    decision = ask(f"/chat?access={token()}", cookie="stale")
    assert decision.verdict is Verdict.REDIRECT
    assert decision.location == f"http://{HOST}/chat"


def test_another_projects_token_is_forbidden() -> None:
    assert ask(cookie=token(project=OTHER)).verdict is Verdict.FORBIDDEN
    assert ask(f"/vscode/?access={token(project=OTHER)}").verdict is Verdict.FORBIDDEN


def test_a_non_owner_is_forbidden() -> None:
    assert ask(cookie=token(user=8)).verdict is Verdict.FORBIDDEN
    assert ask(cookie=token(), owner=8).verdict is Verdict.FORBIDDEN


def test_no_live_session_is_forbidden() -> None:
    assert ask(cookie=token(), owner=None).verdict is Verdict.FORBIDDEN


@pytest.mark.parametrize(
    "bad",
    [token(age=301), token(key=FOREIGN_KEY), "v1.x.y", "garbage", token()[:-2] + "AA"],
)
def test_expired_forged_or_malformed_is_unauthorized(bad: str) -> None:
    assert ask(cookie=bad).verdict is Verdict.UNAUTHORIZED
    assert ask(f"/vscode/?access={bad}").verdict is Verdict.UNAUTHORIZED


@pytest.mark.parametrize(
    "host",
    [
        "devsessions.localhost:8081",
        f"{PROJECT}.evil.localhost:8081",
        f"x{PROJECT}.devsessions.localhost",
        "not-a-uuid.devsessions.localhost",
        f"{PROJECT.upper()}x.devsessions.localhost",
        "",
    ],
)
def test_a_host_that_is_no_sessions_is_forbidden(host: str) -> None:
    assert ask(cookie=token(), host=host).verdict is Verdict.FORBIDDEN


def test_host_maps_to_project_case_and_port_insensitively() -> None:
    assert session_access.project_for_host(TEMPLATE, HOST.upper()) == PROJECT
    assert session_access.project_for_host(TEMPLATE, f"{PROJECT}.devsessions.localhost") == PROJECT
    no_host = "http://{ip_address}{path}"
    assert session_access.project_for_host(no_host, HOST) is None


def test_https_redirect_keeps_the_scheme() -> None:
    request = Request(host=HOST, uri=f"/?access={token()}", proto="https", cookie_token=None)
    decision = decide(request, template=TEMPLATE, owner_id=OWNER, keys=[KEY], now=NOW)
    assert decision.location == f"https://{HOST}/"


def test_with_token_adds_the_query() -> None:
    assert session_access.with_token("http://h/vscode", "t") == "http://h/vscode?access=t"
    assert session_access.with_token("http://h/p?a=1", "t") == "http://h/p?a=1&access=t"
