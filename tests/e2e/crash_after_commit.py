"""A consumer that dies between the database commit and the Kafka offset commit.

``python -m tests.e2e.crash_after_commit`` with the service's environment: the real
subscriber, guard and intake (settings from the environment), except that after the
guard has made the first batch durable the process exits at once (``os._exit``: no
``finally``, no shutdown, no offset commit), the worst moment for a crash. The e2e test
then restarts the real service and checks that nothing was lost or applied twice.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from consumer import bootstrap
from consumer.entrypoints import subscriber
from consumer.service.guard import DeliveryGuard, Verdict
from consumer.service.intake import RawRecord
from consumer.settings import Settings

EXIT_CODE = 9


class CrashAfterCommit(DeliveryGuard):
    """The real guard; the process ends right after the first batch is durable."""

    async def process_batch(self, records: Sequence[RawRecord]) -> Verdict:
        verdict = await super().process_batch(records)
        print(f"batch of {len(records)} durable ({verdict}); exiting before the commit", flush=True)
        os._exit(EXIT_CODE)


async def main() -> None:
    settings = Settings()
    await bootstrap.migrate(settings)
    service = bootstrap.build(settings)
    broker = subscriber.make_broker(settings)
    guard = CrashAfterCommit(service.intake, max_attempts=3, budget_seconds=30)
    subscriber.subscribe(broker, settings, guard)
    await broker.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
