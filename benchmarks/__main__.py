"""Run every benchmark and print one table: ``python -m benchmarks``."""

from __future__ import annotations

import asyncio

from benchmarks import common, intake, provision
from consumer.observability import logging as logs


async def main() -> None:
    logs.configure("WARNING")
    info = common.stack()
    lines = [common.HEADER]
    lines += await intake.run(info)
    lines += await provision.run(info)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
