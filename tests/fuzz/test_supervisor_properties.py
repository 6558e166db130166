"""Supervisor: whatever the planner and controllers ask, what reaches the vehicle stays in the envelope.

Any sequence of requests (any acceleration and curvature, NaN and infinities included, any mode),
at any speed, with fresh or stale inputs and node faults, gives commands that are finite and keep
the acceleration, jerk, lateral acceleration and curvature rate (steering rate) limits.
"""

import math

from hypothesis import given
from hypothesis import strategies as st

from propilot.core.control.supervisor import Supervisor, SupervisorSettings
from propilot.core.settings import from_mapping, spec
from propilot.core.types import CommandMode, VehicleCommand

ACC_RANGE_DECEL_MPS2 = 3.5  # the supervisor's threshold for emergency braking (ISO 15622's ACC range)
SLACK = 1e-9  # floating-point rounding of the clamps


def _any_float(low: float, high: float) -> st.SearchStrategy:
    return st.one_of(st.floats(low, high), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, low, high]),
                     st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def supervisor_settings(draw) -> SupervisorSettings:
    """Any settings the spec allows (each between its bounds)."""
    values = {}
    for info in spec(SupervisorSettings):
        if info.type is float and info.minimum is not None and info.maximum is not None and draw(st.booleans()):
            values[info.name] = draw(st.floats(info.minimum, info.maximum))
    return from_mapping(SupervisorSettings, values, "fuzz")


REQUEST = st.tuples(
    _any_float(-12.0, 6.0),  # requested acceleration, m/s^2
    _any_float(-0.3, 0.3),  # requested curvature, 1/m
    st.sampled_from(list(CommandMode)),
    st.one_of(st.floats(0.0, 60.0), st.sampled_from([0.0, 0.5, 1.0, 40.0])),  # ego speed, m/s
    st.one_of(st.just(0.05), st.floats(0.0, 1.0)),  # input age, s
    st.sampled_from([(), (), (), ("behaviour",)]),  # nodes fallen silent
    st.booleans(),  # driver brakes
)


def envelope_violations(s: SupervisorSettings, previous, command: VehicleCommand, request, speed_mps: float) -> list:
    """Each limit the command breaks, given the previous command (None at the first)."""
    out = []
    a, k = command.accel_mps2, command.curvature_1pm
    if not (math.isfinite(a) and math.isfinite(k)):
        return [f"not finite: accel {a}, curvature {k}"]
    if not -s.max_decel_mps2 - SLACK <= a <= s.max_accel_mps2 + SLACK:
        out.append(f"acceleration {a} outside [-{s.max_decel_mps2}, {s.max_accel_mps2}]")
    v2 = max(speed_mps, 1.0) ** 2
    if abs(v2 * k) > s.max_lat_accel_mps2 + 1e-6:
        out.append(f"lateral acceleration {v2 * k:.3f} beyond {s.max_lat_accel_mps2}")
    if previous is not None:
        hard_braking = _target_accel(s, previous, command, request) < -ACC_RANGE_DECEL_MPS2
        jerk = s.emergency_jerk_mps3 if hard_braking else s.max_jerk_mps3
        if abs(a - previous.accel_mps2) > jerk * s.control_period_s + 1e-6:
            out.append(f"jerk {(a - previous.accel_mps2) / s.control_period_s:.2f} m/s^3 beyond {jerk}")
        step = s.max_lat_jerk_mps3 / v2 * s.control_period_s
        bound = s.max_lat_accel_mps2 / v2
        # only the lateral-acceleration limit may pull curvature down faster (speed rose under a tight curve)
        forced_down = abs(previous.curvature_1pm) - step > bound and abs(abs(k) - bound) <= 1e-12 + 1e-9 * bound
        if abs(k - previous.curvature_1pm) > step + 1e-9 and not forced_down:
            out.append(f"curvature rate {(k - previous.curvature_1pm) / s.control_period_s:.4f} 1/m/s beyond "
                       f"{step / s.control_period_s:.4f} (lateral jerk {s.max_lat_jerk_mps3} m/s^3)")
    return out


def _target_accel(s: SupervisorSettings, previous: VehicleCommand, command: VehicleCommand,
                  request: VehicleCommand) -> float:
    """The acceleration the supervisor steers towards this cycle, before its jerk limit."""
    if "driver in control" in command.limited_reason:
        target = 0.0
    elif "stale inputs" in command.limited_reason or "system fault" in command.limited_reason:
        target = -s.minimal_risk_decel_mps2
    else:
        target = request.accel_mps2 if math.isfinite(request.accel_mps2) else previous.accel_mps2
    return min(max(target, -s.max_decel_mps2), s.max_accel_mps2)


def run_supervisor(settings: SupervisorSettings, requests: list) -> list[str]:
    supervisor = Supervisor(settings)
    previous = None
    for i, (accel, curvature, mode, speed, age, faults, braking) in enumerate(requests):
        request = VehicleCommand(0.05 * i, mode, accel, curvature)
        command = supervisor.filter(request, speed, age, faults, braking)
        broken = envelope_violations(settings, previous, command, request, speed)
        if broken:
            return [f"cycle {i}: {b}" for b in broken]
        previous = command
    return []


@given(settings=supervisor_settings(), requests=st.lists(REQUEST, min_size=1, max_size=60))
def test_any_request_sequence_gives_commands_inside_the_envelope(settings, requests):
    assert run_supervisor(settings, requests) == []


def test_a_nan_request_after_a_steady_one_keeps_the_last_safe_command():
    """A controller fault (NaN) must neither reach the vehicle nor jump the command."""
    s = SupervisorSettings()
    supervisor = Supervisor(s)
    supervisor.filter(VehicleCommand(0.0, CommandMode.ROUTE_PILOT, 1.0, 0.001), 25.0, 0.05)
    command = supervisor.filter(VehicleCommand(0.05, CommandMode.ROUTE_PILOT, math.nan, math.nan), 25.0, 0.05)
    assert math.isfinite(command.accel_mps2) and math.isfinite(command.curvature_1pm)
    assert abs(command.accel_mps2 - 1.0) <= s.max_jerk_mps3 * s.control_period_s + 1e-9
    assert command.limited
