"""Simulated GNSS receiver: true antenna position plus the error of its fix state.

In: the true base_link position (the antenna is mounted above it) and the time.
Out: a `GnssFix` (lat/lon through the map's projection) at the receiver rate.
The skeleton models an RTK-fixed receiver; float, standalone and outages build on
the same interface.
"""

from __future__ import annotations

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


class GnssReceiver:
    def __init__(self, settings: GnssSettings, hdmap: HDMap, rng: np.random.Generator):
        self.settings = settings
        self.hdmap = hdmap
        self.rng = rng
        self._next_fix_s = 0.0

    def measure(self, t_s: float, x_m: float, y_m: float) -> list[GnssFix]:
        """The fixes due at t_s (none between receiver epochs)."""
        if t_s + 1e-9 < self._next_fix_s:
            return []
        self._next_fix_s = t_s + 1.0 / self.settings.rate_hz
        sigma = self.settings.rtk_fixed_sigma_m
        ex, ey = self.rng.normal(0.0, sigma, size=2)
        lat, lon = self.hdmap.unproject(x_m + ex, y_m + ey)
        return [GnssFix(t_s, lat, lon, max(sigma, 0.01), RtkState.RTK_FIXED)]
