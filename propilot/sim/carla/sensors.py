"""The car's sensors in CARLA: spawn them on the ego, collect each tick's data, hand it to the stack.

In: a CARLA world and ego actor, the rig (`sim/rigs/*.yaml`), the lane camera calibration and the
modelled data of the step (`EgoSensing` and detection frames of our sensor models, computed on
CARLA's ground truth). Out: that step's data with CARLA's measurements in place of the models':
  - the front lane camera's image (CARLA RGB camera with the calibration's intrinsics, grey);
  - GNSS positions (CARLA's GNSS, back in the map frame and re-projected by the map) while the
    receiver is RTK fixed; RTK float / standalone / outages stay modelled, CARLA has no such states;
  - IMU samples (CARLA's IMU, converted to REP-103);
  - radar detections (CARLA's radar returns, clustered into objects);
  - camera object detections stay the camera model's on CARLA's ground truth (a production camera
    delivers object lists; CARLA gives images only): the rig cameras are spawned so that images
    exist for an image detector, and sonars are modelled on CARLA's ground truth (CARLA has none).
Sensor data arrive on CARLA's threads; each tick waits for every sensor due in that frame.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, replace
from typing import Any

from propilot.core.fusion.rig import Rig
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.types import CameraImage, DetectionFrame, GnssFix, ImuSample, RtkState, SensorKind
from propilot.sim.carla.convert import (
    BlueprintSpec,
    RadarPoint,
    bgra_to_grey,
    carla_geo_to_enu,
    gnss_blueprint,
    imu_blueprint,
    imu_to_base_link,
    lane_camera_blueprint,
    radar_detections,
    sensor_blueprint,
)
from propilot.sim.ego_sensors import EgoSensing

SENSOR_TIMEOUT_S = 10.0  # a sensor due in a frame that sends nothing for this long: the server is in trouble
GNSS_ANTENNA_HEIGHT_M = 1.5
LANE_CAMERA_ID = "front"  # the lane detector's camera (as the embedded simulator names it)
GNSS_SIGMA_M = 0.02  # RTK fixed, as the embedded receiver model (sim/gnss.py)
LANE_CAMERA_RATE_HZ = 10.0  # the lane detector's rate (topics: the front image is 10 Hz)


class CarlaSensorTimeout(RuntimeError):
    """A sensor due in a frame delivered nothing."""


@dataclass(frozen=True, slots=True)
class RigPlan:
    """Every CARLA sensor to spawn for the rig."""

    blueprints: tuple[BlueprintSpec, ...]


def plan_rig(rig: Rig, camera: CameraSettings, gnss_sigma_m: float = GNSS_SIGMA_M, gnss_rate_hz: float = 10.0,
             imu_rate_hz: float = 20.0) -> RigPlan:
    """The rig's cameras and radars, the lane camera, the GNSS antenna and the IMU as CARLA blueprints."""
    specs = [spec for spec in (sensor_blueprint(s) for s in rig.sensors) if spec is not None]
    specs.append(lane_camera_blueprint(camera.width_px, camera.height_px, camera.hfov_deg, camera.mount_x_m,
                                       camera.mount_y_m, camera.mount_height_m, camera.pitch_rad,
                                       LANE_CAMERA_RATE_HZ))
    specs.append(gnss_blueprint(GNSS_ANTENNA_HEIGHT_M, gnss_sigma_m, gnss_rate_hz))
    specs.append(imu_blueprint(imu_rate_hz, 0.02, 0.001))
    return RigPlan(tuple(specs))


def plan_sigma_m(plan: RigPlan) -> float:
    """The GNSS noise the plan gives CARLA, in metres (what the fixes claim)."""
    gnss = next(b for b in plan.blueprints if b.sensor_id == "gnss")
    return float(gnss.attributes["noise_lat_stddev"]) * 111_320.0


