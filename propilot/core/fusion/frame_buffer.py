"""Which detection frames a fusion cycle takes: those due before it, whatever order they came in.

In: frames as they arrive, and each cycle's time. Out: the frames to fuse in this cycle: those
whose measurement time plus their sensor's latency (from the rig) lies before this cycle. A
frame due in this very cycle waits one cycle (50 ms more latency, which the tracks' prediction
to the cycle time makes up for), so what is fused never depends on which message of a cycle
reached the fusion node first: in ROS mode topics are not ordered among each other, and lockstep
mode computes the same. Frames of sensors the rig does not know go straight through (the tracker
counts and drops them).
"""

from __future__ import annotations

import math

from propilot.core.fusion.rig import Rig
from propilot.core.types import DetectionFrame

_DUE_EPS_S = 1e-6  # stamps are whole nanoseconds: a frame due at the cycle time belongs to that cycle


class FrameBuffer:
    """Detection frames held until the cycle after the one they were due to arrive in."""

    def __init__(self, rig: Rig):
        self._latency_s = {s.sensor_id: s.spec.latency_s for s in rig.sensors}
        self._held: list[DetectionFrame] = []

    def due(self, frames: list[DetectionFrame], t_s: float) -> list[DetectionFrame]:
        self._held.extend(frames)
        waiting = [f.t_s + self._latency_s.get(f.sensor_id, -math.inf) >= t_s - _DUE_EPS_S for f in self._held]
        ready = [f for f, wait in zip(self._held, waiting, strict=True) if not wait]
        self._held = [f for f, wait in zip(self._held, waiting, strict=True) if wait]
        return ready
