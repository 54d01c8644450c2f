"""``devsessions demo``: one project provisioned end to end on the local stack.

Runs the service in this process, publishes a ``ProjectCreated`` for a fresh project,
waits for its ``SessionReady`` on the output topic, prints it and what the cluster holds,
then the session's URLs as a person on this machine opens them and whether ``/vscode``
answers with VS Code (:mod:`consumer.cli.demo_urls`), then keeps serving (Ctrl-C stops)
unless ``--exit`` is given. On a stack that holds the real node the session runs there
(its values file, ``DEVSESSIONS_REAL_NODE_VALUES_FILE``); ``--fake-node`` keeps it on kwok.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from consumer.service.intake import RawRecord
    from consumer.settings import Settings

app = typer.Typer()


REAL_VALUES_VAR = "DEVSESSIONS_REAL_NODE_VALUES_FILE"
DEMO_USER = 123  # the demo project's owner: the one its access link is minted for


def _stack_env() -> None:
    """Use the local stack's settings unless the environment already names a stack."""
    if os.environ.get("DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS"):
        return
    from devstack import api

    info = api.info()
    if info is None:
        typer.echo(
            "no stack described by the environment and none running: "
            "run `devsessions stack up` first",
            err=True,
        )
        raise typer.Exit(2)
    os.environ.update(info.env)


def _place(fake_node: bool) -> bool:
    """Put the demo session on the real node when the stack offers it; True when it does."""
    real_values = os.environ.get(REAL_VALUES_VAR)
    if fake_node or not real_values:
        return False
    os.environ["DEVSESSIONS_CHART_VALUES_FILE"] = real_values
    return True


@app.command()
def demo(
    exit_after: bool = typer.Option(False, "--exit", help="Stop once the session is ready."),
    timeout: float = typer.Option(300.0, help="Seconds to wait for SessionReady."),
    port: int = typer.Option(8080, help="HTTP port for /metrics and the session API."),
    fake_node: bool = typer.Option(
        False, "--fake-node", help="Run the session on a fake (kwok) node even with a real one."
    ),
) -> None:
    """Provision one project end to end and show its SessionReady."""
    _stack_env()
    real_node = _place(fake_node)
    os.environ.setdefault("DEVSESSIONS_HTTP_PORT", str(port))
    from consumer import settings as settings_mod
    from consumer.observability import logging as logs

    settings = settings_mod.load()
    logs.configure(settings.log_level, json=settings.log_json)
    asyncio.run(_demo(settings, exit_after=exit_after, timeout=timeout, real_node=real_node))


async def _demo(settings: Settings, *, exit_after: bool, timeout: float, real_node: bool) -> None:
    from rich.console import Console

    import events
    from consumer import bootstrap
    from consumer.cli import demo_urls
    from consumer.entrypoints import app as service_app

    console = Console()
    service = bootstrap.build(settings)
    _, asgi = service_app.build_app(service)
    server = service_app.make_server(settings, asgi)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.1)

    project = str(uuid.uuid4())
    async with bootstrap.follow_output(settings) as answers:
        async with events.EventPublisher(
            settings.kafka_bootstrap_servers, topic=settings.input_topic
        ) as publisher:
            begin = time.monotonic()
            sent = await publisher.publish(
                events.ProjectCreated(
                    project_uuid=project,
                    project_id=456,
                    user_id=DEMO_USER,
                    created_at=datetime.now(UTC),
                )
            )
        console.rule(f"ProjectCreated {project} published (event id {sent.id})")
        ready = await asyncio.wait_for(_await_ready(answers, project), timeout)
    console.rule(
        f"SessionReady received from the output topic after {time.monotonic() - begin:.1f}s"
    )
    console.print_json(json.dumps(ready))
    session = await service.sessions.get(project)
    if session is not None:
        ip = session.endpoints.ip_address if session.endpoints else ""
        console.rule("devsessions sessions show " + project)
        console.print(
            f"status={session.status.value} namespace={session.namespace} "
            f"release={session.release_name} ip={ip}"
        )
    base = f"http://{settings.http_host}:{settings.http_port}"
    console.print(f"\nSession API: {base}/api/v1/sessions/project/{project}", soft_wrap=True)
    console.print(
        f"Inspect: kubectl get deploy,svc,ingress,pvc,pods -o wide -n {project}", soft_wrap=True
    )
    await asyncio.to_thread(
        demo_urls.show,
        console,
        ready,
        real_node=real_node,
        api_base=f"http://127.0.0.1:{settings.http_port}",
        user_id=DEMO_USER,
    )
    if exit_after:
        server.should_exit = True
    else:
        console.print(
            "The consumer keeps running: publish more with `devsessions publish ...`; Ctrl-C stops."
        )
    await serving


async def _await_ready(answers: AsyncIterator[RawRecord], project: str) -> dict[str, Any]:
    import events

    async for r in answers:
        if r.key != project.encode():
            continue
        envelope = events.from_record(r.key, r.value, r.headers)
        if isinstance(envelope.data, events.SessionReady):
            return envelope.data.model_dump(mode="json")
        if isinstance(envelope.data, events.SessionFailed):
            print(f"SessionFailed: {envelope.data.reason} (will retry: {envelope.data.will_retry})")
    raise RuntimeError("output topic ended")
