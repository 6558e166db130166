"""The supervisor's side of a node failure, without ROS: silent heartbeats, stop in lane, driver take-over."""

from propilot.core.control.supervisor import HeartbeatMonitor, Supervisor, SupervisorSettings
from propilot.core.types import CommandMode, VehicleCommand

SETTINGS = SupervisorSettings()
PERIOD_S = 0.05  # heartbeat period


def route_pilot(t_s: float) -> VehicleCommand:
    return VehicleCommand(t_s, CommandMode.ROUTE_PILOT, accel_mps2=0.5, curvature_1pm=0.001)


def test_a_node_silent_longer_than_the_timeout_is_failed_and_a_node_never_heard_is_not():
    monitor = HeartbeatMonitor(SETTINGS.heartbeat_timeout_s, ("fusion", "behaviour"))
    for k in range(10):
        monitor.beat("fusion", k * PERIOD_S)
        monitor.beat("behaviour", k * PERIOD_S)
        monitor.beat("stranger", k * PERIOD_S)  # not monitored
    last_s = 9 * PERIOD_S
    monitor.beat("behaviour", last_s + 0.1)
    assert monitor.silent(last_s + SETTINGS.heartbeat_timeout_s) == ()
    assert monitor.silent(last_s + SETTINGS.heartbeat_timeout_s + 0.01) == ("fusion",)
    assert HeartbeatMonitor(0.15, ("fusion",)).silent(100.0) == ()  # never heard: not started yet


def test_a_fault_while_driving_stops_in_lane_until_the_driver_brakes_then_stays_manual_until_it_clears():
    supervisor = Supervisor(SETTINGS)
    command = supervisor.filter(route_pilot(0.0), 25.0, 0.0, faults=("fusion",))
    assert command.mode == CommandMode.MINIMAL_RISK and command.hazard_lights
    assert command.curvature_1pm == route_pilot(0.0).curvature_1pm, "keeps to the lane"
    assert "fusion" in command.limited_reason
    accels = [supervisor.filter(route_pilot(k * 0.05), 25.0, 0.0, faults=("fusion",)).accel_mps2
              for k in range(1, 40)]
    assert accels[-1] == -SETTINGS.minimal_risk_decel_mps2  # reached through the jerk limit
    assert supervisor.filter(route_pilot(2.0), 20.0, 0.0, ("fusion",), driver_braking=True).mode == CommandMode.MANUAL
    assert supervisor.filter(route_pilot(2.05), 20.0, 0.0, ("fusion",)).mode == CommandMode.MANUAL, "brake released"
    assert supervisor.filter(route_pilot(2.1), 20.0, 0.0, ()).mode == CommandMode.ROUTE_PILOT, "fault cleared"


def test_inputs_older_than_the_limit_by_their_stamps_are_stale():
    supervisor = Supervisor(SETTINGS)
    fresh = supervisor.filter(route_pilot(0.0), 25.0, input_age_s=SETTINGS.max_input_age_s)
    stale = Supervisor(SETTINGS).filter(route_pilot(0.0), 25.0, input_age_s=SETTINGS.max_input_age_s + 0.01)
    assert fresh.mode == CommandMode.ROUTE_PILOT
    assert stale.mode == CommandMode.MINIMAL_RISK and "stale" in stale.limited_reason


def test_the_driver_is_warned_of_a_system_fault_and_can_take_over_by_braking():
    from propilot.core.types import PilotState, WarningLevel
    from tests.unit.test_engagement import ATTENTIVE, ON_LANE, engaged_hmi

    hmi = engaged_hmi()
    state = hmi.update(5.0, [], ATTENTIVE, ON_LANE, 25.0, 0.0, system_fault="fusion")
    assert state.pilot_state == PilotState.MINIMAL_RISK and state.sound == "alarm"
    assert "fusion" in state.message and state.warning_level == WarningLevel.DIRECT_CONTROL
    assert hmi.update(5.5, [], ATTENTIVE, ON_LANE, 20.0, 0.3, system_fault="fusion").pilot_state \
        == PilotState.UNAVAILABLE, "braking hands over"
    assert hmi.update(6.0, [], ATTENTIVE, ON_LANE, 20.0, 0.0, system_fault="fusion").pilot_state \
        == PilotState.UNAVAILABLE, "not offered while the fault lasts"
    assert hmi.update(6.5, [], ATTENTIVE, ON_LANE, 20.0, 0.0).pilot_state == PilotState.AVAILABLE
