"""The core services' steps of ``stack up``: PostgreSQL, Kafka and Kubernetes (kwok).

Each reuses its component while it runs, answers and was started with the configuration
it would be started with now; otherwise it (re)starts it and waits until it is ready.
Called by :mod:`devstack.api` in that order.
"""

from __future__ import annotations

import signal
from pathlib import Path

from devstack import (
    kafka,
    kube,
    kube_build,
    kube_checks,
    node_access,
    node_config,
    paths,
    pins,
    postgres,
    procs,
)
from devstack.steps import Reporter, step


def start_postgres(reporter: Reporter, state: paths.StateLayout, pg_bin: Path, port: int) -> None:
    log = state.log(postgres.COMPONENT)
    with step(reporter, "postgresql", log) as note:
        running = procs.running(state.pid(postgres.COMPONENT))
        if running is not None and postgres.healthy(pg_bin, port):
            note.text = f"reused, 127.0.0.1:{port}"
        else:
            if running is not None:
                procs.stop_pid_file(state.pid(postgres.COMPONENT), first=signal.SIGINT)
            record = postgres.start(pg_bin, state, port)
            postgres.wait_ready(pg_bin, port, record, log)
            note.text = f"started, 127.0.0.1:{port}"
        postgres.ensure_database(pg_bin, port, log)
        secret = node_access.password(state)
        postgres.allow_password_from(
            pg_bin, state, port, source=node_access.POD_SOURCE, password=secret, log=log
        )


def start_kafka(
    reporter: Reporter, state: paths.StateLayout, p: pins.Pins, libs: Path, port_map: dict[str, int]
) -> None:
    log = state.log(kafka.COMPONENT)
    bootstrap = f"127.0.0.1:{port_map['kafka']}"
    properties = kafka.server_properties(
        state.data(kafka.COMPONENT) / "data", port_map["kafka"], port_map["kafka_controller"],
        port_map["kafka_node"], node_config.gateway(p.node.pod_cidr),
    )  # fmt: skip
    config = kafka.config_path(state)
    with step(reporter, "kafka", log) as note:
        running = procs.running(state.pid(kafka.COMPONENT))
        current = config.read_text() if config.is_file() else ""
        if running is not None and current == properties and kafka.healthy(bootstrap):
            note.text = f"reused, {bootstrap}"
        else:
            if running is not None:  # stopped, or started by an older configuration
                procs.stop_pid_file(state.pid(kafka.COMPONENT), grace=30)
            record = kafka.start(p.kafka, libs, state, properties)
            kafka.wait_ready(bootstrap, record, log)
            note.text = f"started, {bootstrap}"
        kafka.ensure_topics(bootstrap, kafka.topics())


def kube_running(state: paths.StateLayout) -> bool:
    files = kube.our_pid_files(state)
    return bool(files) and all(procs.running(f) is not None for f in files)


def start_kube(
    reporter: Reporter, state: paths.StateLayout, p: pins.Pins, port_map: dict[str, int]
) -> None:
    port = port_map["kube_apiserver"]
    bins = kube_build.binaries(p)
    with step(reporter, "kubernetes (kwok)", state.log(kube.COMPONENT)) as note:
        reuse = (
            kube_running(state)
            and kube.is_current(state)
            and kube_checks.api_ready(state.kubeconfig)
        )
        if reuse:
            note.text = "reused"
        else:
            kube.start(bins, state, port_map, node_config.gateway(p.node.pod_cidr))
            note.text = f"started, https://127.0.0.1:{port}"
        kube_checks.wait_ready(bins, state, started=not reuse)
        note.text += f", {kube_checks.ready_nodes(state.kubeconfig)} nodes"
