"""Sample events for the contract tests: one valid instance of every event type."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from events import (
    AnyEvent,
    ChartOverrides,
    ProjectCreated,
    ProjectDeleted,
    SessionDeleted,
    SessionFailed,
    SessionReady,
)

MOMENT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


@pytest.fixture
def project_uuid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def created(project_uuid: str) -> ProjectCreated:
    return ProjectCreated(
        project_uuid=project_uuid,
        project_id=42,
        user_id=7,
        overrides=ChartOverrides(
            preview_image="registry.example:5000/team/preview:1.2.3",
            cpu_request="500m",
            memory_request="2Gi",
            env={"FEATURE_FLAG": "on", "_PRIVATE": ""},
        ),
        created_at=MOMENT,
    )


@pytest.fixture
def deleted(project_uuid: str) -> ProjectDeleted:
    return ProjectDeleted(project_uuid=project_uuid, deleted_at=MOMENT)


@pytest.fixture
def ready(project_uuid: str) -> SessionReady:
    base = f"https://{project_uuid}.dev.example.com"
    internal = f"svc.{project_uuid}.svc.cluster.local"
    return SessionReady(
        project_uuid=project_uuid,
        namespace=project_uuid,
        release_name=f"dev-session-{project_uuid}",
        ip_address="10.96.0.17",
        preview_url=f"{base}/preview",
        preview_path="/preview",
        chat_url=f"{base}/chat",
        chat_path="/chat",
        vscode_url=f"{base}/vscode",
        vscode_path="/vscode",
        preview_internal_url=f"http://preview.{internal}:3000",
        chat_internal_url=f"http://chat.{internal}:8080",
        vscode_internal_url=f"http://vscode.{internal}:8443",
        ready_at=MOMENT,
        expires_at=MOMENT + timedelta(days=365),
    )


@pytest.fixture
def session_deleted(project_uuid: str) -> SessionDeleted:
    return SessionDeleted(
        project_uuid=project_uuid,
        namespace=project_uuid,
        release_name=f"dev-session-{project_uuid}",
        deleted_at=MOMENT,
    )


@pytest.fixture
def failed(project_uuid: str) -> SessionFailed:
    return SessionFailed(
        project_uuid=project_uuid,
        operation="provision",
        reason="helm upgrade --install timed out waiting for Deployment 'session'",
        will_retry=True,
        attempts=2,
        failed_at=MOMENT,
    )


@pytest.fixture
def all_events(
    created: ProjectCreated,
    deleted: ProjectDeleted,
    ready: SessionReady,
    session_deleted: SessionDeleted,
    failed: SessionFailed,
) -> list[AnyEvent]:
    return [created, deleted, ready, session_deleted, failed]
