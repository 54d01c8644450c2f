"""Kubernetes with simulated nodes: kwokctl runs the control plane as local processes.

This module starts and stops the cluster; how it is made is :mod:`devstack.kube_config`,
whether it is usable is :mod:`devstack.kube_checks`. ``kwokctl --runtime binary`` is
given the cached binaries (it never downloads); the kube-controller-manager runs its
default controllers (namespace, deployment/replicaset, endpointslice,
serviceaccount-token, garbage collector, ...), and kwok's default stages make nodes
and pods Ready. Its work directory lives under the state dir (``KWOK_WORKDIR``);
each component kwokctl starts is recorded in our own pid files too, so ``down`` stops
exactly those process groups.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devstack import kube_config, kube_pki, procs
from devstack.kube_build import KubeBinaries
from devstack.paths import StateLayout

COMPONENT = "kube"
CLUSTER = kube_config.CLUSTER
PID_PREFIX = "kube-"


def workdir(state: StateLayout) -> Path:
    return state.data("kwok")


def cluster_dir(state: StateLayout) -> Path:
    return workdir(state) / "clusters" / CLUSTER


def component_log(state: StateLayout, name: str) -> Path:
    return cluster_dir(state) / "logs" / f"{name}.log"


def kwok_env(state: StateLayout) -> dict[str, str]:
    return {**os.environ, "KWOK_WORKDIR": str(workdir(state))}


def config_file(state: StateLayout, ports: Mapping[str, int], advertise: str) -> Path:
    """The kwokctl configuration this stack creates its cluster with."""
    path = workdir(state) / "devstack-kwokctl.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kube_config.kwokctl_config(cluster_dir(state) / "pki", ports, advertise))
    return path


def _kwok_pid_files(state: StateLayout) -> list[Path]:
    return sorted((cluster_dir(state) / "pids").glob("*.pid"))


def _record_pids(state: StateLayout) -> None:
    """Copy kwokctl's pid files into ours, with the start time that pins each process."""
    for pid_file in _kwok_pid_files(state):
        raw = pid_file.read_text().strip()
        if not raw.isdigit():
            continue
        pid = int(raw)
        try:
            record = procs.PidRecord(pid, procs.start_time(pid))
        except ProcessLookupError:
            continue
        ours = state.pid(PID_PREFIX + pid_file.stem)
        ours.parent.mkdir(parents=True, exist_ok=True)
        ours.write_text(record.render())


def _forget_stale_kwok_pids(state: StateLayout) -> None:
    """kwokctl skips a component whose pid file names a live pid, even a recycled one:
    drop every kwokctl pid file that our own record does not confirm as running."""
    for pid_file in _kwok_pid_files(state):
        if procs.running(state.pid(PID_PREFIX + pid_file.stem)) is None:
            pid_file.unlink(missing_ok=True)


def is_current(state: StateLayout) -> bool:
    """True when the cluster was made by this stack's recipe (a running one may predate it)."""
    saved = cluster_dir(state) / "kwok.yaml"
    return saved.is_file() and kube_config.is_current(saved.read_text())


def our_pid_files(state: StateLayout) -> list[Path]:
    return sorted(state.pids.glob(f"{PID_PREFIX}*.pid"))


def start(bins: KubeBinaries, state: StateLayout, ports: Mapping[str, int], advertise: str) -> None:
    """Create the cluster on first use, else start its stopped components.

    ``advertise``: the real node's bridge address, the ``kubernetes`` Service's endpoint.
    """
    log = state.log(COMPONENT)
    env = kwok_env(state)
    existing = cluster_dir(state) / "kwok.yaml"
    if existing.exists() and not kube_config.is_current(existing.read_text()):
        stop(state)  # made by an older recipe: make it afresh
        shutil.rmtree(cluster_dir(state), ignore_errors=True)
    if existing.exists():
        _forget_stale_kwok_pids(state)
        argv = [str(bins.kwokctl), "start", "cluster", f"--name={CLUSTER}", "--timeout=5m"]
        try:
            procs.run_logged(argv, log, env=env, timeout=400)
        finally:
            _record_pids(state)
    else:
        try:
            kube_pki.ensure(cluster_dir(state) / "pki", advertise)
            config = config_file(state, ports, advertise)
            argv = kube_config.create_argv(bins, ports["kube_apiserver"], config)
            procs.run_logged(argv, log, env=env, timeout=400)
        except (procs.CommandError, subprocess.TimeoutExpired):
            _record_pids(state)
            stop(state)  # no half-made cluster: the next `up` creates it afresh
            shutil.rmtree(cluster_dir(state), ignore_errors=True)
            raise
        _record_pids(state)
    source = cluster_dir(state) / "kubeconfig.yaml"
    tmp = state.kubeconfig.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    tmp.chmod(0o600)
    tmp.replace(state.kubeconfig)


# Clients first, storage last: a controller whose API server vanished exits on its own,
# and an API server without etcd hangs in its shutdown.
STOP_ORDER = ("kwok-controller", "kube-scheduler", "kube-controller-manager", "kube-apiserver")


def _stop_rank(pid_file: Path) -> int:
    name = pid_file.stem.removeprefix(PID_PREFIX)
    return STOP_ORDER.index(name) if name in STOP_ORDER else len(STOP_ORDER)


def stop(state: StateLayout) -> list[str]:
    """Stop every component we recorded; return the names that were running."""
    stopped = []
    for pid_file in sorted(our_pid_files(state), key=_stop_rank):
        if procs.stop_pid_file(pid_file, grace=15):
            stopped.append(pid_file.stem.removeprefix(PID_PREFIX))
    # kwokctl skips starting a component whose pid file names a live pid: clear them.
    for pid_file in _kwok_pid_files(state):
        pid_file.unlink(missing_ok=True)
    return stopped
