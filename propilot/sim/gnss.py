"""Simulated GNSS receiver: the true antenna position plus the error of its solution state.

In: the time, the true base_link position (the antenna is mounted above it), the solution
state the sky allows now (RTK fixed in the open; float, standalone or no fix where the
scenario's faults say) and whether multipath is bending the signals. Out: a `GnssFix`
(lat/lon through the map's projection) at the receiver rate, with the 1-sigma a receiver
reports for that state. Errors per state:

- RTK fixed: white noise of about 2 cm.
- RTK float: a slowly wandering bias of a few decimetres (first-order Gauss-Markov) plus noise.
- Standalone: a wandering bias of metres, and now and then an excursion of 10-15 m that
  builds up, holds and fades (REFERENCE.md 1.6: plain GNSS has 10-15 m error).
- No fix: a fix with no position (NaN) and state NO_FIX, as receivers report in a tunnel.
- Multipath: a jump of several metres the receiver does not notice (its state stays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.settings import setting
from propilot.core.types import GnssFix, RtkState


@dataclass(frozen=True, slots=True)
class GnssSettings:
    rate_hz: float = setting(10.0, unit="Hz", description="fix rate", minimum=1.0, maximum=100.0)
    rtk_fixed_sigma_m: float = setting(0.02, unit="m", description="1-sigma horizontal error, RTK fixed",
                                       minimum=0.0, source="ProPILOT 2.0: centimetre-level RTK positioning")
    rtk_float_sigma_m: float = setting(0.3, unit="m", description="1-sigma horizontal error, RTK float",
                                       minimum=0.0, source="RTK float ambiguities: decimetre level")
    float_time_constant_s: float = setting(20.0, unit="s", description="how slowly the float error wanders",
                                           minimum=0.1)
    standalone_sigma_m: float = setting(3.0, unit="m", description="1-sigma horizontal error, standalone, "
                                        "between excursions", minimum=0.0, source="single-frequency SPS")
    standalone_time_constant_s: float = setting(30.0, unit="s", description="how slowly the standalone error "
                                                "wanders", minimum=0.1)
    excursion_min_m: float = setting(10.0, unit="m", description="smallest standalone excursion", minimum=0.0,
                                     source="REFERENCE.md 1.6: plain GNSS has 10-15 m error")
    excursion_max_m: float = setting(15.0, unit="m", description="largest standalone excursion", minimum=0.0,
                                     source="REFERENCE.md 1.6: plain GNSS has 10-15 m error")
    excursion_hold_s: float = setting(8.0, unit="s", description="how long an excursion lasts, ramps included",
                                      minimum=1.0)
    excursion_interval_s: float = setting(30.0, unit="s", description="mean time between excursions",
                                          minimum=1.0)
    multipath_jump_m: float = setting(8.0, unit="m", description="position jump while multipath lasts",
                                      minimum=0.0)


class GnssReceiver:
    def __init__(self, settings: GnssSettings, hdmap: HDMap, rng: np.random.Generator):
        self.settings = settings
        self.hdmap = hdmap
        self.rng = rng
        self._next_fix_s = 0.0
        self._last_s: float | None = None
        self._float_bias = np.zeros(2)
        self._standalone_bias = np.zeros(2)
        self._excursion_start_s = math.inf
        self._excursion = np.zeros(2)  # full offset of the current excursion
        self._multipath = np.zeros(2)
        self._state = RtkState.RTK_FIXED

    def measure(self, t_s: float, x_m: float, y_m: float, state: RtkState = RtkState.RTK_FIXED,
                multipath: bool = False) -> list[GnssFix]:
        """The fixes due at t_s (none between receiver epochs)."""
        if t_s + 1e-9 < self._next_fix_s:
            return []
        self._next_fix_s = t_s + 1.0 / self.settings.rate_hz
        dt = 0.0 if self._last_s is None else t_s - self._last_s
        self._last_s = t_s
        if state != self._state:
            self._enter(t_s, state)
        if state == RtkState.NO_FIX:
            return [GnssFix(t_s, math.nan, math.nan, math.inf, RtkState.NO_FIX)]
        error, sigma = self._error(t_s, dt, state)
        if multipath:
            if not self._multipath.any():
                angle = self.rng.uniform(0.0, 2.0 * math.pi)
                self._multipath = self.settings.multipath_jump_m * np.array([math.cos(angle), math.sin(angle)])
            error = error + self._multipath
        else:
            self._multipath = np.zeros(2)
        lat, lon = self.hdmap.unproject(x_m + error[0], y_m + error[1])
        return [GnssFix(t_s, lat, lon, sigma, state)]

    def _enter(self, t_s: float, state: RtkState) -> None:
        s = self.settings
        self._state = state
        if state == RtkState.RTK_FLOAT:
            self._float_bias = self.rng.normal(0.0, s.rtk_float_sigma_m / math.sqrt(2.0), 2)
        if state == RtkState.STANDALONE:
            self._standalone_bias = self.rng.normal(0.0, s.standalone_sigma_m / math.sqrt(2.0), 2)
            self._excursion_start_s = t_s + self.rng.uniform(2.0, 12.0)  # soon after losing RTK: shows it

    def _error(self, t_s: float, dt: float, state: RtkState) -> tuple[np.ndarray, float]:
        """(east, north) error of this epoch and the 1-sigma the receiver reports."""
        s = self.settings
        if state == RtkState.RTK_FIXED:
            return self.rng.normal(0.0, s.rtk_fixed_sigma_m, 2), max(s.rtk_fixed_sigma_m, 0.01)
        if state == RtkState.RTK_FLOAT:
            self._float_bias = _gauss_markov(self._float_bias, dt, s.float_time_constant_s,
                                             0.9 * s.rtk_float_sigma_m / math.sqrt(2.0), self.rng)
            noise = self.rng.normal(0.0, 0.3 * s.rtk_float_sigma_m / math.sqrt(2.0), 2)
            return self._float_bias + noise, s.rtk_float_sigma_m
        self._standalone_bias = _gauss_markov(self._standalone_bias, dt, s.standalone_time_constant_s,
                                              s.standalone_sigma_m / math.sqrt(2.0), self.rng)
        return self._standalone_bias + self._excursion_offset(t_s), s.standalone_sigma_m

    def _excursion_offset(self, t_s: float) -> np.ndarray:
        """A 10-15 m excursion: ramps up over a quarter of its time, holds, ramps down."""
        s = self.settings
        if t_s < self._excursion_start_s:
            return np.zeros(2)
        age = t_s - self._excursion_start_s
        if age > s.excursion_hold_s:
            self._excursion_start_s = t_s + self.rng.exponential(s.excursion_interval_s)
            self._excursion = np.zeros(2)
            return np.zeros(2)
        if not self._excursion.any():
            angle = self.rng.uniform(0.0, 2.0 * math.pi)
            size = self.rng.uniform(s.excursion_min_m, max(s.excursion_min_m, s.excursion_max_m))
            self._excursion = size * np.array([math.cos(angle), math.sin(angle)])
        ramp = 0.25 * s.excursion_hold_s
        weight = min(1.0, age / ramp, (s.excursion_hold_s - age) / ramp)
        return weight * self._excursion


def _gauss_markov(value: np.ndarray, dt: float, tau_s: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """First-order Gauss-Markov step that keeps the stationary 1-sigma."""
    phi = math.exp(-dt / tau_s)
    return phi * value + rng.normal(0.0, sigma * math.sqrt(max(1.0 - phi * phi, 0.0)), value.shape)
