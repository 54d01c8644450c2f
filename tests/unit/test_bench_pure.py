"""The benchmark's pure arithmetic and parsers: what its printed figures rest on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from consumer.bench import procstat, stats, sweep
from consumer.bench.topology import parse_helm_log


def test_percentiles_interpolate_and_summary_rate() -> None:
    values = [float(x) for x in range(1, 101)]
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert math.isnan(stats.percentile([], 50))
    summary = stats.summarize(values, total_seconds=20.0)
    assert summary.rate == 5.0
    assert summary.p95 == pytest.approx(95.05)


def test_ratio_is_baseline_over_ours() -> None:
    assert stats.ratio(30.0, 6.0) == 5.0
    assert math.isnan(stats.ratio(1.0, 0.0))


def test_stage_split_is_additive_and_merges_missing_marks() -> None:
    marks = {
        "published": 0.0,
        "recorded": 0.1,
        "helm_start": 0.5,
        "helm_end": 1.5,
        "ready": 2.0,
        "announced": 2.2,
    }
    split = stats.stage_split(marks)
    assert split == pytest.approx(
        {
            "intake": 0.1,
            "queued+namespace": 0.4,
            "helm": 1.0,
            "pods ready": 0.5,
            "outbox to kafka": 0.2,
        }
    )
    assert sum(split.values()) == pytest.approx(2.2)
    no_helm = {k: v for k, v in marks.items() if not k.startswith("helm")}
    merged = stats.stage_split(no_helm)
    assert merged["pods ready"] == pytest.approx(1.9)  # recorded -> ready, in one span
    assert sum(merged.values()) == pytest.approx(2.2)
    assert stats.mean_split([split, split])["helm"] == pytest.approx(1.0)


def test_table_aligns_and_hides_nan() -> None:
    text = stats.table(["name", "value"], [["a", 1.23456], ["long name", math.nan]])
    lines = text.splitlines()
    assert lines[0].startswith("name") and lines[2].endswith("1.23")
    assert lines[3].endswith("-")
    assert len({len(line) for line in lines}) == 1


def test_proc_stat_parsing() -> None:
    tick = procstat.TICK
    line = f"123 (kube apiserver) S 1 2 3 4 5 6 7 8 9 10 {tick * 2} {tick} {tick * 3} 0 20 0"
    comm, cpu = procstat.parse_stat(line)
    assert comm == "kube apiserver"
    assert cpu == procstat.Cpu(own=3.0, children=3.0)
    assert procstat.parse_hwm("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t1 kB\n") == 2048 * 1024
    busy = procstat.parse_machine(f"cpu  {tick} 0 {tick} {tick * 10} 0 0 0 0 0 0\ncpu0 1\n")
    assert busy == 2.0
    grouped = procstat.group_cpu([("postgres", cpu), ("postgres", cpu), ("bash", cpu)])
    assert grouped == {"postgresql": 6.0}


def test_helm_log_lines_give_verb_release_and_span() -> None:
    text = (
        "10.5 11.0 0 status dev-session-abc -n abc -o json\n"
        "11.0 12.5 1 upgrade --install dev-session-abc /chart -n abc -f v.yaml\n"
        "13.0 13.2 0 get values dev-session-abc -n abc -o json\n"
    )
    calls = parse_helm_log(text)
    assert [c.verb for c in calls] == ["status", "upgrade", "get"]
    assert {c.release for c in calls} == {"dev-session-abc"}
    assert calls[1].code == 1 and calls[1].end - calls[1].start == pytest.approx(1.5)


def test_bottleneck_names_the_biggest_user_only_when_saturated() -> None:
    cpu = {"helm": 30.0, "api server": 10.0, "service (python)": 5.0}
    saturated = sweep.bottleneck(cpu, busy=50.0, seconds=27.0, cores=2)
    assert saturated.startswith("CPU saturated") and "helm" in saturated
    idle = sweep.bottleneck(cpu, busy=10.0, seconds=27.0, cores=2)
    assert idle.startswith("not CPU-bound")


def test_burst_table_json_and_plot_from_a_synthetic_run(tmp_path: Path) -> None:
    from consumer.bench import render, report
    from consumer.bench.burst import BurstRun, Side

    ours = Side([1.0, 2.0, 3.0], 3.5, {"service_per_session": 0.2, "helm_per_session": 0.5})
    loop = Side([2.0, 4.0, 6.0], 6.0, {"helm_per_session": 0.6})
    run = BurstRun(3, 4, ours, delete=ours, loop_create=loop, loop_delete=loop, peak_rss=90e6)
    run.stages = {"helm": 1.0}
    text = render.burst(run, "burst")
    assert "1.71x" in text and "design's loop" in text and "shared" in text
    doc = run.document("burst")
    assert doc["ratio"] == pytest.approx(6.0 / 3.5) and doc["rate"] == pytest.approx(3 / 3.5)
    out = tmp_path / "doc.json"
    report.write_json(out, doc | {"missing": math.nan})
    assert '"missing": null' in out.read_text()
    png = tmp_path / "cdf.png"
    said = report.cdf_plot(png, {"ours": ours.latencies, "loop": loop.latencies}, "t", "s")
    assert said.startswith("plot written") and png.read_bytes()[:4] == b"\x89PNG"


def test_profile_folds_collapsed_stacks_inclusively() -> None:
    from consumer.bench import profiling

    collapsed = "main;run;helm 6\nmain;run;sql 3\nmain;idle 1\n"
    shares = dict(profiling.top(collapsed))
    assert shares["main"] == 1.0 and shares["run"] == 0.9 and shares["helm"] == 0.6


def test_room_counts_sessions_that_still_fit() -> None:
    from consumer.bench import room

    per = room.session_requests(
        {
            "containers": {
                "a": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}},
                "b": {"resources": {"requests": {"cpu": "600m", "memory": "1Gi"}}},
            }
        }
    )
    assert per == pytest.approx((0.85, 1.5 * 2**30))
    nodes = [{"status": {"allocatable": {"cpu": "32", "memory": "256Gi"}}}] * 3
    busy = {"spec": {"containers": [{"resources": {"requests": {"cpu": "8500m"}}}]}}
    done = busy | {"status": {"phase": "Succeeded"}}
    assert room.sessions_that_fit(nodes, [], per) == 112
    assert room.sessions_that_fit(nodes, [busy, done], per) == 102
