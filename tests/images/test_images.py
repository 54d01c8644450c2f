"""Local images: content-keyed builds are cache hits, and the session's containers answer.

Against podman itself: a tiny image built twice (the second is a hit, a changed file is a
new tag and the old tag goes), the session's image set ensured twice, and each of the
preview, chat and VS Code containers run with the chart's restrictions as uid 1000 and
serving what a person opens (the page; VS Code's workbench HTML and its health check).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from devstack import engine, imagebuild, local_images, steps

from tests.images.helpers import get, podman, run_restricted, wait_for

pytestmark = [pytest.mark.images, pytest.mark.slow]


def tiny_spec(context: Path, base: str) -> imagebuild.ImageSpec:
    return imagebuild.ImageSpec(
        name=f"test-tiny-{context.name[-8:]}".lower(),
        context=context,
        containerfile=context / "Containerfile",
        build_args={"BASE_IMAGE": base},
        base=base,
    )


def test_second_build_is_a_cache_hit_and_a_change_is_a_new_tag(
    session_images: dict[str, str], tmp_path: Path, build_log: Path
) -> None:
    context = tmp_path / f"ctx{uuid.uuid4().hex[:8]}"
    context.mkdir()
    (context / "Containerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY hello.txt /hello.txt\n"
    )
    (context / "hello.txt").write_text(f"hello {uuid.uuid4()}\n")
    spec = tiny_spec(context, session_images["base"])
    try:
        first = imagebuild.ensure(spec, build_log)
        begin = time.monotonic()
        second = imagebuild.ensure(spec, build_log)
        assert first.built and not second.built
        assert second.tag == first.tag and time.monotonic() - begin < 5
        (context / "hello.txt").write_text("changed\n")
        third = imagebuild.ensure(spec, build_log)
        assert third.built and third.tag != first.tag
        assert podman("run", "--rm", third.tag, "cat", "/hello.txt").stdout == "changed\n"
        assert imagebuild.tags_newest_first(spec.name) == [third.tag, first.tag]
        assert imagebuild.prune(spec.name, build_log, keep=1) == [first.tag]
        assert engine.image_exists(third.tag) and not engine.image_exists(first.tag)
    finally:
        imagebuild.prune(spec.name, build_log, keep=0)


def test_the_session_images_are_cached_and_named_by_content(
    session_images: dict[str, str], build_log: Path
) -> None:
    class Notes(steps.NullReporter):
        def __init__(self) -> None:
            self.notes: dict[str, str] = {}

        def finished(self, step: str, seconds: float, note: str) -> None:
            self.notes[step] = note

    reported = Notes()
    begin = time.monotonic()
    again = local_images.ensure_all(
        build_log, service=False, around=lambda name: steps.step(reported, name, build_log)
    )
    assert {b.name: b.tag for b in again} == session_images
    assert not any(b.built for b in again)
    assert time.monotonic() - begin < 15
    assert reported.notes["base"] == "cached"
    for name in local_images.SESSION_IMAGES:
        assert reported.notes[name] == "cached " + session_images[name].rpartition(":")[2]
    for name in local_images.SESSION_IMAGES:
        assert session_images[name].startswith(f"localhost/devsessions/{name}:")
        user = podman("image", "inspect", "--format", "{{.Config.User}}", session_images[name])
        assert user.stdout.strip() == "1000:1000", name


@pytest.mark.parametrize(
    ("name", "port", "title"), [("preview", 3000, "App preview"), ("chat", 3001, "AI chat")]
)
def test_page_containers_run_as_uid_1000_and_answer(
    session_images: dict[str, str], name: str, port: int, title: str
) -> None:
    with run_restricted(session_images[name], port) as container:
        status, body = wait_for(container.url + "/", timeout=60)
        assert status == 200, body
        assert f"<h1>{title}</h1>" in body
        assert "00000000-0000-4000-8000-000000000001" in body
        assert container.uid() == "1000"
        if name == "chat":
            _, echoed, _ = get(container.url + "/?say=hello+there")
            assert "You said: <q>hello there</q>" in echoed


def test_vscode_container_serves_vs_code_as_uid_1000(session_images: dict[str, str]) -> None:
    args = ["--bind-addr", "0.0.0.0:8080", "--auth", "none", "--disable-telemetry"]
    with run_restricted(session_images["vscode"], 8080, args=[*args, "/home/coder"]) as vscode:
        status, body = wait_for(vscode.url + "/healthz", timeout=120)
        assert status == 200, body
        status, _, headers = get(vscode.url + "/")
        assert status == 302 and headers["Location"].startswith("./?folder=")
        status, html = wait_for(vscode.url + "/?folder=/home/coder", timeout=60)
        assert status == 200
        assert "vs/code/browser/workbench/workbench.js" in html, html[:500]
        assert vscode.uid() == "1000"
