"""Hostile records mixed into a storm of valid creates and deletes.

1,000 hostile records per unit of ``DEVSESSIONS_FAULT_SCALE`` (bad JSON, wrong types,
non-UUID keys, flag-like and shell-like strings, 1 MiB values, duplicate and missing
CloudEvents headers, NUL bytes) go to the input topic among valid events of a few
projects, some of which carry the same hostile strings where the contract allows them
(env values, event ids). The input topic takes records up to 2 MiB (so the 1 MiB values
arrive at all: the broker's default is 1 MiB per batch); the dead-letter topic keeps the
broker's default, as an operator's would. When it settles:

- every hostile record is on the dead-letter topic, once, with a reason and the code its
  kind must get (counted by code);
- every valid project's end state matches the log (``endstate``);
- no Helm call carries a hostile string (the wrapper logs every call);
- the service is still up.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from kubernetes import client

import events
from consumer.adapters.kafka_in import topic_partitions
from tests.e2e.harness import OutputWatcher, ServiceProcess, Topology, new_project
from tests.e2e.light import light_values
from tests.faults.endstate import SETTLE_TIMEOUT, converge
from tests.faults.hostile import (
    HELM_MARKERS,
    HOSTILE,
    KINDS,
    ONE_MIB,
    WELL_FORMED_HOSTILE_ENV,
    Raw,
    storm,
    well_formed,
)
from tests.faults.report import print_table

pytestmark = [pytest.mark.stack, pytest.mark.slow]

INPUT_MAX_BYTES = 2 * ONE_MIB


def _deleted(project: str) -> Raw:
    event = events.ProjectDeleted(project_uuid=project, deleted_at=datetime.now(UTC))
    record = events.to_record(events.new_envelope(event, source="/tests/faults"))
    return Raw(record.key, record.value, list(record.headers))


def _with_id(raw: Raw, event_id: str) -> Raw:
    return Raw(
        raw.key, raw.value, [(n, event_id.encode() if n == "ce_id" else v) for n, v in raw.headers]
    )


def _valid_storm(rng: random.Random, projects: list[str]) -> tuple[list[Raw], dict[str, str]]:
    """Per project, in order: a create (half with hostile env values, some with a hostile
    event id), maybe a delete, maybe a create again. Returns the records and last kinds."""
    records: list[Raw] = []
    last: dict[str, str] = {}
    for i, project in enumerate(projects):
        overrides = {"env": WELL_FORMED_HOSTILE_ENV} if i % 2 == 0 else None
        first = well_formed(project, overrides=overrides)
        if i % 3 == 0:
            first = _with_id(first, f"{HOSTILE[i // 3 % len(HOSTILE)]} {new_project()}")
        records.append(first)
        last[project] = "created"
        if rng.random() < 0.4:
            records.append(_deleted(project))
            last[project] = "deleted"
            if rng.random() < 0.5:
                records.append(well_formed(project))
                last[project] = "created"
    return records, last


def _interleave(rng: random.Random, valid: list[Raw], hostile: list[Raw]) -> list[tuple[bool, Raw]]:
    """Both lists merged at random, each keeping its own order: (is_valid, record)."""
    slots = [True] * len(valid) + [False] * len(hostile)
    rng.shuffle(slots)
    valid_it, hostile_it = iter(valid), iter(hostile)
    return [(ok, next(valid_it) if ok else next(hostile_it)) for ok in slots]


async def _raise_input_limit(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(INPUT_MAX_BYTES)}
                )
            ]
        )
    finally:
        await admin.close()


async def _read_all(bootstrap: str, topic: str, want: int, timeout: float) -> list[Any]:
    """Every record of ``topic`` (large ones too) until ``want`` or the timeout."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * ONE_MIB,
        fetch_max_bytes=16 * ONE_MIB,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(seen) < want and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                seen.extend(records)
        await asyncio.sleep(1)  # anything beyond ``want`` (a second copy) shows up too
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            seen.extend(records)
        return seen
    finally:
        await consumer.stop()


@dataclasses.dataclass
class Letters:
    """The dead-letter topic against what was sent: counts by code and what is wrong."""

    by_code: collections.Counter[str]
    missing: list[tuple[int, int]]
    twice: list[tuple[int, int]]
    wrong: list[str]


