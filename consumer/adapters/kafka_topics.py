"""The ``TopicIdentity`` port on Kafka's Metadata API: a topic's id and partition count.

Kafka gives every topic a UUID when it is created (KIP-516); a topic deleted and created
again under the same name gets a new one, and its offsets start over. Intake stamps
each record's log position with that id, so a re-created input topic is recognised as a
new epoch of the log instead of its low offsets looking stale. aiokafka speaks Metadata
only up to v5, which has no topic ids, so this module adds the v12 request and response
(flexible encoding) in aiokafka's own protocol types and sends them on its client.

Answers are cached: a lookup may ask for one no older than ``max_age`` seconds.
"""

from __future__ import annotations

import time
import uuid
from io import BytesIO
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    AbstractType,
    Boolean,
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from consumer.domain.model import TopicEpoch


class Uuid(AbstractType[bytes]):  # type: ignore[misc]
    """Kafka's ``uuid`` field: 16 raw bytes."""

    @classmethod
    def encode(cls, value: bytes) -> bytes:
        return value

    @classmethod
    def decode(cls, data: BytesIO) -> bytes:
        raw = data.read(16)
        if len(raw) != 16:
            raise ValueError("Buffer underrun decoding uuid")
        return raw


class MetadataResponse_v12(Response):  # type: ignore[misc]
    API_KEY = 3
    API_VERSION = 12
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            CompactArray(
                ("node_id", Int32),
                ("host", CompactString("utf-8")),
                ("port", Int32),
                ("rack", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("cluster_id", CompactString("utf-8")),
        ("controller_id", Int32),
        (
            "topics",
            CompactArray(
                ("error_code", Int16),
                ("name", CompactString("utf-8")),
                ("topic_id", Uuid),
                ("is_internal", Boolean),
                (
                    "partitions",
                    CompactArray(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", CompactArray(Int32)),
                        ("isr_nodes", CompactArray(Int32)),
                        ("offline_replicas", CompactArray(Int32)),
                        ("tags", TaggedFields),
                    ),
                ),
                ("topic_authorized_operations", Int32),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class MetadataRequest_v12(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 3
    API_VERSION = 12
    RESPONSE_TYPE = MetadataResponse_v12
    SCHEMA = Schema(
        (
            "topics",
            CompactArray(
                ("topic_id", Uuid), ("name", CompactString("utf-8")), ("tags", TaggedFields)
            ),
        ),
        ("allow_auto_topic_creation", Boolean),
        ("include_topic_authorized_operations", Boolean),
        ("tags", TaggedFields),
    )


class TopicIdRequest(Request[MetadataRequest_v12]):  # type: ignore[misc]
    """Metadata of named topics, with their ids (needs a broker with Metadata v12)."""

    API_KEY = 3

    def __init__(self, topics: list[str]) -> None:
        self._topics = topics

    def build(self, request_struct_class: type[MetadataRequest_v12]) -> MetadataRequest_v12:
        return request_struct_class(
            [(bytes(16), name, {}) for name in self._topics], False, False, {}
        )


class KafkaTopicIdentity:
    """Topic ids and partition counts, asked of the cluster and cached."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._bootstrap = bootstrap_servers
        self._admin: AIOKafkaAdminClient | None = None
        self._cache: dict[str, tuple[float, TopicEpoch]] = {}

    async def epoch(self, topic: str, *, max_age: float) -> TopicEpoch:
        cached = self._cache.get(topic)
        if cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        asked = time.monotonic()
        found = await self._ask(topic)
        self._cache[topic] = (asked, found)
        return found

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    async def _ask(self, topic: str) -> TopicEpoch:
        if self._admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
            await admin.start()
            self._admin = admin
        response: Any = await self._admin._send_request(TopicIdRequest([topic]))
        for error_code, name, topic_id, _, partitions, _, _ in response.topics:
            if name == topic and not error_code:
                return TopicEpoch(str(uuid.UUID(bytes=topic_id)), len(partitions))
        raise LookupError(f"topic {topic} is unknown to the cluster")
