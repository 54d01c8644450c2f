"""Run every benchmark and print one table: ``python -m benchmarks``."""

from __future__ import annotations

import asyncio
import logging

from benchmarks import common, intake, provision


async def main() -> None:
    logging.disable(logging.INFO)
    info = common.stack()
    lines = [common.HEADER]
    lines += await intake.run(info)
    lines += await provision.run(info)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
