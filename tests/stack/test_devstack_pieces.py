"""The stack's pure logic and process handling, without the stack itself.

Fast: pins and their consistency, go.mod replace generation, binary naming, the shell
exports (evaluated by a real bash), port choice, atomic cache artefacts, timed steps,
and stopping exactly the process group we started (real short-lived processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from devstack import api, build_go, cache, kafka, kube_build, pins, ports, procs, record, steps


def test_pins_are_consistent() -> None:
    p = pins.load()
    for go_pin in (p.kubernetes, p.etcd, p.kwok, p.helm):
        assert go_pin.version.startswith("v"), go_pin
    major, minor, patch = p.kubernetes.version.removeprefix("v").split(".")
    assert p.kubernetes_staging_version == f"v0.{minor}.{patch}"
    assert major == "1"
    assert p.helm.module.endswith("/v4")
    assert p.kafka.version.split(".")[0] == "4"


def test_staging_replaces_map_local_paths_to_published_versions() -> None:
    go_mod = (
        "module k8s.io/kubernetes\n\nreplace (\n"
        "\tk8s.io/api => ./staging/src/k8s.io/api\n"
        "\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n"
        "\tgithub.com/other/mod => github.com/fork/mod v1.2.3\n)\n"
        "replace k8s.io/kms => ./staging/src/k8s.io/kms\n"
    )
    assert build_go.staging_replaces(go_mod, "v0.35.4") == {
        "k8s.io/api": "k8s.io/api v0.35.4",
        "k8s.io/client-go": "k8s.io/client-go v0.35.4",
        "k8s.io/kms": "k8s.io/kms v0.35.4",
    }


def test_binary_names_follow_go_build() -> None:
    assert build_go.binary_name("k8s.io/kubernetes/cmd/kube-apiserver") == "kube-apiserver"
    assert build_go.binary_name("go.etcd.io/etcd/server/v3") == "server"
    assert build_go.binary_names(pins.load().kwok) == ["kwok", "kwokctl"]


def test_kubernetes_version_is_stamped_for_server_and_clients() -> None:
    flags = kube_build.kubernetes_ldflags("v1.35.4")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.35.4" in flags
        assert f"-X {pkg}.gitMajor=1" in flags
        assert f"-X {pkg}.gitMinor=35" in flags


def test_exports_survive_bash_eval(tmp_path: Path) -> None:
    odd = tmp_path / "dir with 'quotes' and $dollar"
    info = record.make_info(
        "127.0.0.1:9092",
        "postgresql+asyncpg://devsessions@127.0.0.1:5432/devsessions",
        odd / "kubeconfig",
        odd / "bin" / "helm",
    )
    script = record.exports(info) + (
        'printf "%s\\n" "$DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS" "$DEVSESSIONS_DATABASE_URL"'
        ' "$KUBECONFIG" "$DEVSESSIONS_HELM_BINARY" "${PATH%%:*}"'
    )
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()  # fmt: skip
    assert out == [
        info.kafka_bootstrap_servers,
        info.database_url,
        str(info.kubeconfig),
        str(info.helm_binary),
        str(info.helm_binary.parent),
    ]


def test_kafka_cluster_ids_never_look_like_options() -> None:
    ids = [kafka.new_cluster_id() for _ in range(2000)]  # ~1 in 64 would start with "-"
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)


def test_ports_keep_known_and_fill_the_rest_distinct() -> None:
    chosen = ports.assign(["a", "b", "c"], {"a": 4321})
    assert chosen["a"] == 4321
    assert len({chosen["a"], chosen["b"], chosen["c"]}) == 3
    assert not ports.is_listening(chosen["b"])


def test_cache_artefact_appears_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVSESSIONS_CACHE_DIR", str(tmp_path))

    def broken(out: Path) -> None:
        (out / "half").write_text("x")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        cache.ensure("thing", "v1", ["half", "other"], broken)
    assert sorted(p.name for p in (tmp_path / "thing").iterdir()) == [".lock"]

    calls: list[Path] = []

    def good(out: Path) -> None:
        calls.append(out)
        (out / "bin").write_text("ok")

    first = cache.ensure("thing", "v1", ["bin"], good, recipe="r1")
    second = cache.ensure("thing", "v1", ["bin"], good, recipe="r1")
    assert first == (tmp_path / "thing" / "v1", True)
    assert second == (tmp_path / "thing" / "v1", False)
    assert len(calls) == 1
    assert (tmp_path / "thing" / "v1" / "bin").read_text() == "ok"
    # Another recipe (say, other linker flags) is another artefact: rebuilt, swapped in.
    assert cache.ensure("thing", "v1", ["bin"], good, recipe="r2")[1] is True
    assert len(calls) == 2
    assert sorted(p.name for p in (tmp_path / "thing").iterdir()) == [".lock", "v1"]


def test_cache_rebuilds_a_directory_it_did_not_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVSESSIONS_CACHE_DIR", str(tmp_path))
    foreign = tmp_path / "thing" / "v1"
    foreign.mkdir(parents=True)
    (foreign / "bin").write_text("unstamped")
    directory, built = cache.ensure(
        "thing", "v1", ["bin"], lambda out: (out / "bin").write_text("ok")
    )
    assert built is True
    assert (directory / "bin").read_text() == "ok"


def test_step_failure_names_step_and_log(tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder(steps.NullReporter):
        def failed(self, step: str, seconds: float, log: Path) -> None:
            seen.append(f"{step}:{log.name}")

    log = tmp_path / "kafka.log"
    with pytest.raises(steps.StepFailed) as caught, steps.step(Recorder(), "kafka", log):
        raise ValueError("port taken")
    assert caught.value.step == "kafka"
    assert caught.value.log == log
    assert "port taken" in str(caught.value)
    assert seen == ["kafka:kafka.log"]


def _pids_in_group(pgid: int) -> list[int]:
    """Live (non-zombie) members of a process group, as ps sees them."""
    out = subprocess.run(
        ["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()]
    return [int(r[0]) for r in rows if int(r[1]) == pgid and not r[2].startswith("Z")]


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    # The leader ignores SIGTERM and leaves a child behind: both must go.
    script = "import subprocess, signal, time\n"
    script += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    script += "subprocess.Popen(['sleep', '300'])\ntime.sleep(300)\n"
    pid_file = tmp_path / "p.pid"
    rec = procs.spawn([sys.executable, "-c", script], tmp_path / "p.log", pid_file)
    deadline = time.monotonic() + 10
    while len(_pids_in_group(rec.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_pids_in_group(rec.pid)) == 2
    assert procs.running(pid_file) == rec
    assert procs.stop_pid_file(pid_file, grace=0.5) is True
    assert _pids_in_group(rec.pid) == []
    assert not pid_file.exists()


def test_stop_leaves_a_process_that_is_not_ours_alone(tmp_path: Path) -> None:
    pid_file = tmp_path / "p.pid"
    rec = procs.spawn(["sleep", "300"], tmp_path / "p.log", pid_file)
    try:
        # Same pid, another start time: what a recycled pid looks like.
        pid_file.write_text(procs.PidRecord(rec.pid, rec.start_time + 1).render())
        assert procs.running(pid_file) is None
        assert procs.stop_pid_file(pid_file, grace=0.5) is False
        assert procs.is_alive(rec)
    finally:
        os.killpg(rec.pid, 9)
        os.waitpid(rec.pid, 0)


def test_one_component_stops_and_starts_only_by_known_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVSESSIONS_STATE_DIR", str(tmp_path))
    for call in (api.stop_component, api.start_component):
        with pytest.raises(ValueError, match="kafka, postgresql"):
            call("kube-apiserver")
    assert api.stop_component("kafka") is False  # nothing of this state dir runs
    with pytest.raises(RuntimeError, match="stack up"):
        api.start_component("kafka")
