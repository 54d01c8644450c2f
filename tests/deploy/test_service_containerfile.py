"""Static checks of deploy/container/Containerfile (no container engine is needed or used).

The image cannot be built here, so these tests hold the Containerfile to the repository it
builds from: every copied path exists and survives the ignore file, every Python package of
the distribution is copied, the helm pin matches the local stack's, and the paths and user the
image sets agree with the service chart's defaults.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "container" / "Containerfile"
IGNOREFILE = ROOT / "deploy" / "container" / "Containerfile.dockerignore"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions() -> list[Instruction]:
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines()]
    parsed = [ln.split(None, 1) for ln in lines if ln and not ln.startswith("#")]
    return [Instruction(p[0].upper(), p[1] if len(p) > 1 else "") for p in parsed]


def copies(from_stage: bool) -> list[tuple[list[str], str]]:
    found = []
    for ins in instructions():
        if ins.keyword != "COPY":
            continue
        words = shlex.split(ins.args)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        if any(f.startswith("--from=") for f in flags) == from_stage:
            found.append((paths[:-1], paths[-1]))
    return found


def final_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in instructions():
        if ins.keyword == "FROM":
            env = {}
        elif ins.keyword == "ENV":
            env.update(dict(w.split("=", 1) for w in shlex.split(ins.args)))
    return env


def last(keyword: str) -> str:
    return [ins.args for ins in instructions() if ins.keyword == keyword][-1]


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_copied_sources_exist_and_pass_the_ignore_file() -> None:
    kept = {ln[1:].rstrip("/") for ln in IGNOREFILE.read_text().splitlines() if ln[:1] == "!"}
    sources = [src for srcs, _ in copies(from_stage=False) for src in srcs]
    assert sources, "the Containerfile copies nothing from the build context"
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
        assert src.rstrip("/") in kept, f"COPY {src}: excluded by {IGNOREFILE.name}"


def test_every_python_package_of_the_distribution_is_copied() -> None:
    find = pyproject()["tool"]["setuptools"]["packages"]["find"]
    sources = {src.rstrip("/") for srcs, _ in copies(from_stage=False) for src in srcs}
    for pattern in find["include"]:
        name = pattern.rstrip("*")
        homes = [f"{where}/{name}".removeprefix("./") for where in find["where"]]
        assert sources & set(homes), f"package {name} ({homes}) is not copied into the image"


def test_helm_is_built_at_the_stack_pin() -> None:
    pins = tomllib.loads((ROOT / "deploy" / "local" / "devstack" / "versions.toml").read_text())
    arg = next(i.args for i in instructions() if i.args.startswith("HELM_VERSION="))
    assert arg == f"HELM_VERSION={pins['helm']['version']}"
    assert f"{pins['helm']['module']}/cmd/helm@${{HELM_VERSION}}" in CONTAINERFILE.read_text()


def test_image_paths_match_what_it_copies() -> None:
    env = final_env()
    chart_dest = {dest for srcs, dest in copies(False) if srcs == ["helm/dev-session-template"]}
    assert chart_dest == {env["DEVSESSIONS_CHART_PATH"]}
    helm_dest = {dest for srcs, dest in copies(True) if srcs == ["/go/bin/helm"]}
    assert helm_dest == {env["DEVSESSIONS_HELM_BINARY"]}
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME", "HOME"):
        assert env[name].startswith("/tmp"), f"{name} must be on the pod's writable /tmp"


def test_runs_as_the_charts_non_root_user() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "chart" / "devsessions" / "values.yaml").read_text())
    uid, _, gid = last("USER").partition(":")
    assert int(uid) > 0
    assert int(uid) == values["podSecurityContext"]["runAsUser"]
    assert int(gid) == values["podSecurityContext"]["runAsGroup"]


@pytest.mark.parametrize(
    ("keyword", "expected"), [("ENTRYPOINT", ["devsessions"]), ("CMD", ["run"])]
)
def test_entrypoint_is_the_console_script(keyword: str, expected: list[str]) -> None:
    assert yaml.safe_load(last(keyword)) == expected
    scripts = pyproject()["project"]["scripts"]
    assert "devsessions" in scripts
