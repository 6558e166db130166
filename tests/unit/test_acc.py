"""ACC: speed tracking without a lead, constant time gap behind a slower lead (ISO 15622)."""

from propilot.core.control.longitudinal import AccSettings, acc_acceleration

ACC = AccSettings()
DT = 0.05


def follow(lead_speed, ego_speed, gap, time_gap, seconds, set_speed=33.0):
    """Point-mass ego behind a constant-speed lead; returns (final gap, final speed, max decel)."""
    max_decel = 0.0
    for _ in range(int(seconds / DT)):
        a = acc_acceleration(ACC, ego_speed, set_speed, True, gap, lead_speed, time_gap)
        max_decel = max(max_decel, -a)
        ego_speed = max(0.0, ego_speed + a * DT)
        gap += (lead_speed - ego_speed) * DT
    return gap, ego_speed, max_decel


def test_free_road_accelerates_towards_set_speed_within_comfort():
    a = acc_acceleration(ACC, 20.0, 30.0, False, float("inf"), 0.0, 1.8)
    assert a == ACC.max_accel_mps2


def test_settles_at_the_chosen_time_gap_behind_a_slower_lead():
    for time_gap in (1.2, 1.5, 1.8):
        gap, speed, _ = follow(lead_speed=20.0, ego_speed=28.0, gap=80.0, time_gap=time_gap, seconds=90)
        assert abs(speed - 20.0) < 0.1
        assert abs(gap - (ACC.standstill_gap_m + 20.0 * time_gap)) < 1.0


def test_closing_in_on_a_slow_lead_never_asks_for_more_than_comfort_deceleration():
    _, _, max_decel = follow(lead_speed=15.0, ego_speed=30.0, gap=120.0, time_gap=1.8, seconds=60)
    assert max_decel <= ACC.comfort_decel_mps2 + 1e-9
