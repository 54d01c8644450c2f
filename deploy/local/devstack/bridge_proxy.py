"""A TCP forwarder from the real node's bridge address to services on 127.0.0.1.

Run as a stack process by :mod:`devstack.node` (``python -m devstack.bridge_proxy``)::

    python -m devstack.bridge_proxy 10.244.77.1 41677=41677@127.0.0.2 58800=58800

listens on ``10.244.77.1:41677`` and ``10.244.77.1:58800`` and connects each accepted
connection to the same port on 127.0.0.1, from the source address after ``@`` when given
(PostgreSQL tells pods apart from host clients by that address and asks them for a
password). Every byte is copied both ways until either side closes. Pods reach the host
only on the bridge, and the stack's services keep listening on loopback alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

TARGET_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Forward:
    listen_port: int
    target_port: int
    source: str | None = None

    def render(self) -> str:
        return f"{self.listen_port}={self.target_port}" + (f"@{self.source}" if self.source else "")

    @staticmethod
    def parse(text: str) -> Forward:
        ports, _, source = text.partition("@")
        listen, _, target = ports.partition("=")
        return Forward(int(listen), int(target or listen), source or None)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _handler(forward: Forward) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = (forward.source, 0) if forward.source else None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                TARGET_HOST, forward.target_port, local_addr=local
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return handle


async def serve(host: str, forwards: list[Forward]) -> None:
    servers = [await asyncio.start_server(_handler(f), host, f.listen_port) for f in forwards]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"forwarding {host}: {' '.join(f.render() for f in forwards)}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str]) -> None:
    host, *specs = argv
    asyncio.run(serve(host, [Forward.parse(spec) for spec in specs]))


if __name__ == "__main__":
    main(sys.argv[1:])
