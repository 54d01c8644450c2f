"""Writes (or checks) the committed contract artefacts: JSON Schemas and AsyncAPI.

``python -m events.generate`` rewrites ``events/schemas/*.schema.json`` and
``events/asyncapi.json``; ``python -m events.generate --check`` exits 1 and names the
stale files instead. ``render()`` is pure, so a test compares it with the files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from events.asyncapi import document
from events.envelope import MODEL_OF_TYPE, Envelope
from events.models import AnyEvent

PACKAGE_DIR = Path(__file__).resolve().parent
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def schema_file(name: str) -> str:
    """Relative path (within the package) of the schema of one event type or the envelope."""
    return f"schemas/{name}.schema.json"


def _schema(model: type[BaseModel], name: str, title: str | None = None) -> dict[str, Any]:
    body = model.model_json_schema()
    if title is not None:
        body["title"] = title
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"urn:devsessions:schema:{name}", **body}


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """Every artefact: relative path -> file content."""
    files = {
        schema_file(event_type.value): _dump(_schema(model, event_type.value))
        for event_type, model in MODEL_OF_TYPE.items()
    }
    envelope = _schema(Envelope[AnyEvent], "envelope", title="Envelope")
    envelope["description"] = (
        "CloudEvents 1.0 context attributes and data. On Kafka (binary mode) every attribute "
        "but data is a ce_<name> header and data is the JSON record value."
    )
    files[schema_file("envelope")] = _dump(envelope)
    files["asyncapi.json"] = _dump(document())
    return files


def stale(root: Path = PACKAGE_DIR) -> list[str]:
    """Artefacts under ``root`` that differ from ``render()``, are missing or are left over."""
    rendered = render()
    result = [
        relative
        for relative, content in rendered.items()
        if not (root / relative).is_file()
        or (root / relative).read_text(encoding="utf-8") != content
    ]
    extra = (p.relative_to(root).as_posix() for p in (root / "schemas").glob("*.json"))
    return result + sorted(relative for relative in extra if relative not in rendered)


def write(root: Path = PACKAGE_DIR) -> list[str]:
    """Write every artefact under ``root``; returns the relative paths written."""
    rendered = render()
    for relative, content in rendered.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return sorted(rendered)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        outdated = stale()
        for relative in outdated:
            print(f"stale: events/{relative} (run: python -m events.generate)", file=sys.stderr)
        return 1 if outdated else 0
    for relative in write():
        print(f"wrote events/{relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
