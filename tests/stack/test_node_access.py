"""The forwarder that lets pods of the real node reach the stack's loopback services.

Runs ``python -m devstack.bridge_proxy`` as the node runs it, on another loopback address
(127.0.0.3) instead of the bridge, in front of a server on 127.0.0.1 that answers with the
address it sees: bytes go both ways, and a forward with a source address arrives from it
(how PostgreSQL tells pods, which must give a password, from host clients).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from devstack import node_access, ports
from devstack.bridge_proxy import Forward

LISTEN = "127.0.0.3"


@pytest.fixture
def peer_echo() -> Iterator[int]:
    """A server on 127.0.0.1 that answers ``<peer address> <what it got>``."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, peer = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(f"{peer[0]} ".encode() + conn.recv(100))

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def ask(port: int) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((LISTEN, port), timeout=5) as conn:
                conn.sendall(b"hello")
                return conn.recv(100).decode()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_forwarder_copies_both_ways_from_the_source_it_is_given(peer_echo: int) -> None:
    plain, sourced = ports.free_port(), ports.free_port()
    specs = [Forward(plain, peer_echo).render(), Forward(sourced, peer_echo, "127.0.0.2").render()]
    proc = subprocess.Popen([sys.executable, "-m", "devstack.bridge_proxy", LISTEN, *specs])
    try:
        assert ask(plain) == "127.0.0.1 hello"
        assert ask(sourced) == "127.0.0.2 hello"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_pods_get_the_api_server_kafkas_node_listener_and_postgres_with_a_password() -> None:
    forwards = node_access.forwards({"kube_apiserver": 1, "kafka_node": 2, "postgres": 3})
    assert [(f.listen_port, f.target_port) for f in forwards] == [(1, 1), (2, 2), (3, 3)]
    assert [f.source for f in forwards] == [None, None, node_access.POD_SOURCE]
    assert Forward.parse(forwards[2].render()) == forwards[2]
