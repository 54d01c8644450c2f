"""The stack's Python API: ``up``, ``down``, ``status``, ``info``, ``from_env``, ``ensure_helm``,
``real_node``, ``import_image``, ``container_engine``, and ``stop_component`` /
``start_component`` (one component down and back, for fault-injection tests).

Orchestration only: each component's own module knows how to build, start and check
it. ``up`` is re-entrant (running components are reused, stopped ones started) and
holds a lock on the state directory so two callers never race.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import (
    cache,
    core_steps,
    engine_service,
    health,
    helm,
    kafka,
    kube,
    kube_build,
    kube_config,
    node,
    node_access,
    node_steps,
    paths,
    pins,
    ports,
    postgres,
    procs,
    session_web,
)
from devstack import record as rec
from devstack.record import StackInfo
from devstack.steps import NullReporter, Reporter, step

PORT_NAMES = (
    "kafka",
    "kafka_controller",
    "kafka_node",
    "postgres",
    "kube_apiserver",
    "ingress",
    session_web.SERVICE_PORT,
    *kube_config.COMPONENT_PORTS,
    *node.PORT_NAMES,
)


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    healthy: bool
    detail: str


def ensure_helm(reporter: Reporter | None = None) -> Path:
    """Build (or find cached) the pinned helm; return its path."""
    state = paths.layout()
    with step(reporter or NullReporter(), "helm binary", state.log("build-helm")) as note:
        binary, built = helm.ensure(pins.load(), state.log("build-helm"))
        note.text = "built" if built else "cached"
    return binary


def ensure_images(reporter: Reporter | None = None, *, service: bool = True) -> dict[str, str]:
    """Build (or find cached) every local image; return ``name -> tag``.

    Names: ``base``, ``preview``, ``chat``, ``vscode`` and, with ``service``, ``python``,
    ``go`` (the service's build stand-ins) and ``service`` (deploy/container/Containerfile).
    """
    return session_web.ensure_images(reporter or NullReporter(), paths.layout(), service=service)


def _choose_ports(state: paths.StateLayout, kept: dict[str, int]) -> dict[str, int]:
    """Kept ports, except where the component is stopped and someone else took the port."""
    fresh = dict(kept)
    for name, component in (
        ("kafka", "kafka"),
        ("kafka_controller", "kafka"),
        ("kafka_node", "kafka"),
        ("postgres", "postgres"),
        ("ingress", "ingress"),
    ):
        port = fresh.get(name)
        if port and procs.running(state.pid(component)) is None and ports.is_listening(port):
            del fresh[name]
    return ports.assign(PORT_NAMES, fresh)


def _build(reporter: Reporter, state: paths.StateLayout, p: pins.Pins) -> dict[str, Path]:
    ensure_helm(reporter)
    built: dict[str, Path] = {"helm": paths.cache_dir("helm", p.helm.version) / "helm"}
    for name, ensure in (
        ("kubernetes binaries", kube_build.ensure_kubernetes),
        ("etcd binary", kube_build.ensure_etcd),
        ("kwok binaries", kube_build.ensure_kwok),
    ):
        log = state.log("build-" + name.split()[0])
        with step(reporter, name, log) as note:
            _directory, fresh = ensure(p, log)
            note.text = "built" if fresh else "cached"
    with step(reporter, "kafka jars", state.log("build-kafka")) as note:
        built["kafka_libs"], fresh = kafka.ensure_jars(p.kafka, state.log("build-kafka"))
        note.text = "resolved with Maven" if fresh else "cached"
    with step(reporter, "postgresql packages", state.log("build-postgres")) as note:
        built["pg_bin"], fresh = postgres.ensure_installed(
            p.postgresql, state.log("build-postgres")
        )
        note.text = "installed" if fresh else f"found {built['pg_bin'].parent.name}"
    node_steps.build(reporter, state, p)
    return built


def up(reporter: Reporter | None = None) -> StackInfo:
    """Build what is missing, start what is stopped, wait until all is healthy."""
    reporter = reporter or NullReporter()
    state, p = paths.layout(), pins.load()
    state.root.mkdir(parents=True, exist_ok=True)
    with cache.file_lock(state.lock):
        data: dict[str, Any] = rec.load(state.stack_json)
        built = _build(reporter, state, p)
        port_map = _choose_ports(state, dict(data.get("ports", {})))
        data.update(
            ports=port_map, kubeconfig=str(state.kubeconfig), helm_binary=str(built["helm"])
        )
        rec.save(state.stack_json, data)
        core_steps.start_postgres(reporter, state, built["pg_bin"], port_map["postgres"])
        core_steps.start_kafka(reporter, state, p, built["kafka_libs"], port_map)
        core_steps.start_kube(reporter, state, p, port_map)
        data["real_node"] = node_steps.start(reporter, state, p, port_map)
        rec.save(state.stack_json, data)
        images = session_web.ensure_images(reporter, state, service=False)
        data["container_engine"] = engine_service.up(reporter, state, available=bool(images))
        node_steps.load_images(reporter, state, data["real_node"], images)
        real = data["real_node"].get("state") == "running"
        session_web.write_values(state, images, real_node=real)
        session_web.ensure_access_keys(state)
        session_web.start_ingress(
            reporter,
            state,
            port_map["ingress"],
            state.kubeconfig,
            service_port=port_map[session_web.SERVICE_PORT],
        )
        data.update(images=images, session_env=session_web.exports(state, data))
        info = rec.info_from(data)
        assert info is not None
        data.update(
            kafka_bootstrap_servers=info.kafka_bootstrap_servers,
            database_url=info.database_url,
            up_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            versions={
                "kubernetes": p.kubernetes.version,
                "etcd": p.etcd.version,
                "kwok": p.kwok.version,
                "helm": p.helm.version,
                "kafka": p.kafka.version,
                "postgresql": built["pg_bin"].parent.name,
            },
        )
        rec.save(state.stack_json, data)
    return info


def down() -> list[str]:
    """Stop exactly the processes the stack started (by pid, whole process groups)."""
    state = paths.layout()
    stopped: list[str] = []
    if not state.root.exists():
        return stopped
    with cache.file_lock(state.lock):
        if session_web.stop(state):
            stopped.append("ingress")
        if engine_service.stop(state):
            stopped.append("container engine")
        stopped += node.stop(state)
        stopped += [f"kube {name}" for name in kube.stop(state)]
        if procs.stop_pid_file(state.pid(kafka.COMPONENT), grace=30):
            stopped.append("kafka")
        if procs.stop_pid_file(state.pid(postgres.COMPONENT), first=signal.SIGINT, grace=30):
            stopped.append("postgresql")
    return stopped


# Components ``stop_component`` / ``start_component`` know: the stack's name -> pid file.
STOPPABLE = {"kafka": kafka.COMPONENT, "postgresql": postgres.COMPONENT}


def stop_component(name: str) -> bool:
    """Stop one component of the running stack (``STOPPABLE``), keeping its data and ports.

    For fault-injection tests: everything else keeps running, and ``start_component`` (or
    ``up``) brings it back on the same port with the same data. Returns whether it ran.
    Tests must start it again in a ``finally``: other tests share the stack.
    """
    if name not in STOPPABLE:
        raise ValueError(f"cannot stop {name!r} alone; one of: {', '.join(STOPPABLE)}")
    state = paths.layout()
    first = signal.SIGINT if name == "postgresql" else signal.SIGTERM  # pg: fast shutdown
    with cache.file_lock(state.lock):
        return procs.stop_pid_file(state.pid(STOPPABLE[name]), first=first, grace=30)


def start_component(name: str) -> None:
    """Start one component again (``STOPPABLE``) on the ports ``stack.json`` recorded and
    wait until it answers; reuses it when it already runs. RuntimeError when the stack was
    never brought up here."""
    if name not in STOPPABLE:
        raise ValueError(f"cannot start {name!r} alone; one of: {', '.join(STOPPABLE)}")
    state, p = paths.layout(), pins.load()
    with cache.file_lock(state.lock):
        port_map = rec.load(state.stack_json).get("ports")
        if not port_map:
            raise RuntimeError("no stack here yet: run `devsessions stack up` first")
        reporter = NullReporter()
        if name == "kafka":
            libs, _ = kafka.ensure_jars(p.kafka, state.log("build-kafka"))
            core_steps.start_kafka(reporter, state, p, libs, port_map)
        else:
            pg_bin, _ = postgres.ensure_installed(p.postgresql, state.log("build-postgres"))
            core_steps.start_postgres(reporter, state, pg_bin, port_map["postgres"])


def info() -> StackInfo | None:
    """The running stack's description, or None when it is not (fully) running."""
    state = paths.layout()
    described = rec.info_from(rec.load(state.stack_json))
    if described is None:
        return None
    alive = [procs.running(state.pid(c)) for c in (kafka.COMPONENT, postgres.COMPONENT)]
    if any(a is None for a in alive) or not core_steps.kube_running(state):
        return None
    if real_node().get("state") == "running" and not node.running(state):
        return None
    return described


# The real node: its description in stack.json, and the image import the images use.
real_node = node_steps.real_node
import_image = node_steps.import_image


def pod_endpoints() -> dict[str, str]:
    """How a pod on the real node reaches Kafka and PostgreSQL (``kafka_bootstrap_servers``,
    ``database_url``, see :mod:`devstack.node_access`); the API server it reaches through
    the ``kubernetes`` Service. RuntimeError when this stack's real node is not running."""
    described, state = real_node(), paths.layout()
    if described.get("state") != "running" or not node.running(state):
        raise RuntimeError(f"the real node is not running: {described.get('detail', '')}")
    ports = rec.load(state.stack_json)["ports"]
    return node_access.endpoints(state, ports, str(described["ip"]))


def from_env() -> StackInfo | None:
    """Describe an external stack given by the service's variables, when all are set."""
    kafka_servers = os.environ.get(rec.KAFKA_VAR)
    database_url = os.environ.get(rec.DATABASE_VAR)
    kubeconfig = os.environ.get(rec.KUBECONFIG_VAR)
    if not (kafka_servers and database_url and kubeconfig):
        return None
    helm_path = os.environ.get(rec.HELM_VAR) or shutil.which("helm")
    helm_binary = (
        Path(helm_path) if helm_path else paths.cache_dir("helm", pins.load().helm.version) / "helm"
    )
    return rec.make_info(kafka_servers, database_url, Path(kubeconfig), helm_binary)


def status() -> list[ComponentStatus]:
    """Health of each component (pid alive and answering)."""
    state = paths.layout()
    rows = health.check(state, pins.load())
    data = rec.load(state.stack_json)
    rows += session_web.health_rows(state, data)
    rows += engine_service.row(state, data.get("container_engine"))
    return [ComponentStatus(*row) for row in rows]


def container_engine() -> str | None:
    """``DOCKER_HOST`` of this stack's container engine (podman's Docker API), when it
    serves one: ``up`` starts it wherever podman works."""
    described = rec.load(paths.layout().stack_json).get("container_engine")
    return str(described) if described else None