class CarlaSensors:
    """The spawned sensors, their queues and the conversion of one frame's data."""

    def __init__(self, carla: Any, world: Any, ego: Any, rig: Rig, plan: RigPlan, geo_reference: tuple[float, float],
                 unproject: Any, t0_s: float):
        self.rig = rig
        self.geo_reference = geo_reference  # CARLA's lat/lon of its origin
        self.unproject = unproject  # map frame -> lat, lon (the map's projection)
        self.t0_s = t0_s  # CARLA's elapsed time at scenario time 0
        self.gnss_sigma_m = float(plan_sigma_m(plan))
        self.actors: list[Any] = []
        self.queues: dict[str, queue.Queue] = {}
        self._last_s: dict[str, float] = {}  # CARLA time of each sensor's last measurement
        self.specs = {spec.sensor_id: spec for spec in plan.blueprints}
        library = world.get_blueprint_library()
        for spec in plan.blueprints:
            blueprint = library.find(spec.blueprint)
            for name, value in spec.attributes.items():
                if blueprint.has_attribute(name):
                    blueprint.set_attribute(name, value)
            t = spec.transform
            transform = carla.Transform(carla.Location(x=t.x, y=t.y, z=t.z),
                                        carla.Rotation(pitch=t.pitch_deg, yaw=t.yaw_deg, roll=t.roll_deg))
            actor = world.spawn_actor(blueprint, transform, attach_to=ego)
            data: queue.Queue = queue.Queue()
            actor.listen(data.put)
            self.actors.append(actor)
            self.queues[spec.sensor_id] = data

    def _frame_data(self, frame: int, elapsed_s: float) -> dict[str, Any]:
        """The measurement of each sensor in this frame: waited for when the sensor is due (its sensor_tick
        has passed, as CARLA decides), taken if already there otherwise."""
        out = {}
        for sensor_id, data in self.queues.items():
            tick_s = float(self.specs[sensor_id].attributes.get("sensor_tick", "0"))
            last = self._last_s.get(sensor_id)
            due = last is None or elapsed_s - last >= tick_s - 1e-6
            while True:
                try:
                    item = data.get(timeout=SENSOR_TIMEOUT_S) if due else data.get_nowait()
                except queue.Empty:
                    if due:
                        raise CarlaSensorTimeout(f"CARLA sensor {sensor_id!r} sent nothing for frame {frame} "
                                                 f"within {SENSOR_TIMEOUT_S:g} s") from None
                    break
                if item.frame >= frame:
                    out[sensor_id] = item
                    self._last_s[sensor_id] = item.timestamp
                    break  # older frames (from before synchronous mode) are dropped
        return out

    def measured(self, frame: int, elapsed_s: float, sensed: EgoSensing, frames: list[DetectionFrame]
                 ) -> tuple[EgoSensing, list[DetectionFrame]]:
        """Replace the models' data by CARLA's measurements of this frame (see the module docstring)."""
        data = self._frame_data(frame, elapsed_s)
        images, imu = [], []
        lane = data.get("lane_camera")
        if lane is not None:
            spec = self.specs["lane_camera"]
            width, height = int(spec.attributes["image_size_x"]), int(spec.attributes["image_size_y"])
            images = [CameraImage(self._t(lane), LANE_CAMERA_ID, bgra_to_grey(bytes(lane.raw_data), width, height))]
        reading = data.get("imu")
        if reading is not None:
            a, g = reading.accelerometer, reading.gyroscope
            ax, ay, yaw_rate = imu_to_base_link((a.x, a.y, a.z), (g.x, g.y, g.z))
            imu = [ImuSample(self._t(reading), ax, ay, yaw_rate)]
        gnss = list(sensed.gnss)  # RTK float, standalone, outage: modelled
        if sensed.gnss_state == RtkState.RTK_FIXED:
            gnss = []
            fix = data.get("gnss")
            if fix is not None:
                x, y = carla_geo_to_enu(fix.latitude, fix.longitude, *self.geo_reference)
                lat, lon = self.unproject(x, y)
                gnss = [GnssFix(self._t(fix), lat, lon, self.gnss_sigma_m, RtkState.RTK_FIXED)]
        out_frames = [f for f in frames if f.kind != SensorKind.RADAR]
        for sensor in self.rig.sensors:
            scan = data.get(sensor.sensor_id) if sensor.kind == SensorKind.RADAR else None
            if scan is not None:
                points = [RadarPoint(p.depth, p.azimuth, p.altitude, p.velocity) for p in scan]
                out_frames.append(DetectionFrame(self._t(scan), sensor.sensor_id, SensorKind.RADAR,
                                                 radar_detections(points, sensor)))
        return replace(sensed, images=images, imu=imu, gnss=gnss), out_frames

    def _t(self, measurement: Any) -> float:
        return round(measurement.timestamp - self.t0_s, 6)

    def destroy(self) -> None:
        for actor in self.actors:
            try:
                actor.stop()
                actor.destroy()
            except RuntimeError:
                pass  # the server went away: nothing left to destroy
        self.actors = []

