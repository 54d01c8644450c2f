"""The session API over fakes: status codes, JSON errors, one publish per fact, wait, auth."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from consumer.domain.model import Status
from consumer.entrypoints.api import auth
from tests.design import DESIGN_FIELDS
from tests.unit.api_fakes import api, session

P = "550e8400-e29b-41d4-a716-446655440000"
GET = f"/api/v1/sessions/project/{P}"
IDS = {"user_id": "123", "project_id": "456"}
BODY = {"user_id": 123, "project_id": 456, "project_uuid": P}


async def test_unknown_project_without_ids_is_404_json() -> None:
    async with api() as a:
        r = await a.client.get(GET)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found" and "user_id" in r.json()["message"]
    assert a.log.published == []


async def test_get_or_create_publishes_once_and_answers_202_pending() -> None:
    async with api() as a:
        a.log.delay = 0.05
        answers = await asyncio.gather(*(a.client.get(GET, params=IDS) for _ in range(50)))
        assert {r.status_code for r in answers} == {202}
        body = answers[0].json()
        assert body["status"] == "pending" and body["project_uuid"] == P
        assert body["namespace"] == P and body["preview_url"] is None
        assert answers[0].headers["location"] == GET
        assert len(a.log.published) == 1
        _, event = a.log.published[0]
        assert event.project_uuid == P and (event.user_id, event.project_id) == (123, 456)
        # polled again before the consumer took it in: the same fact, not sent again
        assert (await a.client.get(GET, params=IDS)).status_code == 202
        assert len(a.log.published) == 1


async def test_running_session_answers_200_with_the_design_fields() -> None:
    async with api() as a:
        a.reads.put(session(P, Status.RUNNING))
        r = await a.client.get(GET, params=IDS)
    assert r.status_code == 200
    body = r.json()
    for field in DESIGN_FIELDS:
        assert field in body
    assert body["status"] == "running" and body["preview_url"] == "http://10.96.0.1/preview"
    assert a.log.published == []


async def test_wait_returns_as_soon_as_the_session_runs() -> None:
    async with api() as a:
        a.reads.put(session(P, Status.PROVISIONING))

        async def provision_later() -> None:
            await asyncio.sleep(0.2)
            a.reads.put(session(P, Status.RUNNING))
            a.changes.notify(P)

        started = asyncio.get_running_loop().time()
        r, _ = await asyncio.gather(a.client.get(GET, params={"wait": "30"}), provision_later())
        took = asyncio.get_running_loop().time() - started
    assert r.status_code == 200 and r.json()["status"] == "running"
    assert took < 2  # woken by the notification, not by the (capped, 5 s) wait ending


async def test_wait_ends_with_202_when_nothing_settles() -> None:
    async with api() as a:
        a.reads.put(session(P, Status.PENDING))
        r = await a.client.get(GET, params={"wait": "0.3"})
    assert r.status_code == 202 and r.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        (
            GET.upper().replace("/API/V1/SESSIONS/PROJECT", "/api/v1/sessions/project"),
            {},
            "canonical lowercase",
        ),
        (f"/api/v1/sessions/project/{{{P}}}", {}, "canonical lowercase"),
        (f"/api/v1/sessions/project/{P.upper()}/events", {}, "canonical lowercase"),
        (GET, {"user_id": "abc", "project_id": "1"}, "user_id"),
        (GET, {"user_id": "1"}, "give both"),
        (GET, {"wait": "-3"}, "wait"),
        ("/api/v1/sessions", {"status": "sleeping"}, "status"),
        ("/api/v1/sessions", {"cursor": "garbage"}, "cursor"),
        ("/api/v1/sessions", {"limit": "0"}, "limit"),
    ],
)
async def test_bad_input_is_400_json_naming_the_problem(
    path: str, params: dict[str, str], says: str
) -> None:
    async with api() as a:
        r = await a.client.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_request" and says in r.json()["message"]


async def test_post_errors_method_size_and_unknown_path() -> None:
    async with api(max_body=1024) as a:
        bad_json = await a.client.post(
            "/api/v1/sessions", content=b"{not json", headers={"content-type": "application/json"}
        )
        upper = await a.client.post("/api/v1/sessions", json=BODY | {"project_uuid": P.upper()})
        string_id = await a.client.post("/api/v1/sessions", json=BODY | {"user_id": "123"})
        huge = await a.client.post("/api/v1/sessions", json=BODY | {"pad": "x" * 4096})
        method = await a.client.put("/api/v1/sessions")
        nowhere = await a.client.get("/api/v2/nothing")
    assert (bad_json.status_code, bad_json.json()["code"]) == (400, "bad_request")
    assert "JSON" in bad_json.json()["message"]
    assert upper.status_code == 400 and "canonical lowercase" in upper.json()["message"]
    assert string_id.status_code == 400 and "user_id" in string_id.json()["message"]
    assert (huge.status_code, huge.json()["code"]) == (413, "content_too_large")
    assert (method.status_code, method.json()["code"]) == (405, "method_not_allowed")
    assert (nowhere.status_code, nowhere.json()["code"]) == (404, "not_found")
    assert a.log.published == []


async def test_kafka_down_is_503_and_nothing_is_remembered_as_sent() -> None:
    async with api() as a:
        a.log.down = True
        r = await a.client.post("/api/v1/sessions", json=BODY)
        assert (r.status_code, r.json()["code"]) == (503, "log_unavailable")
        assert r.headers["retry-after"]
        a.log.down = False
        again = await a.client.post("/api/v1/sessions", json=BODY)
    assert again.status_code == 202 and len(a.log.published) == 1


async def test_post_and_delete() -> None:
    async with api() as a:
        created = await a.client.post("/api/v1/sessions", json=BODY)
        assert created.status_code == 202 and created.json()["status"] == "pending"
        a.reads.put(session(P, Status.RUNNING, id=7))
        assert (await a.client.post("/api/v1/sessions", json=BODY)).status_code == 200
        by_id = await a.client.delete("/api/v1/sessions/7")
        by_uuid = await a.client.delete(f"/api/v1/sessions/{P}")
        unknown = await a.client.delete("/api/v1/sessions/99")
        bad = await a.client.delete("/api/v1/sessions/7x")
        a.reads.put(session(P, Status.DELETED, id=7))
        gone = await a.client.delete("/api/v1/sessions/7")
    assert by_id.status_code == 202 and by_id.json()["status"] == "deleting"
    assert by_uuid.status_code == 202
    kinds = [type(e).__name__ for _, e in a.log.published]
    assert kinds == ["ProjectCreated", "ProjectDeleted"]  # the second delete: the same fact
    assert unknown.status_code == 404 and bad.status_code == 400
    assert gone.status_code == 200 and gone.json()["status"] == "deleted"


async def test_list_pages_with_a_stable_cursor() -> None:
    async with api() as a:
        projects = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 6)]
        for i, p in enumerate(projects, start=1):
            a.reads.put(session(p, Status.RUNNING if i % 2 else Status.FAILED, id=i))
        first = (await a.client.get("/api/v1/sessions", params={"limit": 2})).json()
        a.reads.put(session("00000000-0000-4000-8000-000000000009", id=9))  # added meanwhile
        second = (
            await a.client.get(
                "/api/v1/sessions", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        running = (await a.client.get("/api/v1/sessions", params={"status": "running"})).json()
    assert [s["id"] for s in first["items"]] == [1, 2]
    assert [s["id"] for s in second["items"]] == [3, 4]
    assert [s["id"] for s in running["items"]] == [1, 3, 5, 9]
    assert running["next_cursor"] is None


async def test_bearer_tokens_rotation_and_protected_reads(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# current and next\nold-token\nnew-token\n")
    async with api(tokens) as a:
        none = await a.client.post("/api/v1/sessions", json=BODY)
        wrong = await a.client.post(
            "/api/v1/sessions", json=BODY, headers={"Authorization": "Bearer nope"}
        )
        creating_get = await a.client.get(GET, params=IDS)
        plain_get = await a.client.get(GET)
        ok = await a.client.post(
            "/api/v1/sessions", json=BODY, headers={"Authorization": "Bearer new-token"}
        )
        tokens.write_text("new-token\n")  # rotation: the old one is retired
        retired = await a.client.delete(
            f"/api/v1/sessions/{P}", headers={"Authorization": "Bearer old-token"}
        )
    assert (none.status_code, none.json()["code"]) == (401, "unauthorized")
    assert none.headers["www-authenticate"].startswith("Bearer")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "forbidden")
    assert creating_get.status_code == 401
    assert plain_get.status_code == 404  # reads stay open unless configured
    assert ok.status_code == 202 and len(a.log.published) == 1
    assert retired.status_code == 403
    async with api(tokens, auth_reads=True) as a:
        assert (await a.client.get(GET)).status_code == 401
        assert (await a.client.get("/api/v1/sessions")).status_code == 401


def test_open_api_beyond_loopback_is_refused_unless_allowed() -> None:
    auth.check_bind("127.0.0.1", tokens_configured=False, allow_unauthenticated=False)
    auth.check_bind("::1", tokens_configured=False, allow_unauthenticated=False)
    auth.check_bind("0.0.0.0", tokens_configured=True, allow_unauthenticated=False)
    auth.check_bind("0.0.0.0", tokens_configured=False, allow_unauthenticated=True)
    with pytest.raises(SystemExit, match=r"refusing to listen on 0\.0\.0\.0"):
        auth.check_bind("0.0.0.0", tokens_configured=False, allow_unauthenticated=False)


async def test_openapi_document_lists_the_endpoints() -> None:
    async with api() as a:
        doc = (await a.client.get("/openapi.json")).json()
        page = await a.client.get("/docs")
    paths = doc["paths"]
    assert set(paths["/api/v1/sessions"]) == {"get", "post"}
    assert "delete" in paths["/api/v1/sessions/{session_id}"]
    assert "/api/v1/sessions/project/{project_uuid}/events" in paths
    assert page.status_code == 200 and "swagger" in page.text.lower()
