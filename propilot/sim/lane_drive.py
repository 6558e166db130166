"""A scripted drive along the HD map's lanes with the ego's sensor models, without traffic simulation.

In: the map and a `DriveScript` (start lane and station, speed, lane changes, GNSS spells:
float, standalone, no fix, multipath; camera glare; a few vehicles keeping their lanes).
Out: one `DriveStep` per 0.05 s control cycle with the truth (pose, lane) and what the
sensors report: IMU samples (100 Hz), the vehicle status with the wheel speed, GNSS fixes
(10 Hz) and camera images (10 Hz). For the localisation benchmark and tests, where the
ego must change lanes and lose RTK on cue; `propilot drive` uses the SUMO world instead.

The ego follows its start lane's centreline at a speed that swings gently (so the
accelerometer has something to measure) and moves across by whole lanes with a smooth
5 s lateral profile at each lane change.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.types import CameraImage, GnssFix, ImuSample, Pose2D, RtkState, VehicleStatus
from propilot.sim.camera import CameraSimSettings, FrontCamera
from propilot.sim.gnss import GnssReceiver, GnssSettings
from propilot.sim.imu import ImuModel, ImuSettings, WheelSpeedSensor, WheelSpeedSettings
from propilot.sim.sensors import TruthVehicle

IMU_DT_S = 0.01
STEP_S = 0.05
SPEED_SWING_MPS = 2.0  # amplitude of the gentle speed variation
SPEED_PERIOD_S = 60.0


@dataclass(frozen=True, slots=True)
class LaneChange:
    start_s: float
    direction: int  # +1 to the left, -1 to the right
    duration_s: float = 5.0


@dataclass(frozen=True, slots=True)
class GnssSpell:
    start_s: float
    end_s: float
    state: RtkState  # RTK_FIXED outside every spell
    multipath: bool = False


@dataclass(frozen=True, slots=True)
class Traffic:
    lane: int
    station_m: float  # ahead of the ego's start
    speed_mps: float


@dataclass(frozen=True, slots=True)
class DriveScript:
    start_lane: int
    start_station_m: float
    duration_s: float
    speed_mps: float
    lane_changes: tuple[LaneChange, ...] = ()
    gnss: tuple[GnssSpell, ...] = ()
    camera_blinded: tuple[tuple[float, float], ...] = ()  # (start_s, end_s)
    traffic: tuple[Traffic, ...] = ()
    lane_width_m: float = 3.5  # the map's lane width (highway_small: 3.5 m)
    seed: int = 0
    camera: bool = True


@dataclass(frozen=True, slots=True)
class DriveStep:
    t_s: float
    truth: Pose2D
    truth_lane_index: int  # -1 off the map
    gnss_state: RtkState
    status: VehicleStatus
    imu: list[ImuSample]
    gnss: list[GnssFix]
    images: list[CameraImage]


class _LanePath:
    """x, y, yaw of a lane's centreline as a function of distance along it."""

    def __init__(self, hdmap: HDMap, lane: int, start_m: float, length_m: float):
        first = next(lid for lid in hdmap.lanelet_ids() if not hdmap.is_ramp(lid) and not hdmap.predecessors(lid)
                     and hdmap.lane_index(lid)[0] == lane and hdmap.lane_index(lid)[1] > 1)
        self.points = hdmap.path_ahead(first, start_m, length_m, spacing_m=0.5)
        self.s = 0.5 * np.arange(len(self.points))
        self.yaw = np.unwrap(self.points[:, 2])

    def at(self, s_m: float) -> tuple[float, float, float]:
        """Beyond either end the line carries on straight."""
        inside = min(max(s_m, 0.0), float(self.s[-1]))
        x = float(np.interp(inside, self.s, self.points[:, 0]))
        y = float(np.interp(inside, self.s, self.points[:, 1]))
        yaw = float(np.interp(inside, self.s, self.yaw))
        beyond = s_m - inside
        return x + beyond * math.cos(yaw), y + beyond * math.sin(yaw), yaw


