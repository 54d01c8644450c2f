"""The local stack's two values files render the session where they say (no cluster).

``session-values.yaml`` (the stack's default) places nothing, so sessions stay on kwok's
fake nodes; ``session-values-real.yaml`` puts the pod on the real node (its nodeSelector
and toleration) with small requests under the chart's own limits. Both are merged under
the project's values exactly as the service merges them.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from devstack import node_config, session_placement, session_web
from devstack.paths import StateLayout

from consumer.domain.values import merged
from tests.chart import helm_chart as hc

TAGS = {"preview": "localhost/p:1", "chat": "localhost/c:1", "vscode": "localhost/v:1"}


def render_with(helm_bin: Path, tmp_path: Path, values_file: Path) -> list[hc.Manifest]:
    base = yaml.safe_load(values_file.read_text())
    return hc.render(helm_bin, tmp_path, merged(base, hc.project_values()))


def test_the_default_file_keeps_sessions_off_the_real_node(helm_bin: Path, tmp_path: Path) -> None:
    state = StateLayout(tmp_path / "stack")
    state.root.mkdir(parents=True)
    default = session_web.write_values(state, TAGS, real_node=False)
    assert session_placement.REAL_VALUES_VAR not in session_placement.exports(state)
    spec = hc.pod_spec(render_with(helm_bin, tmp_path, default))
    assert "nodeSelector" not in spec and "tolerations" not in spec
    assert {c["image"] for c in spec["containers"]} == set(TAGS.values())


def test_the_real_file_places_the_pod_on_the_real_node_within_the_limits(
    helm_bin: Path, tmp_path: Path
) -> None:
    state = StateLayout(tmp_path / "stack")
    state.root.mkdir(parents=True)
    session_web.write_values(state, TAGS, real_node=True)
    real = Path(session_placement.exports(state)[session_placement.REAL_VALUES_VAR])
    docs = render_with(helm_bin, tmp_path, real)
    spec = hc.pod_spec(docs)
    assert spec["nodeSelector"] == node_config.REAL_NODE_PLACEMENT["nodeSelector"]
    assert spec["tolerations"] == node_config.REAL_NODE_PLACEMENT["tolerations"]
    chart_defaults = hc.load_values_yaml()["containers"]
    total = sum(
        hc.quantity(c["resources"]["requests"]["cpu"]) for c in hc.containers(docs).values()
    )
    assert total <= hc.quantity("200m"), "the session must leave the 2-core node room"
    for name, container in hc.containers(docs).items():
        assert container["image"] == TAGS[name] and container["imagePullPolicy"] == "Never"
        assert container["resources"]["limits"] == chart_defaults[name]["resources"]["limits"]
    # Written again without the node (another stack took it): the real file goes.
    session_web.write_values(state, TAGS, real_node=False)
    assert not real.exists()
