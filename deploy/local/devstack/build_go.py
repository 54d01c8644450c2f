"""Build Go commands from the Go module proxy into a directory.

A throw-away module requires the pinned module (and, for Kubernetes, replaces its
staging modules by their published versions), ``go mod tidy`` resolves the rest and
``go build -v`` writes the binaries (and names each package as it is compiled, which
the step's progress shows). Go's own module and build caches stay where Go
keeps them, so a second build of another version reuses what it can.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from devstack import procs
from devstack.pins import GoPin

GO_MOD_TEMPLATE = "module devsessions.local/stackbuild\n\ngo 1.24\n\nrequire {module} {version}\n"


def go_binary() -> str:
    """The ``go`` command: ``$DEVSESSIONS_GO``, then PATH, then the usual install place."""
    found = os.environ.get("DEVSESSIONS_GO") or shutil.which("go")
    if found:
        return found
    if Path("/usr/local/go/bin/go").exists():
        return "/usr/local/go/bin/go"
    raise RuntimeError("the Go toolchain (go) is not installed")


def package_paths(pin: GoPin) -> list[str]:
    """Import paths of the commands of ``pin`` (an empty command is the module root)."""
    return [f"{pin.module}/{c}" if c else pin.module for c in pin.commands]


def binary_name(package: str) -> str:
    """The file ``go build -o DIR/`` writes for ``package`` (a ``/vN`` suffix is skipped)."""
    parts = package.split("/")
    if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
        return parts[-2]
    return parts[-1]


def binary_names(pin: GoPin) -> list[str]:
    return [binary_name(p) for p in package_paths(pin)]


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    return env


def staging_replaces(go_mod_text: str, version: str) -> dict[str, str]:
    """Map each ``X => ./staging/...`` line of a go.mod to ``X => X <version>``."""
    replaces: dict[str, str] = {}
    for raw in go_mod_text.splitlines():
        line = raw.strip().removeprefix("replace").strip()
        if "=> ./staging/" not in line:
            continue
        module = line.split("=>", 1)[0].split()[0]
        replaces[module] = f"{module} {version}"
    return replaces


def module_go_mod(module: str, version: str, log: Path) -> str:
    """Text of a module's go.mod, fetched through ``go mod download``."""
    out = procs.run_logged(
        [go_binary(), "mod", "download", "-json", f"{module}@{version}"], log, env=go_env()
    )
    return Path(json.loads(out)["GoMod"]).read_text("utf-8")


def tools_file(packages: Sequence[str]) -> str:
    imports = "".join(f'\t_ "{p}"\n' for p in packages)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"


def build(
    pin: GoPin,
    out_dir: Path,
    log: Path,
    *,
    ldflags: str = "-s -w",
    replaces: Mapping[str, str] | None = None,
) -> list[Path]:
    """Build every command of ``pin`` into ``out_dir``; return the binaries' paths."""
    packages = package_paths(pin)
    with tempfile.TemporaryDirectory(prefix="devstack-go-") as tmp:
        mod = Path(tmp)
        go_mod = GO_MOD_TEMPLATE.format(module=pin.module, version=pin.version)
        if replaces:
            go_mod += "\nreplace (\n" + "".join(
                f"\t{k} => {v}\n" for k, v in sorted(replaces.items())
            )
            go_mod += ")\n"
        (mod / "go.mod").write_text(go_mod)
        (mod / "tools.go").write_text(tools_file(packages))
        go, env = go_binary(), go_env()
        procs.run_logged([go, "mod", "tidy", "-e"], log, env=env, cwd=mod)
        procs.run_logged(
            [go, "build", "-v", "-ldflags", ldflags, "-o", f"{out_dir}/", *packages],
            log,
            env=env,
            cwd=mod,
        )
    return [out_dir / name for name in binary_names(pin)]
