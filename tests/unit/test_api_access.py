"""Minting access for a session's owner, and the forward-auth endpoint, over fakes."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from consumer.domain.model import Status
from consumer.entrypoints.api import access_keys
from tests.unit.api_fakes import api, session

P = "550e8400-e29b-41d4-a716-446655440000"
OTHER = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
TEMPLATE = "http://{project_uuid}.devsessions.localhost:8081{path}"
ACCESS = f"/api/v1/sessions/project/{P}/access"
FORWARD = "/api/v1/auth/forward"
AUTH = {"Authorization": "Bearer api-token"}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    tokens, keys = tmp_path / "tokens", tmp_path / "keys"
    tokens.write_text("api-token\n")
    keys.write_text("# newest first\n" + "n" * 32 + "\n" + "o" * 32 + "\n")
    return tokens, keys


def forwarded(project: str, uri: str, cookie: str | None = None) -> dict[str, str]:
    headers = {
        "X-Forwarded-Host": f"{project}.devsessions.localhost:8081",
        "X-Forwarded-Uri": uri,
        "X-Forwarded-Proto": "http",
    }
    if cookie:
        headers["Cookie"] = f"devsessions_access={cookie}"
    return headers


async def test_owner_gets_a_token_and_urls_that_open_the_session(files: tuple[Path, Path]) -> None:
    tokens, keys = files
    async with api(tokens, access_keys=keys, template=TEMPLATE) as a:
        a.reads.put(session(P))
        assert (await a.client.post(ACCESS, json={"user_id": 123})).status_code == 401
        reply = await a.client.post(ACCESS, json={"user_id": 123}, headers=AUTH)
        assert reply.status_code == 200, reply.text
        grant = reply.json()
        assert parse_qs(urlsplit(grant["vscode_url"]).query) == {"access": [grant["token"]]}
        assert grant["chat_url"].startswith("http://10.96.0.1/chat?access=")

        opened = await a.client.get(
            FORWARD, headers=forwarded(P, f"/vscode?access={grant['token']}")
        )
        assert opened.status_code == 302
        assert opened.headers["location"] == f"http://{P}.devsessions.localhost:8081/vscode"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Domain" not in cookie
        ok = await a.client.get(FORWARD, headers=forwarded(P, "/vscode/", grant["token"]))
        assert ok.status_code == 200


async def test_a_non_owner_gets_no_token(files: tuple[Path, Path]) -> None:
    tokens, keys = files
    async with api(tokens, access_keys=keys, template=TEMPLATE) as a:
        a.reads.put(session(P))
        assert (await a.client.post(ACCESS, json={"user_id": 124}, headers=AUTH)).status_code == 403
        missing = f"/api/v1/sessions/project/{OTHER}/access"
        assert (
            await a.client.post(missing, json={"user_id": 123}, headers=AUTH)
        ).status_code == 404
        a.reads.put(session(OTHER, Status.DELETED))
        assert (
            await a.client.post(missing, json={"user_id": 123}, headers=AUTH)
        ).status_code == 404


async def test_forward_refuses_anonymous_and_other_projects(files: tuple[Path, Path]) -> None:
    tokens, keys = files
    async with api(tokens, access_keys=keys, template=TEMPLATE) as a:
        a.reads.put(session(P))
        a.reads.put(session(OTHER))
        other = (
            await a.client.post(
                f"/api/v1/sessions/project/{OTHER}/access", json={"user_id": 123}, headers=AUTH
            )
        ).json()["token"]
        assert (await a.client.get(FORWARD, headers=forwarded(P, "/vscode/"))).status_code == 401
        assert (await a.client.get(FORWARD, headers=forwarded(P, "/", other))).status_code == 403
        assert (
            await a.client.get(FORWARD, headers=forwarded(OTHER, "/", other))
        ).status_code == 200


async def test_keys_rotate_and_unconfigured_keys_fail_closed(files: tuple[Path, Path]) -> None:
    tokens, keys = files
    async with api(tokens, access_keys=keys, template=TEMPLATE) as a:
        a.reads.put(session(P))
        token = (await a.client.post(ACCESS, json={"user_id": 123}, headers=AUTH)).json()["token"]
        keys.write_text("x" * 32 + "\n")  # the signing key retired
        assert (await a.client.get(FORWARD, headers=forwarded(P, "/", token))).status_code == 401
    async with api(tokens, template=TEMPLATE) as a:
        a.reads.put(session(P))
        assert (await a.client.get(FORWARD, headers=forwarded(P, "/", token))).status_code == 503
        assert (await a.client.post(ACCESS, json={"user_id": 123}, headers=AUTH)).status_code == 503


def test_short_keys_and_empty_key_files_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        access_keys.parse("short\n")
    with pytest.raises(ValueError, match="no key"):
        access_keys.parse("# nothing\n\n")