class ScriptedDrive:
    def __init__(self, hdmap: HDMap, script: DriveScript):
        self.hdmap = hdmap
        self.script = script
        seeds = np.random.SeedSequence(script.seed).spawn(4)
        length = script.speed_mps * script.duration_s + SPEED_SWING_MPS * SPEED_PERIOD_S + 200.0
        self._path = _LanePath(hdmap, script.start_lane, script.start_station_m, length)
        self._traffic = [(t, _LanePath(hdmap, t.lane, script.start_station_m + t.station_m, length))
                         for t in script.traffic]
        self.gnss = GnssReceiver(GnssSettings(), hdmap, np.random.default_rng(seeds[0]))
        self.imu = ImuModel(ImuSettings(), np.random.default_rng(seeds[1]))
        self.wheels = WheelSpeedSensor(WheelSpeedSettings(), np.random.default_rng(seeds[2]))
        self.camera = (FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(seeds[3]))
                       if script.camera else None)

    def _distance(self, t_s: float) -> tuple[float, float, float]:
        """(distance along the lane, speed, acceleration) at t_s."""
        w = 2.0 * math.pi / SPEED_PERIOD_S
        v0, a = self.script.speed_mps, SPEED_SWING_MPS
        return v0 * t_s + a * (1.0 - math.cos(w * t_s)) / w, v0 + a * math.sin(w * t_s), a * w * math.cos(w * t_s)

    def _lateral(self, t_s: float) -> float:
        """Offset from the start lane's centre, + left: whole lanes, with a smooth profile while changing."""
        offset = 0.0
        for change in self.script.lane_changes:
            u = min(max((t_s - change.start_s) / change.duration_s, 0.0), 1.0)
            offset += change.direction * self.script.lane_width_m * (3 * u**2 - 2 * u**3)
        return offset

    def _position(self, t_s: float) -> tuple[float, float, float]:
        """(x, y, lane heading) of base_link."""
        x, y, heading = self._path.at(self._distance(t_s)[0])
        d = self._lateral(t_s)
        return x - d * math.sin(heading), y + d * math.cos(heading), heading

    def pose(self, t_s: float) -> tuple[Pose2D, float, float]:
        """(true pose of base_link, speed, acceleration): heading and speed of the path actually driven
        (off the reference lane's centre a curve is shorter or longer than the lane)."""
        h = 0.005
        x0, y0, _ = self._position(t_s - h)
        x, y, _ = self._position(t_s)
        x1, y1, _ = self._position(t_s + h)
        x2, y2, _ = self._position(t_s + 3 * h)
        speed = math.hypot(x1 - x0, y1 - y0) / (2 * h)
        accel = (math.hypot(x2 - x1, y2 - y1) - math.hypot(x1 - x0, y1 - y0)) / (2 * h) / (2 * h)
        return Pose2D(x, y, math.atan2(y1 - y0, x1 - x0)), speed, accel

    def others(self, t_s: float) -> list[TruthVehicle]:
        out = []
        for i, (t, path) in enumerate(self._traffic):
            x, y, yaw = path.at(t.speed_mps * t_s)
            out.append(TruthVehicle(f"traffic_{i}", x, y, yaw, t.speed_mps))
        return out

    def _spell(self, t_s: float) -> GnssSpell | None:
        return next((g for g in self.script.gnss if g.start_s <= t_s < g.end_s), None)

    def steps(self) -> Iterator[DriveStep]:
        per_step = int(round(STEP_S / IMU_DT_S))
        imu: list[ImuSample] = []
        previous_yaw = self.pose(0.0)[0].yaw_rad
        for k in range(int(round(self.script.duration_s / IMU_DT_S)) + 1):
            t = k * IMU_DT_S
            pose, speed, accel = self.pose(t)
            yaw_rate = (pose.yaw_rad - previous_yaw) / IMU_DT_S if k else 0.0
            previous_yaw = pose.yaw_rad
            imu += self.imu.measure(t, speed, accel, yaw_rate)
            if k % per_step:
                continue
            spell = self._spell(t)
            state = spell.state if spell is not None else RtkState.RTK_FIXED
            fixes = self.gnss.measure(t, pose.x_m, pose.y_m, state, spell is not None and spell.multipath)
            images = []
            if self.camera is not None:
                blinded = any(a <= t < b for a, b in self.script.camera_blinded)
                images = self.camera.capture(t, pose, self.others(t), blinded)
            lane = self.hdmap.match(pose)
            status = VehicleStatus(t, self.wheels.measure(speed), accel, yaw_rate)
            yield DriveStep(t, pose, lane.lane_index if lane.matched else -1, state, status, imu, fixes, images)
            imu = []
