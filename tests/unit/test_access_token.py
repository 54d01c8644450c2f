"""Session access tokens: minted for one user and project, short-lived, tamper-evident."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

import events
from consumer.domain import access_token
from consumer.domain.access_token import TokenRejected, mint, verify

KEY = b"k" * 32
OLD_KEY = b"o" * 32
PROJECT = "550e8400-e29b-41d4-a716-446655440000"
OTHER_PROJECT = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


def token(key: bytes = KEY, user: int = 7, project: str = PROJECT, now: datetime = NOW) -> str:
    return mint(key, user_id=user, project_uuid=project, now=now, ttl=TTL)


def test_owner_opens_their_project() -> None:
    claims = verify(
        [KEY], token(), project_uuid=PROJECT, owner_id=7, now=NOW + timedelta(minutes=4)
    )
    assert (claims.user_id, claims.project_uuid) == (7, PROJECT)
    assert claims.expires_at - claims.issued_at == 300


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"project_uuid": OTHER_PROJECT, "owner_id": 7}, "another project"),
        ({"project_uuid": PROJECT, "owner_id": 8}, "does not own"),
    ],
)
def test_it_opens_nothing_else(kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(TokenRejected, match=reason):
        verify([KEY], token(), now=NOW, **kwargs)


def test_it_expires() -> None:
    with pytest.raises(TokenRejected, match="expired"):
        verify([KEY], token(), project_uuid=PROJECT, owner_id=7, now=NOW + TTL)


def test_it_is_not_valid_before_it_was_issued() -> None:
    later = token(now=NOW + timedelta(minutes=2))
    with pytest.raises(TokenRejected, match="future"):
        verify([KEY], later, project_uuid=PROJECT, owner_id=7, now=NOW)


def test_another_key_cannot_mint_and_rotation_keeps_old_tokens_valid() -> None:
    with pytest.raises(TokenRejected, match="bad signature"):
        verify([KEY], token(key=b"x" * 32), project_uuid=PROJECT, owner_id=7, now=NOW)
    old = token(key=OLD_KEY)
    assert verify([KEY, OLD_KEY], old, project_uuid=PROJECT, owner_id=7, now=NOW).user_id == 7


def _swap_payload(tok: str, **changes: object) -> str:
    version, payload, signature = tok.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{version}.{forged}.{signature}"


@pytest.mark.parametrize(
    "changes",
    [{"u": 8}, {"p": OTHER_PROJECT}, {"exp": 4_000_000_000}],
    ids=["user", "project", "expiry"],
)
def test_a_changed_claim_breaks_the_signature(changes: dict[str, object]) -> None:
    forged = _swap_payload(token(), **changes)
    with pytest.raises(TokenRejected, match="bad signature"):
        verify([KEY], forged, project_uuid=PROJECT, owner_id=8, now=NOW)


@pytest.mark.parametrize(
    "garbage",
    ["", "v1", "v1..", "v2.a.b", "v1.a.!!!", "v1.e30.", "x" * 600, token().replace("v1.", "v0.")],
)
def test_malformed_tokens_are_rejected(garbage: str) -> None:
    with pytest.raises(TokenRejected):
        verify([KEY], garbage, project_uuid=PROJECT, owner_id=7, now=NOW)


def test_signed_but_malformed_payload_is_rejected() -> None:
    payload = base64.urlsafe_b64encode(b'{"u":"7"}').rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(access_token._mac(KEY, payload)).rstrip(b"=").decode()
    with pytest.raises(TokenRejected, match="malformed payload"):
        verify([KEY], f"v1.{payload}.{signature}", project_uuid=PROJECT, owner_id=7, now=NOW)


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify([KEY, OLD_KEY], token(), project_uuid=PROJECT, owner_id=7, now=NOW)
    assert len(compared) >= 2, "every key's MAC is compared, with hmac.compare_digest"


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(hours=1, seconds=1), timedelta(days=1)])
def test_tokens_are_short_lived(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="ttl"):
        mint(KEY, user_id=7, project_uuid=PROJECT, now=NOW, ttl=ttl)


def test_weak_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        token(key=b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        verify([b"short"], token(), project_uuid=PROJECT, owner_id=7, now=NOW)


def test_session_ready_carries_no_secret() -> None:
    # Access goes through the authenticated API, never through the event: SessionReady has
    # exactly the design's fields (a token or password field added to it fails here).
    assert set(events.SessionReady.model_fields) == {
        "project_uuid", "namespace", "release_name", "status", "ip_address",
        "preview_url", "preview_path", "chat_url", "chat_path", "vscode_url", "vscode_path",
        "preview_internal_url", "chat_internal_url", "vscode_internal_url",
        "ready_at", "expires_at",
    }  # fmt: skip