def _check_letters(letters: list[Any], expected: dict[tuple[int, int], str]) -> Letters:
    by_code: collections.Counter[str] = collections.Counter()
    copies: collections.Counter[tuple[int, int]] = collections.Counter()
    wrong: list[str] = []
    for letter in letters:
        h = dict(letter.headers)
        where = (
            int(h[events.DLQ_SOURCE_PARTITION_HEADER]),
            int(h[events.DLQ_SOURCE_OFFSET_HEADER]),
        )
        code = h[events.DLQ_CODE_HEADER].decode()
        copies[where] += 1
        by_code[code] += 1
        kind = expected.get(where)
        if kind is None:
            wrong.append(f"{where}: a valid record was dead-lettered ({code})")
        elif code not in KINDS[kind][1]:
            wrong.append(f"{where}: {kind} got {code}, want {set(KINDS[kind][1])}")
        if not h.get(events.DLQ_REASON_HEADER, b"").strip():
            wrong.append(f"{where}: no reason")
    missing = [w for w in expected if w not in copies]
    twice = [w for w, n in copies.items() if n > 1]
    return Letters(by_code, missing, twice, wrong)


async def _publish(
    producer: AIOKafkaProducer, topic: str, mixed: list[tuple[bool, Raw]], kinds: list[str]
) -> dict[tuple[int, int], str]:
    """Send every record (pipelined, order kept); the hostile ones' positions and kinds."""
    kind_of = iter(kinds)
    sent = []
    for ok, raw in mixed:
        future = await producer.send(topic, key=raw.key, value=raw.value, headers=raw.headers)
        sent.append((None if ok else next(kind_of), future))
    expected: dict[tuple[int, int], str] = {}
    for kind, future in sent:
        meta = await future
        if kind is not None:
            expected[(meta.partition, meta.offset)] = kind
    return expected


async def test_hostile_records_are_dead_lettered_and_valid_ones_converge(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    rng = random.Random(7)
    bootstrap = topo.stack.kafka_bootstrap_servers
    await _raise_input_limit(bootstrap, topo.input_topic)
    hostile = storm(rng, 1000 * scale)
    projects = [new_project() for _ in range(6 * scale)]
    valid, last = _valid_storm(rng, projects)
    mixed = _interleave(rng, valid, [raw for _, raw in hostile])
    kinds = [kind for kind, _ in hostile]

    service = ServiceProcess(
        topo, tmp_path / "service.log", DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path))
    )
    await asyncio.to_thread(service.start)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=INPUT_MAX_BYTES,
    )
    await producer.start()
    try:
        async with OutputWatcher(bootstrap, topo.output_topic) as out:
            started = time.monotonic()
            expected = await _publish(producer, topo.input_topic, mixed, kinds)
            published = time.monotonic() - started

            letters = await _read_all(bootstrap, topo.dead_letter_topic, len(expected), 120 * scale)
            dead_lettered = time.monotonic() - started
            check = _check_letters(letters, expected)

            took, wrong = await converge(topo, api, last, out, SETTLE_TIMEOUT)
            helm_calls = topo.helm_calls()
            carried = [c for c in helm_calls if any(m in c for m in HELM_MARKERS)]
            up = service.proc is not None and service.proc.poll() is None
            health = (await asyncio.to_thread(service.get, "/healthz"))[0] if up else 0
            print_table(
                f"Hostile records among valid events (scale {scale})",
                {
                    "events (valid)": len(valid),
                    "projects": len(projects),
                    "faults (hostile records)": len(expected),
                    **{f"  dead letters {code}": n for code, n in sorted(check.by_code.items())},
                    "dead letters missing / twice / wrong": (
                        f"{len(check.missing)} / {len(check.twice)} / {len(check.wrong)}"
                    ),
                    "mismatches": len(wrong),
                    "helm calls (with a hostile string)": f"{len(helm_calls)} ({len(carried)})",
                    "published in (s)": f"{published:.1f}",
                    "all dead-lettered after (s)": f"{dead_lettered:.1f}",
                    "time to converge (s)": f"{took:.1f}",
                },
            )
            try:
                assert up and health == 200, f"service went down: {service.tail()}"
                assert not check.missing, f"not dead-lettered: {check.missing[:10]}"
                assert not check.twice, f"dead-lettered more than once: {check.twice[:10]}"
                assert not check.wrong, "\n".join(check.wrong[:20])
                assert not carried, f"Helm calls carrying hostile strings: {carried[:5]}"
                assert not wrong, "\n".join(wrong[:20])
                assert len(helm_calls) > 0, "the valid projects reached Helm"
            finally:
                for project in projects:  # leave the shared cluster as found
                    raw = _deleted(project)
                    await producer.send_and_wait(
                        topo.input_topic, key=raw.key, value=raw.value, headers=raw.headers
                    )
                    last[project] = "deleted"
                _, left = await converge(topo, api, last, out, SETTLE_TIMEOUT)
            assert not left, "\n".join(left[:20])
    finally:
        await producer.stop()
        await asyncio.to_thread(service.stop)
