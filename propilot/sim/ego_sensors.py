"""The ego's own sensors for localisation: GNSS receiver, IMU, wheel speed and the front camera.

In: the scenario (seed and faults), the map, the camera calibration, and each step the ego's
true state and the other vehicles. Out: an `EgoSensing` with what these sensors deliver in
the step: the wheel speed, GNSS fixes (10 Hz), IMU samples (100 Hz) and camera images (10 Hz).

Faults (scenario `faults`): `gnss_outage` (no fix: tunnel, bridge), `gnss_standalone` (no
corrections: metres, 10-15 m excursions), `rtk_float` (decimetres), `gnss_multipath` (a jump
the receiver does not notice); the worst active state wins. `camera_blinded` on a camera of
the windscreen unit (a rig camera near the front looking ahead) blinds the lane camera too:
the sun shines into one windscreen. `stale_messages` on `gnss` or `imu`: the sender repeats
its last message (stamp and all); `nan_messages`: every value of the stream's messages is NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.settings import from_mapping
from propilot.core.types import CameraImage, GnssFix, ImuSample, RtkState, SensorKind
from propilot.sim.camera import CameraSimSettings, FrontCamera
from propilot.sim.gnss import GnssReceiver, GnssSettings
from propilot.sim.imu import ImuModel, ImuSettings, WheelSpeedSensor, WheelSpeedSettings
from propilot.sim.scenario import Scenario
from propilot.sim.sensors import TruthVehicle
from propilot.sim.vehicle import EgoState

# The worst sky first: the receiver reports the poorest state any active fault allows.
GNSS_FAULT_STATES = (("gnss_outage", RtkState.NO_FIX), ("gnss_standalone", RtkState.STANDALONE),
                     ("rtk_float", RtkState.RTK_FLOAT))
WINDSCREEN_MIN_X_M = 1.0  # rig cameras this far ahead of base_link ...
WINDSCREEN_MAX_YAW_RAD = math.radians(15.0)  # ... and looking ahead sit behind the windscreen


@dataclass(frozen=True, slots=True)
class EgoSensing:
    wheel_speed_mps: float
    gnss: list[GnssFix]
    imu: list[ImuSample]
    images: list[CameraImage]
    gnss_state: RtkState  # what the sky allowed (truth, for metrics)


class EgoSensors:
    def __init__(self, scenario: Scenario, hdmap: HDMap, calibration: CameraSettings,
                 gnss_seed: np.random.SeedSequence):
        self.scenario = scenario
        # Own streams (not spawned from the scenario seed's first children, which other sensors use).
        imu_seed, wheel_seed, camera_seed = np.random.SeedSequence([scenario.seed, 4]).spawn(3)
        self.gnss = GnssReceiver(GnssSettings(), hdmap, np.random.default_rng(gnss_seed))
        self.imu = ImuModel(ImuSettings(), np.random.default_rng(imu_seed))
        self.wheels = WheelSpeedSensor(WheelSpeedSettings(), np.random.default_rng(wheel_seed))
        self.camera = FrontCamera(CameraSimSettings(), calibration, hdmap, np.random.default_rng(camera_seed))
        rig = scenario.rig
        self._windscreen = frozenset(
            s.sensor_id for s in (rig.sensors if rig is not None else ())
            if s.kind == SensorKind.CAMERA and s.mount.x_m >= WINDSCREEN_MIN_X_M
            and abs(s.mount.yaw_rad) <= WINDSCREEN_MAX_YAW_RAD)
        self._last_sent: dict[str, GnssFix | ImuSample] = {}  # per stream, what a stale sender repeats

    def gnss_state(self, t_s: float) -> RtkState:
        return next((state for kind, state in GNSS_FAULT_STATES if self.scenario.active_faults(t_s, kind)),
                    RtkState.RTK_FIXED)

    def camera_blinded(self, t_s: float) -> bool:
        return bool(self.scenario.faulty_sensors(t_s, "camera_blinded") & self._windscreen)

    def sense(self, t_s: float, ego: EgoState, others: Sequence[TruthVehicle]) -> EgoSensing:
        state = self.gnss_state(t_s)
        multipath = self.scenario.active_faults(t_s, "gnss_multipath")
        return EgoSensing(
            wheel_speed_mps=self.wheels.measure(ego.speed_mps),
            gnss=self._faulty(t_s, "gnss", self.gnss.measure(t_s, ego.x_m, ego.y_m, state, multipath)),
            imu=self._faulty(t_s, "imu", self.imu.measure(t_s, ego.speed_mps, ego.accel_mps2, ego.yaw_rate_rps)),
            images=self.camera.capture(t_s, ego.pose, others, self.camera_blinded(t_s)),
            gnss_state=state,
        )


    def _faulty(self, t_s: float, stream: str, messages: list) -> list:
        """The stream's messages as the faults active now let them through."""
        if self.scenario.active_faults(t_s, "nan_messages", stream):
            return [_all_nan(m) for m in messages]
        if self.scenario.active_faults(t_s, "stale_messages", stream):
            held = self._last_sent.get(stream)
            return [held] * len(messages) if held is not None else []
        if messages:
            self._last_sent[stream] = messages[-1]
        return messages


def _all_nan(message: GnssFix | ImuSample) -> GnssFix | ImuSample:
    """The message with its stamp, and every other float value NaN."""
    values = {f.name: math.nan for f in dataclasses.fields(message)
              if f.name != "t_s" and isinstance(getattr(message, f.name), float)}
    return dataclasses.replace(message, **values)


def camera_calibration(scenario: Scenario) -> CameraSettings:
    """The calibration the scenario gives the stack's camera is the camera the simulator renders."""
    values = (scenario.settings.get("lane_detection") or {}).get("front_camera")
    return from_mapping(CameraSettings, values, f"{scenario.path}: settings", prefix="lane_detection.front_camera.")
