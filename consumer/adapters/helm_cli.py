"""The ``Helm`` port on the Helm 4 CLI.

Why the CLI and not a library: Helm has no maintained Python SDK, and the CLI is what
operators run by hand, so what the service does can be replayed in a shell. Arguments are
always a list (no shell); values go in a temporary file (``-f``), never ``--set`` built
from event data. Each call is bounded by a timeout; failures are classified into the
domain's transient/permanent errors with the step and Helm's own message.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog
import yaml

from consumer.domain.errors import PermanentError, StepTimeout, TransientError
from consumer.domain.release import ReleaseInfo, ReleaseState
from consumer.observability import metrics

log = structlog.get_logger(__name__)

_PERMANENT_MARKERS = (
    "values don't meet the specifications of the schema",
    "execution error at",
    "parse error",
    "chart requires kubeVersion",
    # the API server's strict field validation refused a rendered manifest (a chart bug)
    "field not declared in schema",
    "strict decoding error",
)
# Helm's own answer for a release it has no record of, on a line of its own. Anything else
# that merely contains "not found" (a kubeconfig context, a plugin, a CRD, an API group)
# is a failure to observe, not an observation of absence.
_RELEASE_NOT_FOUND = re.compile(r"^Error: release: not found\s*$", re.MULTILINE)
_STATES = {
    "deployed": ReleaseState.DEPLOYED,
    "failed": ReleaseState.FAILED,
    "pending-install": ReleaseState.PENDING,
    "pending-upgrade": ReleaseState.PENDING,
    "pending-rollback": ReleaseState.PENDING,
}


class HelmCli:
    """Runs ``helm`` as a subprocess against the configured kubeconfig."""

    def __init__(
        self,
        *,
        binary: str,
        chart: Path,
        timeout_seconds: float,
        kubeconfig: str | None = None,
        env: Mapping[str, str] | None = None,
        openapi_validation: bool = False,
    ) -> None:
        self._binary = binary
        # Helm's client-side step fetches and parses the API server's OpenAPI documents
        # in every new process only to learn that the server validates fields itself
        # (Helm applies with fieldValidation=Strict either way); BENCHMARKS.md has the cost.
        self._validation = () if openapi_validation else ("--disable-openapi-validation",)
        self._chart = chart
        self._timeout = timeout_seconds
        self._env = dict(os.environ if env is None else env)
        if kubeconfig:
            self._env["KUBECONFIG"] = kubeconfig

    async def ping(self) -> None:
        """Raise when the Helm binary cannot be run (the readiness probe; no subprocess,
        so probing never shows up among Helm calls)."""
        if shutil.which(self._binary, path=self._env.get("PATH")) is None:
            raise FileNotFoundError(f"helm binary {self._binary!r} not found or not executable")

    async def status(self, release: str, namespace: str) -> ReleaseInfo:
        code, out, err = await self._run("status", release, "-n", namespace, "-o", "json")
        if code != 0:
            if _RELEASE_NOT_FOUND.search(err):
                return ReleaseInfo(ReleaseState.ABSENT)
            raise TransientError("helm status", _tail(err))
        doc = json.loads(out)
        raw = str(doc.get("info", {}).get("status", ""))
        return ReleaseInfo(_STATES.get(raw, ReleaseState.OTHER), raw, int(doc.get("version", 0)))

    async def get_values(self, release: str, namespace: str) -> dict[str, Any]:
        code, out, err = await self._run("get", "values", release, "-n", namespace, "-o", "json")
        if code != 0:
            raise TransientError("helm get values", _tail(err))
        values = json.loads(out) if out.strip() else {}
        return values if isinstance(values, dict) else {}

    async def upgrade_install(self, release: str, namespace: str, values: dict[str, Any]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="values-") as handle:
            yaml.safe_dump(values, handle, sort_keys=True)
            handle.flush()
            code, _, err = await self._run(
                "upgrade",
                "--install",
                release,
                str(self._chart),
                "-n",
                namespace,
                "-f",
                handle.name,
                "--reset-values",
                "--history-max",
                "5",
                "--wait=hookOnly",
                "--timeout",
                f"{int(self._timeout)}s",
                *self._validation,
            )
        if code != 0:
            self._raise("helm upgrade --install", err)

    async def rollback(self, release: str, namespace: str) -> None:
        code, _, err = await self._run(
            "rollback", release, "-n", namespace, "--timeout", f"{int(self._timeout)}s"
        )
        if code != 0:
            self._raise("helm rollback", err)

    async def uninstall(self, release: str, namespace: str) -> None:
        code, _, err = await self._run(
            "uninstall",
            release,
            "-n",
            namespace,
            "--ignore-not-found",
            "--timeout",
            f"{int(self._timeout)}s",
        )
        if code != 0:
            self._raise("helm uninstall", err)

    @staticmethod
    def _raise(step: str, err: str) -> None:
        message = _tail(err)
        if any(marker in err for marker in _PERMANENT_MARKERS):
            raise PermanentError(step, message)
        raise TransientError(step, message)

    async def _run(self, *args: str) -> tuple[int, str, str]:
        verb = args[0]
        metrics.HELM_CALLS.labels(verb=verb).inc()
        proc = await asyncio.create_subprocess_exec(
            self._binary,
            *args,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            with metrics.HELM_SECONDS.labels(verb=verb).time():
                out, err = await asyncio.wait_for(proc.communicate(), self._timeout + 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise StepTimeout(
                f"helm {verb}", f"no answer within {self._timeout + 30:.0f}s"
            ) from None
        except asyncio.CancelledError:
            proc.kill()
            await proc.wait()
            raise
        code = proc.returncode if proc.returncode is not None else -1
        log.debug("helm", args=list(args), code=code)
        return code, out.decode(errors="replace"), err.decode(errors="replace")


def _tail(text: str, limit: int = 1500) -> str:
    """The end of Helm's message (where the cause is), on one line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else "..." + line[-limit:]
