"""Where a consumed record sits in the log, with the topic's incarnation.

Intake's high-water marks compare positions (``domain.model.LogPosition.is_after``). A
position carries Kafka's id of the topic (a re-created topic gets a new id and starts
its offsets over) and, for re-partitioned topics, the partition the record's key maps to
now. Both come from ``ports.TopicIdentity`` (cached); when Kafka will not say, the
position has no id and offsets compare as before ids were recorded.
"""

from __future__ import annotations

import structlog

from consumer.domain.model import LogPosition, TopicEpoch
from consumer.domain.partitioning import home_partition
from consumer.ports import TopicIdentity

log = structlog.get_logger(__name__)
MAX_AGE = 60.0  # seconds a topic id is trusted for ordinary records
VERIFY_AGE = 1.0  # ...and before a record is refused as stale
UNKNOWN = TopicEpoch(None, 0)


class LogEpochs:
    """Positions of consumed records, stamped with the topic's current id."""

    def __init__(self, topics: TopicIdentity | None) -> None:
        self._topics = topics

    async def locate(
        self, topic: str, partition: int, offset: int, key: bytes | None, *, verify: bool
    ) -> tuple[LogPosition, int | None]:
        """The record's position and its key's home partition (None when unknown).

        ``verify`` asks for an answer at most ``VERIFY_AGE`` old (before refusing a record).
        """
        epoch = await self.epoch(topic, verify=verify)
        home = home_partition(key, epoch.partitions) if key and epoch.partitions else None
        return LogPosition(partition, offset, epoch.topic_id), home

    async def epoch(self, topic: str, *, verify: bool) -> TopicEpoch:
        """The topic's incarnation; ``verify``: at most ``VERIFY_AGE`` old."""
        return await self._epoch(topic, VERIFY_AGE if verify else MAX_AGE)

    async def _epoch(self, topic: str, max_age: float) -> TopicEpoch:
        if self._topics is None:
            return UNKNOWN
        try:
            return await self._topics.epoch(topic, max_age=max_age)
        except Exception as exc:
            log.warning("topic id lookup failed; comparing offsets only", error=repr(exc))
            return UNKNOWN
