"""The image allow-list: which images a project's overrides may run (pure).

Why: an image override is code the cluster pulls and runs for a project; the event that
carries it comes from the upstream service, which the cluster operator does not control.
The operator lists, in ``DEVSESSIONS_IMAGE_ALLOW_LIST``, the registries (a host, or a host
and path prefix) and pinned images (``repository@sha256:<digest>``) overrides may use. An
override outside the list is refused at intake, before anything is stored or installed
(and again by provision, should the list have shrunk since). An empty list refuses every
image override; the chart's own default images are not overrides and always run.

References are normalised as container runtimes do: ``node:22`` is
``docker.io/library/node:22`` and ``index.docker.io`` is ``docker.io``. A prefix matches
only at a path boundary: ``ghcr.io/acme`` admits ``ghcr.io/acme/app``, not
``ghcr.io/acme-evil/app``, and ``docker.io`` never admits ``docker.io.example.com/x``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

RULE_NAME = "image allow-list (DEVSESSIONS_IMAGE_ALLOW_LIST)"
IMAGE_FIELDS = ("preview_image", "chat_image", "vscode_image")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_ENTRY = re.compile(
    r"^(?P<host>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?)(?P<path>(/[a-z0-9._-]+)*)"
    r"(@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


@dataclasses.dataclass(frozen=True)
class ImageRef:
    """A reference split the way a runtime pulls it."""

    repository: str  # "docker.io/library/node"
    tag: str | None
    digest: str | None


def parse_ref(reference: str) -> ImageRef:
    """Normalise ``reference`` (``[host[:port]/]path[:tag][@sha256:...]``)."""
    name, _, digest = reference.partition("@")
    head, _, last = name.rpartition("/")
    tag = None
    if ":" in last:
        last, _, tag = last.partition(":")
    name = f"{head}/{last}" if head else last
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host = "docker.io" if first == "index.docker.io" else first
        repository = f"{host}/{rest}"
    elif slash:
        repository = f"docker.io/{name}"
    else:
        repository = f"docker.io/library/{name}"
    return ImageRef(repository, tag or None, digest or None)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One allow-list entry: a repository prefix, or one repository at one digest."""

    prefix: str
    digest: str | None = None

    def admits(self, ref: ImageRef) -> bool:
        if self.digest is not None:
            return ref.repository == self.prefix and ref.digest == self.digest
        return ref.repository == self.prefix or ref.repository.startswith(self.prefix + "/")

    def __str__(self) -> str:
        return f"{self.prefix}@{self.digest}" if self.digest else self.prefix


@dataclasses.dataclass(frozen=True)
class ImagePolicy:
    """The allow-list as configured; empty refuses every image override."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ImagePolicy:
        """From the setting: entries separated by commas or whitespace.

        Each entry starts with a registry host (``docker.io``, ``ghcr.io``,
        ``registry.local:5000``); a bare ``library/node`` would be ambiguous and is refused.
        """
        rules = []
        for entry in text.replace(",", " ").split():
            match = _ENTRY.match(entry)
            host = match.group("host") if match else ""
            if not match or not ("." in host or ":" in host or host == "localhost"):
                raise ValueError(
                    f"{RULE_NAME}: {entry!r} is not host[:port][/path][@sha256:<64 hex>]"
                )
            if host == "index.docker.io":
                host = "docker.io"
            rules.append(Rule(host + match.group("path"), match.group("digest")))
        return cls(tuple(rules))

    def refusal(self, overrides: Mapping[str, Any]) -> str | None:
        """Why ``overrides`` may not run, naming the rule and the image; None if allowed."""
        for field in IMAGE_FIELDS:
            reference = overrides.get(field)
            if not reference:
                continue
            ref = parse_ref(str(reference))
            if any(rule.admits(ref) for rule in self.rules):
                continue
            allowed = ", ".join(map(str, self.rules)) or "empty: no image override is allowed"
            return (
                f"refused by the {RULE_NAME}: {field} {reference!r} ({ref.repository}"
                f"{'@' + ref.digest if ref.digest else ''}) is not allowed; allowed: {allowed}"
            )
        return None
