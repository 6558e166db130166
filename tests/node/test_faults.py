"""Node failures in ROS mode, real processes at real time: a killed or hung node is noticed by the
supervisor (heartbeats), the driver is warned, the car stops in its lane, and restarting the node
restores service without restarting the others.

The detection latency is measured on the nodes' clock (simulation time, paced at real time) from
the moment of the kill to the supervisor's /system/fault stamp, printed and written to
OUT/fault_latency.json; the requirement is 200 ms, asserted nowhere here (no timing thresholds in
tests; see docs/runtime.md for the figures measured).
"""

import json
import math
import os
import signal

import pytest
from propilot_msgs.msg import HmiState, VehicleCommand

from propilot.ros import topics
from propilot.ros.conversions import from_time
from tests.node.stack_process import RunningStack, write_scenario

pytestmark = pytest.mark.ros

WAIT_S = 60.0  # wall time to wait for each step of the story: generous, the machine may be busy
LISTEN = [topics.SYSTEM_FAULT, topics.COMMAND, topics.HMI_STATE, topics.OBJECTS, topics.VEHICLE_STATUS,
          topics.LANE, topics.DIAGNOSTICS]


@pytest.fixture
def stack(tmp_path):
    scenario = write_scenario(
        tmp_path / "fault.yaml", purpose="A node fails while route driving; the driver does not take over.",
        duration_s=60, ego={"lane": 1, "station_m": 200, "speed_mps": 15},
        driver={"set_speed_kph": 55, "eyes_on_road": True, "takes_over": False},  # the test engages
        traffic={"vehicles": [{"id": "far_lead", "lane": 1, "station_m": 700, "speed_mps": 16}]},
        expectations={"collisions": {"max": 0}})
    running = RunningStack(scenario, tmp_path / "out", domain=1 + (os.getpid() + 53) % 100, listen=LISTEN)
    yield running
    running.close()


def named(fault, node) -> bool:
    return any(s.hardware_id == node for s in fault.status)


def silent_for_s(fault, node) -> float:
    values = {kv.key: float(kv.value) for s in fault.status if s.hardware_id == node for kv in s.values}
    return round(values["detected_s"] - values["last_heartbeat_s"], 3)


def faults_named(stack, node):
    return next((m for m in stack.received[topics.SYSTEM_FAULT] if named(m, node)), None)


def test_killed_node_is_noticed_the_car_stops_in_lane_and_a_restart_restores_service(stack):
    stack.engage()
    # the story starts once the pilot drives: a command in route-pilot mode (not only the display engaged)
    stack.spin_until(lambda: any(c.mode == VehicleCommand.MODE_ROUTE_PILOT for c in stack.received[topics.COMMAND]),
                     WAIT_S, "the pilot driving")
    others = {name: stack.node_process(name) for name in ("localization", "hmi", "behaviour", "control")}
    lane_before = stack.received[topics.LANE][-1].lane_index

    # kill -9 the fusion node while the pilot drives
    fusion = stack.node_process("fusion")
    killed_at_s = stack.clock_s
    os.kill(fusion.pid, signal.SIGKILL)
    fault = stack.spin_until(lambda: faults_named(stack, "fusion"), WAIT_S, "a system fault naming fusion")
    crash_latency_s = from_time(fault.header.stamp) - killed_at_s
    crash_silent_s = silent_for_s(fault, "fusion")

    # the driver is warned and the car stops in its lane with hazard lights
    warned = stack.spin_until(lambda: next((m for m in stack.received[topics.HMI_STATE]
                                            if m.pilot_state == HmiState.PILOT_MINIMAL_RISK), None),
                              WAIT_S, "the take-over warning")
    assert "System fault" in warned.message  # it names fusion, or another node a busy machine starved meanwhile
    assert warned.warning_level == HmiState.WARNING_DIRECT_CONTROL
    stack.received[topics.COMMAND].clear()
    stack.spin_until(lambda: stack.received[topics.VEHICLE_STATUS]
                     and stack.received[topics.VEHICLE_STATUS][-1].speed_mps < 0.3, 4 * WAIT_S, "standstill")
    commands = stack.received[topics.COMMAND]
    assert commands and all(c.mode == VehicleCommand.MODE_MINIMAL_RISK and c.hazard_lights for c in commands)
    assert any("system fault" in c.limited_reason for c in commands)
    assert all(abs(c.curvature_1pm) < 0.01 for c in commands), "the stop follows the straight lane"
    assert stack.received[topics.LANE][-1].lane_index == lane_before

    # restarting fusion alone restores service
    stack.received[topics.SYSTEM_FAULT].clear()
    restarted_at_s = stack.clock_s
    stack.restart("fusion")
    stack.spin_until(lambda: any(not named(m, "fusion") for m in stack.received[topics.SYSTEM_FAULT]), 2 * WAIT_S,
                     "the fault cleared")
    stack.spin_until(lambda: any(from_time(m.header.stamp) > restarted_at_s for m in stack.received[topics.OBJECTS]),
                     WAIT_S, "fused objects again")
    assert all(p.is_running() and p.status() != "zombie" for p in others.values()), "no other node restarted"

    # a hung node (stopped, not dead) is noticed the same way, and recovers when it runs again
    behaviour = others["behaviour"]
    stopped_at_s = stack.clock_s
    behaviour.send_signal(signal.SIGSTOP)
    try:
        fault = stack.spin_until(lambda: faults_named(stack, "behaviour"), WAIT_S, "a fault naming behaviour")
    finally:
        behaviour.send_signal(signal.SIGCONT)
    hang_latency_s = from_time(fault.header.stamp) - stopped_at_s
    hang_silent_s = silent_for_s(fault, "behaviour")
    stack.received[topics.SYSTEM_FAULT].clear()
    stack.spin_until(lambda: any(not named(m, "behaviour") for m in stack.received[topics.SYSTEM_FAULT]), WAIT_S,
                     "the fault cleared after the hang")

    # detection_s: from the kill (the newest /clock the test had seen then) to the fault's stamp;
    # silent_s: from the node's last heartbeat to the fault's stamp (the supervisor's own part)
    figures = {"crash_detection_s": round(crash_latency_s, 3), "crash_silent_s": crash_silent_s,
               "hang_detection_s": round(hang_latency_s, 3), "hang_silent_s": hang_silent_s,
               "requirement_s": 0.2}
    (stack.out / "fault_latency.json").write_text(json.dumps(figures))
    print(f"\nfault detection on the node clock: {figures}")
    assert math.isfinite(crash_latency_s) and crash_latency_s > 0.0
