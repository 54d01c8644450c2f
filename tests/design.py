"""What the design document promises of a session, spelled out once for every suite.

Kept apart from the service's own definitions (``consumer.domain.model.ENDPOINT_FIELDS``,
``consumer.entrypoints.api.schemas``), so a field dropped there fails these tests.
"""

from __future__ import annotations

DESIGN_ENDPOINT_FIELDS = (
    "ip_address",
    "preview_url",
    "preview_path",
    "chat_url",
    "chat_path",
    "vscode_url",
    "vscode_path",
)
"""Where the design says a running session is reached."""

DESIGN_FIELDS = ("id", "project_uuid", "namespace", "status", *DESIGN_ENDPOINT_FIELDS)
"""The fields of a session document the design names (API answers, ``sessions show``)."""
