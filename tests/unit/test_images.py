"""The image allow-list: the pure rule, and its hook in intake (over the in-memory fakes)."""

from __future__ import annotations

import pytest

import events
from consumer.domain.errors import PermanentError
from consumer.domain.images import ImagePolicy, parse_ref
from consumer.domain.model import Status
from consumer.service.actions.provision import ProvisionConfig, provision
from tests.unit.conftest import SETTINGS, World, make_world

DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("reference", "repository", "tag", "digest"),
    [
        ("node", "docker.io/library/node", None, None),
        ("node:22", "docker.io/library/node", "22", None),
        ("codercom/code-server:4.1", "docker.io/codercom/code-server", "4.1", None),
        ("index.docker.io/library/node:1", "docker.io/library/node", "1", None),
        ("ghcr.io/acme/app:1.2", "ghcr.io/acme/app", "1.2", None),
        ("registry.local:5000/team/app", "registry.local:5000/team/app", None, None),
        ("localhost/app:dev", "localhost/app", "dev", None),
        (f"ghcr.io/acme/app@{DIGEST}", "ghcr.io/acme/app", None, DIGEST),
        (f"ghcr.io/acme/app:1@{DIGEST}", "ghcr.io/acme/app", "1", DIGEST),
    ],
)
def test_references_normalise_as_runtimes_pull_them(
    reference: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_ref(reference)
    assert (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)


ALLOW = ImagePolicy.parse(f"ghcr.io/acme, docker.io/library  registry.local:5000/x/app@{DIGEST}")


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme/app:1",
        "ghcr.io/acme/team/app@" + DIGEST,
        "node:22",
        "docker.io/library/python:3.13",
        "registry.local:5000/x/app@" + DIGEST,
    ],
)
def test_listed_registries_and_digests_are_allowed(image: str) -> None:
    assert ALLOW.refusal({"vscode_image": image}) is None


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/acme-evil/app:1",  # prefix only at a path boundary
        "ghcr.io.evil.example/acme/app:1",  # a host that starts like an allowed one
        "ghcr.io/other/app:1",
        "codercom/code-server:4",  # docker.io/codercom, not docker.io/library
        "registry.local:5000/x/app:latest",  # pinned entry: the digest is required
        "registry.local:5000/x/app@" + OTHER_DIGEST,
        "registry.local:5000/x/app-two@" + DIGEST,
    ],
)
def test_anything_else_is_refused_naming_the_rule_and_image(image: str) -> None:
    why = ALLOW.refusal({"preview_image": "node:22", "chat_image": image})
    assert why is not None
    assert "DEVSESSIONS_IMAGE_ALLOW_LIST" in why and f"chat_image {image!r}" in why


def test_empty_list_refuses_every_image_override_but_nothing_else() -> None:
    policy = ImagePolicy.parse("")
    assert policy.refusal({"cpu_request": "1", "env": {"A": "b"}}) is None
    assert "no image override is allowed" in (policy.refusal({"vscode_image": "node"}) or "")


@pytest.mark.parametrize(
    "entry", ["library/node", "node", "ghcr.io/Acme", "ghcr.io@sha256:1", "-x.io"]
)
def test_bad_entries_are_refused_at_start(entry: str) -> None:
    with pytest.raises(ValueError, match="DEVSESSIONS_IMAGE_ALLOW_LIST"):
        ImagePolicy.parse(entry)


def world_allowing(allow: str) -> World:
    return make_world(settings=SETTINGS.model_copy(update={"image_allow_list": allow}))


async def test_refused_override_is_answered_at_intake_and_never_retried(project: str) -> None:
    world = world_allowing("ghcr.io/acme")
    overrides = events.ChartOverrides(vscode_image="docker.io/evil/miner:1")
    await world.intake.handle(world.record(world.created(project, overrides=overrides)))
    await world.settle()
    assert world.helm.calls == [] and project not in world.cluster.namespaces
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.FAILED and session.converged
    assert session.overrides == {}, "refused overrides are not kept for anyone to act on"
    [failed] = world.published(project)
    assert isinstance(failed.data, events.SessionFailed)
    assert failed.data.will_retry is False
    assert "DEVSESSIONS_IMAGE_ALLOW_LIST" in failed.data.reason
    assert "docker.io/evil/miner" in failed.data.reason
    world.clock.advance(3600)
    await world.settle()
    assert world.helm.calls == [] and len(world.published(project)) == 1


async def test_refusal_leaves_a_running_session_as_it_was(project: str) -> None:
    world = world_allowing("ghcr.io/acme")
    good = events.ChartOverrides(vscode_image="ghcr.io/acme/code:1")
    await world.intake.handle(world.record(world.created(project, overrides=good)))
    await world.settle()
    before = await world.sessions.get(project)
    assert before is not None and before.status is Status.RUNNING
    bad = events.ChartOverrides(vscode_image="quay.io/x/y:1")
    await world.intake.handle(world.record(world.created(project, overrides=bad)))
    await world.settle()
    after = await world.sessions.get(project)
    assert after is not None and after.status is Status.RUNNING
    assert after.overrides == before.overrides and after.generation == before.generation
    assert [c[0] for c in world.helm.mutating_calls()] == ["upgrade"]
    kinds = [type(e.data) for e in world.published(project)]
    assert kinds == [events.SessionReady, events.SessionFailed]


async def test_allowed_override_provisions(project: str) -> None:
    world = world_allowing("ghcr.io/acme")
    overrides = events.ChartOverrides(vscode_image="ghcr.io/acme/code:1")
    await world.intake.handle(world.record(world.created(project, overrides=overrides)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    values = world.helm.releases[(project, f"dev-session-{project}")].values
    assert values["containers"]["vscode"]["image"] == "ghcr.io/acme/code:1"


async def test_provision_checks_again_when_the_list_shrank(project: str) -> None:
    world = world_allowing("ghcr.io/acme")
    overrides = events.ChartOverrides(vscode_image="ghcr.io/acme/code:1")
    await world.intake.handle(world.record(world.created(project, overrides=overrides)))
    session = await world.sessions.get(project)
    assert session is not None
    config = ProvisionConfig(
        "https://{project_uuid}.x{path}", 5, images=ImagePolicy.parse("quay.io")
    )
    with pytest.raises(PermanentError, match="DEVSESSIONS_IMAGE_ALLOW_LIST"):
        await provision(session, helm=world.helm, cluster=world.cluster, config=config)
    assert world.helm.calls == []
