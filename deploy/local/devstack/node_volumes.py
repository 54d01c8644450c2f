"""Make host-path volumes writable by the session's uid: a tiny watcher process.

The controller-manager's host-path provisioner creates each volume directory owned by
root with mode 0750, and an ``fsGroup`` does not apply to host-path volumes, so a pod
running as uid 1000 (Pod Security ``restricted``) could not write its workspace. This
process watches PersistentVolumes of that provisioner and hands each new directory to
uid/gid 1000 (mode 2770) as soon as it appears, which is before the claim is bound and
long before a container starts. The stack starts it beside the real node
(``python -m devstack.node_volumes KUBECONFIG``) and stops it with the node.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

UID = GID = 1000
MODE = 0o2770
PROVISIONER = "kubernetes.io/host-path"


def hand_over(directory: Path) -> bool:
    """Give ``directory`` to uid/gid 1000 unless it already is; True when changed."""
    try:
        info = directory.stat()
    except OSError:
        return False
    if (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (UID, GID, MODE):
        return False
    os.chown(directory, UID, GID)
    directory.chmod(MODE)
    return True


def _handle(pv: Any) -> None:
    annotations = pv.metadata.annotations or {}
    host_path = pv.spec.host_path
    if host_path is None or annotations.get("pv.kubernetes.io/provisioned-by") != PROVISIONER:
        return
    if hand_over(Path(host_path.path)):
        print(f"{pv.metadata.name}: {host_path.path} now owned by {UID}:{GID}", flush=True)


def run(kubeconfig: str) -> None:
    config.load_kube_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    api = client.CoreV1Api()
    while True:
        try:
            listed = api.list_persistent_volume(_request_timeout=30)
            for pv in listed.items:
                _handle(pv)
            version = listed.metadata.resource_version if listed.metadata else None
            stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                api.list_persistent_volume,
                resource_version=version,
                timeout_seconds=300,
            )
            for event in stream:
                _handle(event["object"])
        except Exception as exc:  # the API server restarts with the stack: retry
            print(f"watch interrupted: {exc}", flush=True)
            time.sleep(2)


if __name__ == "__main__":
    run(sys.argv[1])
