"""Structured logging (structlog) for the service and its CLI.

JSON lines in production (``DEVSESSIONS_LOG_JSON=true``), readable key=value lines on a
terminal. Standard-library loggers (FastStream, aiokafka, alembic) go through the same
renderer so one process writes one format.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "INFO", *, json: bool = False) -> None:
    """Configure structlog and the standard library root logger once per process."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        # Plain tracebacks: rich ones with locals took long enough to render, in a
        # storm of failing retries, to stall the event loop (Kafka was then named failing
        # while only PostgreSQL was away).
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # filter first: a line below the level then costs one level check, not the chain
        # (intake logs a debug line per event, thousands per second)
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # JSON has no renderer of its own for exc_info: without this, a logged
                # exception came out as "exc_info": true and its traceback was lost
                *([structlog.processors.format_exc_info] if json else []),
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kubernetes.client.rest", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
