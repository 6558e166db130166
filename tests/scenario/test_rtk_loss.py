"""Losing RTK end to end (`propilot drive`, lockstep): what the driver is told, what the recording holds.

The whole rtk_loss_* catalogue passes in test_catalogue; here one story is read closely: a tunnel
whose exit blinds the windscreen camera, so neither RTK nor lane lines hold the lane.
"""

import json

import pytest
import yaml
from mcap_ros2.reader import read_ros2_messages

from propilot.core.localization.ekf import LocalizerSettings
from propilot.ros import topics
from tests.conftest import REPO
from tests.scenario.test_drive import drive

SCENARIO = REPO / "sim" / "scenarios" / "rtk_loss_tunnel_glare.yaml"


@pytest.fixture(scope="module")
def glare_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("glare")
    run = drive(SCENARIO, out)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, json.loads((out / "result.json").read_text())


def test_the_driver_is_told_the_lane_position_is_uncertain_when_rtk_and_camera_are_both_gone(glare_run):
    _, result = glare_run
    outage = next(f for f in yaml.safe_load(SCENARIO.read_text())["faults"] if f["kind"] == "gnss_outage")
    lost = next(e for e in result["events"] if e["kind"] == "lane_level" and e["detail"].startswith("lost"))
    # the last RTK fix came one receiver epoch (0.1 s) before the tunnel; lane-level ends rtk_hold_s after it
    assert lost["t_s"] == pytest.approx(outage["start_s"] - 0.1 + LocalizerSettings().rtk_hold_s, abs=0.06)
    takeover = next(e for e in result["events"] if e["kind"] == "pilot_state" and e["t_s"] == lost["t_s"])
    assert takeover["detail"] == "TAKEOVER_REQUEST: Take over: lane position uncertain (no RTK)"
    assert any(e["kind"] == "sound" and e["detail"] == "takeover" for e in result["events"])
    regained = [e for e in result["events"] if e["kind"] == "lane_level" and e["detail"].startswith("regained")]
    assert regained[0]["t_s"] == pytest.approx(outage["end_s"], abs=0.06) and "rtk" in regained[0]["detail"]


def test_the_recording_holds_imu_lane_lines_and_jpeg_frames_but_no_raw_images(glare_run):
    out, result = glare_run
    counts: dict[str, int] = {}
    formats = set()
    for message in read_ros2_messages(str(out / "run.mcap")):
        counts[message.channel.topic] = counts.get(message.channel.topic, 0) + 1
        if message.channel.topic == topics.CAMERA_FRONT_COMPRESSED:
            formats.add(message.ros_msg.format)
    seconds = result["sim_time_s"]
    assert topics.CAMERA_FRONT not in counts
    assert counts[topics.CAMERA_FRONT_COMPRESSED] == pytest.approx(seconds / topics.IMAGE_RECORD_PERIOD_S, abs=1)
    assert formats == {"jpeg"}
    assert counts[topics.LANE_LINES] == pytest.approx(seconds * 10, abs=1)  # one per camera frame
    assert counts[topics.IMU] == pytest.approx(seconds * 100, abs=5)
    assert counts[topics.LOCALIZATION_DIAGNOSTICS] == counts[topics.ODOMETRY]
