"""``devsessions publish``: send one well-formed project event to the input topic.

For upstream developers and for tests: the event is built with the ``events`` models
(so invalid input is refused before anything is sent), published with
``events.EventPublisher`` (idempotent producer, CloudEvents Kafka binary mode), and
the event id, topic, partition and offset are printed. Kafka address and topic come
from ``consumer.settings.Settings`` (``DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS``,
``DEVSESSIONS_INPUT_TOPIC``).

Exit codes: 0 published, 1 Kafka unreachable or refused the record, 2 invalid input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from events import ProjectEvent

app = typer.Typer(
    help="Publish project events to the input topic (CloudEvents on Kafka).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

UUID_HELP = "Project UUID: canonical lowercase, e.g. 0b5c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b."
EVENT_ID_HELP = "CloudEvents id (default: a new uuid4); reuse one to publish a duplicate."
TIMEOUT_HELP = "Seconds to wait for Kafka before giving up."


@app.command("project-created")
def project_created(
    project_uuid: str = typer.Argument(..., help=UUID_HELP),
    *,
    user_id: int = typer.Option(..., "--user-id", help="Owner's user id (>= 0)."),
    project_id: int = typer.Option(..., "--project-id", help="Upstream project id (>= 0)."),
    override_json: str | None = typer.Option(
        None, "--override-json", help='Chart overrides as JSON, e.g. {"cpu_request": "500m"}.'
    ),
    event_id: str | None = typer.Option(None, "--event-id", help=EVENT_ID_HELP),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help=TIMEOUT_HELP),
) -> None:
    """Publish ProjectCreated: the project should get an always-on session."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from events import ChartOverrides, ProjectCreated
    from events.errors import describe_validation

    try:
        overrides = ChartOverrides.model_validate_json(override_json) if override_json else None
        data = ProjectCreated(
            project_uuid=project_uuid,
            project_id=project_id,
            user_id=user_id,
            overrides=overrides,
            created_at=datetime.now(UTC),
        )
    except ValidationError as error:
        prefix = "overrides" if error.title == "ChartOverrides" else ""
        _fail(2, f"invalid event: {describe_validation(error, prefix)}")
    _publish(data, event_id, timeout)


@app.command("project-deleted")
def project_deleted(
    project_uuid: str = typer.Argument(..., help=UUID_HELP),
    *,
    event_id: str | None = typer.Option(None, "--event-id", help=EVENT_ID_HELP),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help=TIMEOUT_HELP),
) -> None:
    """Publish ProjectDeleted: the project's session should be torn down."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from events import ProjectDeleted
    from events.errors import describe_validation

    try:
        data = ProjectDeleted(project_uuid=project_uuid, deleted_at=datetime.now(UTC))
    except ValidationError as error:
        _fail(2, f"invalid event: {describe_validation(error, '')}")
    _publish(data, event_id, timeout)


def _publish(data: ProjectEvent, event_id: str | None, timeout: float) -> None:
    import asyncio

    from aiokafka.errors import KafkaError
    from pydantic import ValidationError

    from consumer.settings import Settings
    from events import EncodeError, EventPublisher
    from events.errors import describe_validation

    settings = Settings()

    async def send() -> None:
        async with asyncio.timeout(timeout):
            publisher = EventPublisher(
                settings.kafka_bootstrap_servers,
                topic=settings.input_topic,
                request_timeout_ms=max(1000, int(timeout * 1000)),
            )
            async with publisher:
                delivery = await publisher.send(data, event_id=event_id)
        envelope = delivery.envelope
        typer.echo(
            f"published {envelope.type.value} id={envelope.id} topic={delivery.topic} "
            f"partition={delivery.partition} offset={delivery.offset}"
        )

    where = settings.kafka_bootstrap_servers
    try:
        asyncio.run(send())
    except ValidationError as error:  # e.g. an --event-id longer than 256 characters
        _fail(2, f"invalid event: {describe_validation(error, '')}")
    except EncodeError as error:
        _fail(2, f"invalid event: {error}")
    except TimeoutError:
        _fail(1, f"Kafka at {where} did not answer within {timeout:g}s")
    except (KafkaError, OSError) as error:
        _fail(1, f"cannot publish to Kafka at {where}: {error}")


def _fail(code: int, message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
