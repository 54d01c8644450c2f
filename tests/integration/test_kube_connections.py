"""The Kubernetes adapter keeps one keep-alive connection per calling thread.

With the client's default pool (five connections per CPU) a service with more threads
than that opened a new TLS connection for every call past the pool and threw it away:
a handshake and a client-certificate check on both sides, per call. This test holds
more concurrent calls than the default pool and counts the connections opened.
"""

from __future__ import annotations

import asyncio
import os
import uuid

from devstack.record import StackInfo

from consumer.adapters.kube_client import KubeCluster, api_client
from consumer.domain.errors import StepTimeout

ROUNDS = 3


async def test_concurrent_calls_reuse_one_connection_per_thread(stack: StackInfo) -> None:
    threads = (os.cpu_count() or 1) * 5 + 6  # more than the client's default pool
    api = api_client(str(stack.kubeconfig), connections=threads)
    kube = KubeCluster(api, threads=threads)
    try:
        absent = f"absent-{uuid.uuid4().hex[:8]}"
        for _ in range(ROUNDS):
            # Each wait holds its connection for a list and a watch window, so the calls
            # of a round overlap; nothing is there, so each ends in a timeout.
            outcomes = await asyncio.gather(
                *(kube.wait_ready(absent, "none", timeout=1.0) for _ in range(threads)),
                return_exceptions=True,
            )
            assert all(isinstance(o, StepTimeout) for o in outcomes), outcomes
        pool = api.rest_client.pool_manager.connection_from_url(api.configuration.host)
        # Without a pool sized to the threads, each round past the first opens again the
        # connections the pool had no room to keep.
        assert 0 < pool.num_connections <= threads, (pool.num_connections, threads)
    finally:
        kube.close()
        api.close()
