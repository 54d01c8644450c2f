"""The Kubernetes API server away for a while in the middle of a storm.

The service (and the Helm it runs) reach the stack's kube-apiserver through a TCP proxy
this test controls: a kubeconfig like the stack's whose server is the proxy (TLS passes
through untouched; the certificate names 127.0.0.1). Cutting the proxy breaks every open
connection, watches included, and refuses new ones, while the shared API server keeps
serving everyone else. The service must stay up, name ``kubernetes`` in ``/readyz`` and
the dependency gauge, hold the work (no session failed for good) and converge by itself
once the proxy is back. ``DEVSESSIONS_FAULT_SCALE`` > 1: more projects, a minute's outage.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from kubernetes import client

from tests.e2e.harness import Topology
from tests.e2e.light import light_values
from tests.faults.endstate import converge, leave_as_found, serving
from tests.faults.proxy import TcpProxy
from tests.faults.report import print_table
from tests.faults.storm import (
    Storm,
    alive,
    given_up,
    named_failing,
    query,
    ready_again,
    readyz,
    retried,
)

SETTLE_TIMEOUT = 300


def api_server(kubeconfig: Path) -> tuple[str, int]:
    """Host and port of the (first) cluster's API server."""
    doc = yaml.safe_load(kubeconfig.read_text())
    server = urlsplit(doc["clusters"][0]["cluster"]["server"])
    return server.hostname or "127.0.0.1", server.port or 443


def proxied_kubeconfig(original: Path, port: int, directory: Path) -> Path:
    """A copy of ``original`` whose clusters are reached at 127.0.0.1:``port``."""
    doc = yaml.safe_load(original.read_text())
    for entry in doc["clusters"]:
        entry["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path = directory / "kubeconfig-proxied"
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


async def test_kubernetes_api_outage_is_named_held_and_converges(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    outage = 30.0 if scale == 1 else 60.0
    proxy = await TcpProxy(*api_server(topo.stack.kubeconfig)).start()
    kubeconfig = proxied_kubeconfig(topo.stack.kubeconfig, proxy.port, tmp_path)
    storm = Storm(6 * scale, seed=31)
    try:
        async with serving(
            topo,
            tmp_path / "service.log",
            KUBECONFIG=str(kubeconfig),
            DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
            DEVSESSIONS_HEALTH_INTERVAL_SECONDS="1",
        ) as (service, pub, out):
            await storm.round(pub)
            await asyncio.sleep(2)  # installs, watches and Helm calls in flight
            await storm.round(pub)
            try:
                await proxy.cut()
                cut_at = time.monotonic()
                noticed = await named_failing(service, "kubernetes")
                await storm.round(pub)  # intent is still recorded while the cluster is away
                while time.monotonic() - cut_at < outage:
                    assert alive(service), f"the service exited: {service.tail()}"
                    await asyncio.sleep(1)
                code, body = await readyz(service)
                assert code == 503 and "kubernetes" in body["failing"], body
                assert set(body["failing"]) == {"kubernetes"}, f"only kubernetes is away: {body}"
                await out.poll()
                assert not given_up(out), f"failed for good during the outage: {given_up(out)}"
            finally:
                await proxy.restore()  # also when the outage failed: before the service stops
            restored_at = time.monotonic()
            back = await ready_again(service)
            took, wrong = await converge(topo, api, storm.last, out, SETTLE_TIMEOUT)
            failed_rows = await query(
                topo, "SELECT project_uuid FROM sessions WHERE status = 'failed'"
            )
            print_table(
                f"Kubernetes API cut for {outage:.0f} s mid-storm (TCP proxy, scale {scale})",
                {
                    "events": storm.published,
                    "projects": len(storm.projects),
                    "faults": 1,
                    "mismatches": len(wrong),
                    "readyz named kubernetes after (s)": f"{noticed:.1f}",
                    "outage length (s)": f"{restored_at - cut_at:.1f}",
                    "readyz 200 after restore (s)": f"{back:.1f}",
                    "failed attempts (retried)": retried(out),
                    "failed for good": len(given_up(out)) + len(failed_rows),
                    "time to converge after restore (s)": f"{time.monotonic() - restored_at:.1f}",
                    "  of which end-state check (s)": f"{took:.1f}",
                },
            )
            try:
                assert not wrong, "\n".join(wrong[:20])
                assert not given_up(out), f"failed for good: {given_up(out)}"
                assert not failed_rows, f"sessions failed: {[r[0] for r in failed_rows]}"
                assert alive(service)
            finally:
                left = await leave_as_found(
                    topo, api, pub, out, storm.last, projects=storm.projects, timeout=SETTLE_TIMEOUT
                )
            assert not left, "\n".join(left[:20])
    finally:
        await proxy.close()
