"""Hostile input records for the intake: each kind with the dead-letter code it must get.

Every builder returns a record (key, value, headers) made from a well-formed
``ProjectCreated`` of a fresh project and broken in one way. Flag-like and shell-like
strings (``--set``, ``$(rm -rf /)``, ``; kubectl delete ns --all``) go where an unwary
service would pass them on: the key, the project UUID, image references, env names,
header values. ``WELL_FORMED_HOSTILE_ENV`` holds the same strings as env *values*, which
the contract allows (they reach the chart only inside a values file, never as arguments).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import events

HOSTILE = ("--set image=evil", "$(rm -rf /)", "; kubectl delete ns --all")
# What must never appear in a Helm call's arguments (the wrapper logs every call).
HELM_MARKERS = ("image=evil", "rm -rf", "kubectl delete", "evil", "\x00")
WELL_FORMED_HOSTILE_ENV = {"FLAG": HOSTILE[0], "SHELL": HOSTILE[1], "CHAIN": HOSTILE[2]}
ONE_MIB = 1024 * 1024


@dataclass(frozen=True)
class Raw:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def well_formed(project: str, **data: Any) -> Raw:
    """A valid ``ProjectCreated`` record of ``project`` (extra data fields allowed)."""
    event = events.ProjectCreated(
        project_uuid=project, project_id=456, user_id=123, created_at=datetime.now(UTC), **data
    )
    record = events.to_record(events.new_envelope(event, source="/tests/faults"))
    return Raw(record.key, record.value, list(record.headers))


def _payload(project: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(well_formed(project).value or b"{}")
    return data


def _with_value(raw: Raw, value: bytes) -> Raw:
    return Raw(raw.key, value, raw.headers)


def _bad_json(rng: random.Random, project: str) -> Raw:
    bad = rng.choice(HOSTILE).encode()
    return _with_value(well_formed(project), b'{"project_uuid": ' + bad)


def _wrong_types(rng: random.Random, project: str) -> Raw:
    data = _payload(project)
    field = rng.choice(["project_id", "user_id"])
    data[field] = rng.choice(["456", 4.5, None, [1], HOSTILE[2]])
    return _with_value(well_formed(project), json.dumps(data).encode())


def _non_uuid_key(rng: random.Random, project: str) -> Raw:
    raw = well_formed(project)
    key = rng.choice([*HOSTILE, "not-a-uuid", project.upper(), ""])
    return Raw(key.encode(), raw.value, raw.headers)


def _flag_in_data(rng: random.Random, project: str) -> Raw:
    """A flag-like or shell-like string in a field the chart would see."""
    data = _payload(project)
    where = rng.choice(["uuid", "image", "env-name", "cpu"])
    hostile = rng.choice(HOSTILE)
    if where == "uuid":
        data["project_uuid"] = hostile
    elif where == "image":
        data["overrides"] = {"preview_image": hostile}
    elif where == "env-name":
        data["overrides"] = {"env": {hostile: "x"}}
    else:
        data["overrides"] = {"cpu_request": hostile}
    return _with_value(well_formed(project), json.dumps(data).encode())


def _oversize(rng: random.Random, project: str) -> Raw:
    data = _payload(project)
    data["padding"] = "x" * (ONE_MIB - len(json.dumps(data)) - 16)
    value = json.dumps(data).encode()
    return _with_value(well_formed(project), value + b" " * (ONE_MIB - len(value)))


def _duplicate_header(rng: random.Random, project: str) -> Raw:
    raw = well_formed(project)
    name = rng.choice(["ce_id", "ce_type", "ce_source", "content-type"])
    extra = (name, rng.choice(HOSTILE).encode())
    return Raw(raw.key, raw.value, [*raw.headers, extra])


def _missing_header(rng: random.Random, project: str) -> Raw:
    raw = well_formed(project)
    gone = rng.choice(["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time"])
    return Raw(raw.key, raw.value, [(n, v) for n, v in raw.headers if n != gone])


def _nul_bytes(rng: random.Random, project: str) -> Raw:
    raw = well_formed(project)
    where = rng.choice(["value", "json-string", "key"])
    if where == "value":
        value = raw.value or b""
        cut = rng.randrange(1, len(value))
        return _with_value(raw, value[:cut] + b"\x00" + value[cut:])
    if where == "json-string":
        data = _payload(project)
        data["project_uuid"] = project + "\x00" + HOSTILE[1]
        return _with_value(raw, json.dumps(data).encode())
    return Raw(project.encode() + b"\x00", raw.value, raw.headers)


def _hostile_type(rng: random.Random, project: str) -> Raw:
    raw = well_formed(project)
    headers = [(n, rng.choice(HOSTILE).encode() if n == "ce_type" else v) for n, v in raw.headers]
    return Raw(raw.key, raw.value, headers)


# kind -> (builder, the dead-letter codes it may get: the first check it fails decides)
KINDS: dict[str, tuple[Callable[[random.Random, str], Raw], frozenset[str]]] = {
    "bad JSON": (_bad_json, frozenset({"invalid-json"})),
    "wrong types": (_wrong_types, frozenset({"invalid-data"})),
    "non-UUID key": (_non_uuid_key, frozenset({"bad-key"})),
    "flag/shell string in data": (_flag_in_data, frozenset({"invalid-data"})),
    "1 MiB value": (_oversize, frozenset({"oversize"})),
    "duplicate header": (_duplicate_header, frozenset({"duplicate-header"})),
    "missing CloudEvents header": (_missing_header, frozenset({"missing-header"})),
    "NUL bytes": (_nul_bytes, frozenset({"invalid-json", "invalid-data", "bad-key"})),
    "flag/shell ce_type": (_hostile_type, frozenset({"unknown-type"})),
}
# 1 MiB records are few (each is a megabyte through Kafka twice); the rest share the count.
OVERSIZE_PER_THOUSAND = 5


def storm(rng: random.Random, count: int) -> list[tuple[str, Raw]]:
    """``count`` hostile records of every kind, shuffled: (kind, record)."""
    oversize = max(1, count * OVERSIZE_PER_THOUSAND // 1000)
    others = [k for k in KINDS if k != "1 MiB value"]
    kinds = ["1 MiB value"] * oversize + [others[i % len(others)] for i in range(count - oversize)]
    rng.shuffle(kinds)
    return [(kind, KINDS[kind][0](rng, str(uuid.UUID(int=rng.getrandbits(128))))) for kind in kinds]
