"""The product end to end on the real stack: Kafka, PostgreSQL, kube-apiserver + kwok, helm.

The service runs as ``devsessions run`` in a child process; events go in through the
publishing helper; results are read from the output topic, PostgreSQL and the cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

import events
from consumer.domain import endpoints
from consumer.settings import Settings
from events.publish import EventPublisher
from tests.design import DESIGN_FIELDS
from tests.e2e.harness import (
    OutputWatcher,
    Topology,
    created,
    deleted,
    namespace_exists,
    new_project,
    of,
    run_cli,
    running,
)

READY_TIMEOUT = 180


async def test_create_then_delete_round_trip(
    topo: Topology, core: client.CoreV1Api, service_log: Path
) -> None:
    project = new_project()
    with running(topo, service_log) as service:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            await pub.publish(created(project))
            seen = await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
            [ready] = of(seen, project, events.SessionReady)
            data = ready.data
            assert isinstance(data, events.SessionReady)
            svc = core.read_namespaced_service("session", project)
            assert data.ip_address == svc.spec.cluster_ip and data.ip_address
            assert (data.preview_path, data.chat_path, data.vscode_path) == (
                "/preview",
                "/chat",
                "/vscode",
            )
            default = Settings.model_fields["public_url_template"].default
            template = topo.env().get("DEVSESSIONS_PUBLIC_URL_TEMPLATE", default)
            assert data.preview_url == endpoints.public_url(
                template, project_uuid=project, namespace=project, ip_address=data.ip_address,
                path="/preview",
            )  # fmt: skip
            assert (
                data.vscode_internal_url == f"http://vscode.{project}.svc.cluster.local:8080/vscode"
            )
            assert data.namespace == project and data.release_name == f"dev-session-{project}"
            labels = core.read_namespace(project).metadata.labels
            assert labels["devsessions.io/project-uuid"] == project
            assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
            pods = core.list_namespaced_pod(project).items
            assert pods and all(p.status.phase == "Running" for p in pods)
            code, body = service.get(f"/api/v1/sessions/project/{project}")
            view = json.loads(body)
            assert code == 200 and view["status"] == "running"
            assert view["ip_address"] == data.ip_address
            shown = run_cli(topo, "sessions", "show", project, "--json")
            assert shown.returncode == 0, shown.stderr
            doc = json.loads(shown.stdout)
            for field in (*DESIGN_FIELDS, "created_at", "updated_at"):
                assert field in doc, field
            assert doc["status"] == "running" and doc["chat_url"] == data.chat_url
            code, body = service.get("/metrics")
            assert code == 200 and b'devsessions_helm_calls_total{verb="upgrade"}' in body
            code, body = service.get("/asyncapi.json")
            assert code == 200 and json.loads(body)["asyncapi"].startswith("3.")

            await pub.publish(deleted(project))
            seen = await out.wait_for(
                lambda s: of(s, project, events.SessionDeleted), READY_TIMEOUT
            )
            assert not namespace_exists(core, project), "SessionDeleted before the namespace went"
    releases = [line for line in topo.helm_calls("upgrade") if project in line]
    assert len(releases) == 1


async def test_duplicates_and_redelivery(topo: Topology, service_log: Path) -> None:
    project = new_project()
    with running(topo, service_log):
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            first = await pub.publish(created(project), event_id=f"dup-{project}")
            await pub.publish(created(project), event_id=first.id)  # the same event again
            await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
            await pub.publish(created(project))  # same project, a new event id
            seen = await out.wait_for(
                lambda s: len(of(s, project, events.SessionReady)) >= 2, READY_TIMEOUT
            )
            readies = of(seen, project, events.SessionReady)
            assert len({e.id for e in readies}) == len(readies) == 2
    upgrades = [line for line in topo.helm_calls("upgrade") if project in line]
    assert len(upgrades) == 1, upgrades


async def test_malformed_record_is_dead_lettered_and_neighbours_processed(
    topo: Topology, service_log: Path
) -> None:
    from aiokafka import AIOKafkaProducer

    before, after = new_project(), new_project()
    with running(topo, service_log):
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.dead_letter_topic) as dlq,
        ):
            await pub.publish(created(before))
            producer = AIOKafkaProducer(bootstrap_servers=topo.stack.kafka_bootstrap_servers)
            await producer.start()
            try:
                await producer.send_and_wait(
                    topo.input_topic,
                    key=before.encode(),
                    value=b'{"project_uuid": 1}',
                    headers=[
                        ("ce_specversion", b"1.0"),
                        ("ce_id", b"bad-1"),
                        ("ce_source", b"urn:test"),
                        ("ce_time", b"2026-11-25T12:00:00Z"),
                        ("ce_type", b"io.devsessions.project.created.v1"),
                        ("content-type", b"application/json"),
                    ],
                )
                await producer.send_and_wait(  # a header that is not UTF-8 text
                    topo.input_topic,
                    key=before.encode(),
                    value=b"{}",
                    headers=[("ce_specversion", b"1.0"), ("ce_id", b"\xff\xfe")],
                )
            finally:
                await producer.stop()
            await pub.publish(created(after))
            await out.wait_for(
                lambda s: of(s, before, events.SessionReady) and of(s, after, events.SessionReady),
                READY_TIMEOUT,
            )
            deadline_hit = False
            for _ in range(20):
                await dlq.poll()
                if len(dlq.records) >= 2:
                    break
            else:
                deadline_hit = True
            assert not deadline_hit, "nothing reached the dead-letter topic"
            bad, not_text = dlq.records
            assert dict(not_text.headers)[events.DLQ_CODE_HEADER] == b"invalid-header"
            assert dict(not_text.headers)["ce_id"] == b"\xff\xfe"  # kept as delivered
            headers = dict(bad.headers)
            assert bad.value == b'{"project_uuid": 1}'
            assert headers[events.DLQ_CODE_HEADER] == b"invalid-data"
            assert b"project_uuid" in headers[events.DLQ_REASON_HEADER]
            assert headers[events.DLQ_SOURCE_TOPIC_HEADER] == topo.input_topic.encode()


@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGTERM"])
async def test_crash_mid_install_then_restart_converges(
    topo: Topology, service_log: Path, signal_name: str
) -> None:
    import time

    projects = [new_project() for _ in range(6)]
    async with (
        EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
        OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
    ):
        from tests.e2e.harness import ServiceProcess

        service = ServiceProcess(topo, service_log)
        service.start()
        for p in projects:
            await pub.publish(created(p))
        deadline = time.monotonic() + 120
        while not any(p in line for line in topo.helm_calls("upgrade") for p in projects):
            assert time.monotonic() < deadline, service.tail()
            await asyncio.sleep(0.05)
        if signal_name == "SIGKILL":
            service.kill()
        else:  # graceful: in-flight work finishes or is left to resume; exit code 0
            assert service.stop(timeout=120) == 0, service.tail()
        with running(topo, service_log):
            seen = await out.wait_for(
                lambda s: all(of(s, p, events.SessionReady) for p in projects), READY_TIMEOUT * 2
            )
    assert all(of(seen, p, events.SessionReady) for p in projects)
    for p in projects:  # one release each: the crash never led to a second install
        status = await asyncio.to_thread(
            subprocess.run,
            [str(topo.stack.helm_binary), "status", f"dev-session-{p}", "-n", p, "-o", "json"],
            env={**os.environ, "KUBECONFIG": str(topo.stack.kubeconfig)},
            capture_output=True,
            text=True,
            check=True,
        )
        # Revision 1: the release was installed once and never upgraded or installed over
        # (an interrupted install is uninstalled first, so its successor is revision 1 too).
        assert json.loads(status.stdout)["version"] == 1, "a second install or upgrade"
        assert sum(p in line for line in topo.helm_calls("uninstall")) <= 1


async def test_namespace_deleted_by_hand_is_repaired(
    topo: Topology, core: client.CoreV1Api, service_log: Path
) -> None:
    project = new_project()
    with running(topo, service_log, DEVSESSIONS_DRIFT_CHECK_INTERVAL_SECONDS="2"):
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            await pub.publish(created(project))
            await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
            core.delete_namespace(project)  # by hand, behind the service's back
            seen = await out.wait_for(
                lambda s: len(of(s, project, events.SessionReady)) >= 2, READY_TIMEOUT
            )
            first, second = of(seen, project, events.SessionReady)[:2]
            assert first.id != second.id
            assert (
                second.data.ip_address
                == core.read_namespaced_service("session", project).spec.cluster_ip
            )
