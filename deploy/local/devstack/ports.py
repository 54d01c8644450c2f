"""Loopback ports of the stack: chosen free on the first ``up``, then kept.

The choice is stored in ``stack.json`` (see :mod:`devstack.record`) so that a re-run,
and every shell that evaluated ``stack env``, keeps talking to the same addresses.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping

HOST = "127.0.0.1"


def free_port(avoid: Iterable[int] = ()) -> int:
    """A port on 127.0.0.1 that nobody listens on right now (and not in ``avoid``)."""
    taken = set(avoid)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise RuntimeError("no free loopback port found")


def is_listening(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def assign(names: Iterable[str], kept: Mapping[str, int]) -> dict[str, int]:
    """Ports for ``names``: the kept ones, plus fresh free ports for the rest."""
    chosen = {name: kept[name] for name in names if name in kept}
    for name in names:
        if name not in chosen:
            chosen[name] = free_port(avoid=chosen.values())
    return chosen
