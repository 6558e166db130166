"""`propilot replay RUN.mcap --node NAME`: a node fed its recorded inputs again decides the same.

One short lockstep run (engagement, ACC, lane keeping) is recorded; each deterministic node
replayed from it must give every recorded output again, and a changed parameter must show up
as differences naming topic, time and field.
"""

import subprocess
import sys

import pytest
import yaml

from propilot.core.settings import ConfigError
from tests.conftest import REPO

SCENARIO = REPO / "sim" / "scenarios" / "availability_and_engage.yaml"  # engages at 3 s


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from propilot.sim.runner import run_scenario
    from propilot.sim.scenario import load_scenario

    folder = tmp_path_factory.mktemp("replay")
    data = yaml.safe_load(SCENARIO.read_text())
    data.update(map=str(SCENARIO.parent / data["map"]), duration_s=8)
    (folder / "short.yaml").write_text(yaml.safe_dump(data))
    run_scenario(load_scenario(folder / "short.yaml"), folder / "run", "lockstep", progress=False)
    return folder / "run" / "run.mcap"


@pytest.mark.parametrize("node", ["localization", "fusion", "hmi", "behaviour", "control"])
def test_replay_of_each_node_is_identical(recording, node):
    from propilot.replay import recorded_messages, replay

    assert replay(recording, node) == []
    if node == "control":  # the run did drive: engaged commands are among the compared outputs
        modes = {m.mode for topic, m in recorded_messages(recording) if topic == "/control/command"}
        assert len(modes) > 1


def test_a_changed_parameter_is_reported(recording):
    from propilot.replay import replay

    differences = replay(recording, "control", ["acc.max_accel_mps2=0.5"])
    assert differences
    assert {d.topic for d in differences} == {"/control/command"}
    accel = [d for d in differences if d.field == "accel_mps2"]
    assert accel and all(d.replayed <= 0.5 + 1e-9 < d.recorded for d in accel if d.replayed > 0.0)
    assert min(d.t_s for d in differences) >= 3.0  # nothing differs before the driver engaged


def test_bad_requests_are_refused(recording):
    from propilot.replay import replay

    with pytest.raises(ConfigError, match="acc.nope: no such parameter"):
        replay(recording, "control", ["acc.nope=1"])
    with pytest.raises(ConfigError, match="acc.max_accel_mps2: expected a float"):
        replay(recording, "control", ["acc.max_accel_mps2=fast"])
    with pytest.raises(ConfigError, match="raw front camera image, is not recorded"):
        replay(recording, "lane_detection")
    with pytest.raises(ConfigError, match="unknown node"):
        replay(recording, "planner")


def test_command_reports_differences_and_exits_1(recording):
    changed = subprocess.run([sys.executable, "-m", "propilot.cli", "replay", str(recording), "--node", "behaviour",
                              "--param", "planner.path_spacing_m=1.0", "--max-lines", "5"],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    first = changed.stdout.splitlines()[0]
    assert first.startswith("/planning/trajectory t=") and "recorded" in first and "replayed" in first
    assert "behaviour: " in changed.stdout and " differences " in changed.stdout
