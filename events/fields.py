"""Constrained field types shared by the event models.

Every string that crosses the wire is bounded, and every value that later becomes a
Kubernetes name, a Helm value or an environment variable is checked here, at the edge,
so the consumer never has to re-validate it. Validation messages are short, fixed
texts: they end up in dead-letter headers and must never echo the (unbounded) input.

The types are plain ``str`` at runtime (``Annotated`` constraints only), so models stay
cheap to build and their JSON form is the obvious one.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_UUID_RE = re.compile(UUID_PATTERN)

# OCI image reference: [registry[:port]/]path[:tag][@sha256:digest], path lowercase.
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_PATTERN = (
    rf"^(?:{_HOST}(?::[0-9]{{1,5}})?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
CPU_PATTERN = r"^(?:[0-9]{1,4}m|[0-9](?:\.[0-9]{1,3})?)$"
MEMORY_PATTERN = r"^[0-9]{1,10}(?:Ki|Mi|Gi)$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
DNS_LABEL_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
URL_PATTERN = r"^https?://[^\s]+$"
PATH_PATTERN = r"^/[^\s]*$"

MAX_CPU_MILLICORES = 2000
MAX_MEMORY_BYTES = 4 * 1024**3
RESERVED_ENV_PREFIX = "DEVSESSIONS_"
MAX_ENV_ENTRIES = 32
# The JSON Schema of the env map's keys: the same rules as EnvName (pydantic would only
# emit patternProperties, which lets non-matching keys through), reserved prefix included.
ENV_JSON_SCHEMA: dict[str, Any] = {
    "additionalProperties": False,
    "propertyNames": {
        "minLength": 1,
        "maxLength": 128,
        "pattern": ENV_NAME_PATTERN,
        "not": {
            "pattern": "^"
            + "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in RESERVED_ENV_PREFIX)
        },
    },
}
_MEMORY_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def _fail(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _check_uuid(value: str) -> str:
    if _UUID_RE.fullmatch(value) is None:
        raise _fail("project_uuid", "must be a canonical lowercase UUID")
    return value


def cpu_millicores(value: str) -> int:
    """Millicores of a CPU quantity that matches ``CPU_PATTERN`` ("500m" -> 500, "1.5" -> 1500)."""
    if value.endswith("m"):
        return int(value[:-1])
    whole, _, fraction = value.partition(".")
    return int(whole) * 1000 + int((fraction + "000")[:3])


def memory_bytes(value: str) -> int:
    """Bytes of a memory quantity that matches ``MEMORY_PATTERN`` ("512Mi" -> 536870912)."""
    return int(value[:-2]) * _MEMORY_UNITS[value[-2:]]


def _check_cpu(value: str) -> str:
    if re.fullmatch(CPU_PATTERN, value) is None:
        raise _fail("cpu_quantity", "must be a CPU quantity like '500m' or '1'")
    if not 0 < cpu_millicores(value) <= MAX_CPU_MILLICORES:
        raise _fail("cpu_quantity", "must be more than 0 and at most 2000m")
    return value


def _check_memory(value: str) -> str:
    if re.fullmatch(MEMORY_PATTERN, value) is None:
        raise _fail("memory_quantity", "must be a memory quantity like '512Mi' or '2Gi'")
    if not 0 < memory_bytes(value) <= MAX_MEMORY_BYTES:
        raise _fail("memory_quantity", "must be more than 0 and at most 4Gi")
    return value


def _check_env_name(value: str) -> str:
    if re.fullmatch(ENV_NAME_PATTERN, value) is None:
        raise _fail("env_name", "must match ^[A-Za-z_][A-Za-z0-9_]*$")
    if value.upper().startswith(RESERVED_ENV_PREFIX):
        raise _fail("env_name", "must not start with the reserved prefix DEVSESSIONS_")
    return value


def _check_ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise _fail("ip_address", "must be an IPv4 or IPv6 address") from None
    return value


def _schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", **schema})


ProjectUUID = Annotated[
    str,
    AfterValidator(_check_uuid),  # anchored fixed-width regex: fails fast on any length
    _schema(
        pattern=UUID_PATTERN,
        minLength=36,
        maxLength=36,
        description="Canonical lowercase UUID (8-4-4-4-12 hex); becomes a namespace name.",
    ),
]
ImageRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512, pattern=IMAGE_PATTERN),
    Field(description="OCI image reference, e.g. 'registry:5000/team/app:1.2'."),
]
CpuQuantity = Annotated[
    str,
    StringConstraints(max_length=8),
    AfterValidator(_check_cpu),
    _schema(pattern=CPU_PATTERN, maxLength=8, description="CPU request, > 0 and <= 2000m."),
]
MemoryQuantity = Annotated[
    str,
    StringConstraints(max_length=12),
    AfterValidator(_check_memory),
    _schema(pattern=MEMORY_PATTERN, maxLength=12, description="Memory request, > 0 and <= 4Gi."),
]
EnvName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    AfterValidator(_check_env_name),
    _schema(
        pattern=ENV_NAME_PATTERN,
        minLength=1,
        maxLength=128,
        description="Environment variable name; the prefix DEVSESSIONS_ is reserved.",
    ),
]
EnvValue = Annotated[str, StringConstraints(max_length=4096)]
DnsLabel = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN),
    Field(description="RFC 1123 label (a Kubernetes namespace name)."),
]
ReleaseName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=53, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"),
    Field(description="Helm release name (RFC 1123, at most 53 characters)."),
]
IpAddress = Annotated[
    str,
    StringConstraints(max_length=45),
    AfterValidator(_check_ip),
    _schema(maxLength=45, description="IPv4 or IPv6 address."),
]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=URL_PATTERN)]
UrlPath = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=PATH_PATTERN)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
NonNegativeId = Annotated[int, Field(ge=0, le=2**63 - 1)]
