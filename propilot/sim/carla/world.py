"""The simulated world in CARLA: the ego and traffic on a CARLA server, stepped synchronously.

In: a `Scenario`, its `HDMap` and `CarlaSettings` (server, map, traffic manager). Out: the same
interface as the embedded `World` (`ego`, `others()`, `ego_centre()`, `advance(accel, curvature)`,
`close()`), so `run_scenario` drives either, plus `measured()`: the step's data of CARLA's sensors
in place of our models' (`sensors.py`).

The world is our map's OpenDRIVE file turned into a CARLA world by `generate_opendrive_world`, or
a named CARLA town whose HD map (Lanelet2 + SUMO net, same frame) the scenario names. CARLA runs in
synchronous mode at the scenario's step (0.05 s) with physics sub-steps of 0.01 s; every call of
`advance` applies the stack's command (throttle/brake/steer, `convert.command_to_control`) and
ticks once. Traffic is driven by CARLA's traffic manager in synchronous mode: scripted vehicles
get their speed and lane changes at the scenario's times, random traffic its speeds, all seeded.
SUMO co-simulation (CARLA's Co-Simulation/Sumo bridge) would take the traffic manager's place:
the embedded world's libsumo traffic stepped with the same period, each SUMO vehicle mirrored as a
CARLA actor and the ego mirrored back into SUMO, as `World` does with `moveToXY`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import sumolib

from propilot.core.fusion.rig import load_rig
from propilot.core.map.hdmap import HDMap
from propilot.core.settings import ConfigError, from_mapping, setting
from propilot.sim.carla.convert import (
    CarlaTransform,
    ControlMap,
    base_link_from_centre,
    carla_to_enu,
    centre_from_base_link,
    command_to_control,
    enu_to_carla,
)
from propilot.sim.carla.sensors import CarlaSensors, plan_rig
from propilot.sim.ego_sensors import EgoSensing, camera_calibration
from propilot.sim.scenario import Scenario
from propilot.sim.sensors import TruthVehicle
from propilot.sim.vehicle import EgoState
from propilot.sim.world import TRAFFIC_LENGTH_M, MainLine

PHYSICS_SUBSTEP_S = 0.01  # CARLA: fixed_delta_seconds <= max_substep_delta_time * max_substeps
SPAWN_HEIGHT_M = 0.3  # above the road, so the car drops onto it instead of into it


@dataclass(frozen=True, slots=True)
class CarlaSettings:
    host: str = setting("localhost", description="CARLA server host")
    port: int = setting(2000, description="CARLA server RPC port", minimum=1, maximum=65535)
    timeout_s: float = setting(10.0, unit="s", description="how long to wait for the server's answers",
                               minimum=0.1, maximum=600.0)
    town: str = setting("", description="a CARLA town to load (e.g. Town04) instead of the map's OpenDRIVE; "
                        "the scenario's map must then be that town's HD map")
    tm_port: int = setting(8000, description="traffic manager port", minimum=1024, maximum=65535)
    ego_blueprint: str = setting("vehicle.lincoln.mkz_2020", description="CARLA blueprint of the ego")
    traffic_blueprint: str = setting("vehicle.audi.a2", description="CARLA blueprint of the traffic")
    vertex_distance_m: float = setting(2.0, unit="m", description="OpenDRIVE mesh: distance between road mesh "
                                       "vertices", minimum=0.5, maximum=20.0)
    max_road_length_m: float = setting(500.0, unit="m", description="OpenDRIVE mesh: longest road piece",
                                       minimum=10.0, maximum=5000.0)
    wall_height_m: float = setting(1.0, unit="m", description="OpenDRIVE mesh: walls at the road edges "
                                   "(keep cars on the road)", minimum=0.0, maximum=5.0)
    additional_width_m: float = setting(0.6, unit="m", description="OpenDRIVE mesh: extra width at the road "
                                        "edges (shoulder)", minimum=0.0, maximum=5.0)

    def check(self) -> tuple[str, str] | None:
        if not self.host.strip():
            return "host", "must not be empty"
        if self.tm_port == self.port:
            return "tm_port", f"must differ from the server port {self.port}"
        return None


def carla_settings(values: dict[str, Any], origin: str = "command line") -> CarlaSettings:
    """Validated settings, or a ConfigError naming the option and the reason."""
    return from_mapping(CarlaSettings, values, origin, prefix="carla.")


class CarlaUnavailable(ConfigError):
    """The CARLA server did not answer (not running, wrong host or port, firewall)."""


def connect(carla: Any, settings: CarlaSettings) -> Any:
    """A client whose server answered; CarlaUnavailable naming host, port and what to check otherwise."""
    client = carla.Client(settings.host, settings.port)
    client.set_timeout(settings.timeout_s)
    try:
        server = client.get_server_version()
    except RuntimeError as exc:
        raise CarlaUnavailable("CARLA", f"{settings.host}:{settings.port}",
                               f"no CARLA server answered within {settings.timeout_s:g} s ({exc}); start one "
                               f"(CarlaUE4.sh, docs/carla.md) or give --carla-host/--carla-port") from None
    client_version = client.get_client_version()
    if server.split("-")[0] != client_version.split("-")[0]:
        raise CarlaUnavailable("CARLA", f"{settings.host}:{settings.port}",
                               f"server {server} and client {client_version} differ: use a CARLA {client_version} "
                               "server")
    return client


def import_carla() -> Any:
    try:
        import carla
    except ImportError as exc:
        raise ConfigError("--sim carla", "carla", f"the CARLA client is not installed ({exc}): "
                          "pip install carla==0.9.16") from None
    return carla


def world_factory(settings: CarlaSettings) -> Callable[[Scenario, HDMap], CarlaWorld]:
    """Connect now (an unreachable server is refused before anything starts); the factory builds the world."""
    carla = import_carla()
    client = connect(carla, settings)
    return lambda scenario, hdmap: CarlaWorld(scenario, hdmap, settings, carla, client)


class CarlaWorld:
    def __init__(self, scenario: Scenario, hdmap: HDMap, settings: CarlaSettings, carla: Any | None = None,
                 client: Any | None = None):
        self.carla = carla or import_carla()
        self.scenario = scenario
        self.hdmap = hdmap
        self.settings = settings
        self.dt = scenario.step_s
        self.t_s = 0.0
        self.control_map = ControlMap()
        self.client = client or connect(self.carla, settings)
        self._actors: list[Any] = []
        self.sensors: CarlaSensors | None = None
        self.world = self._load_world()
        self._original_settings = self.world.get_settings()
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _load_world(self) -> Any:
        c = self.carla
        if self.settings.town:
            return self.client.load_world(self.settings.town)
        xodr = Path(self.hdmap.opendrive_path)
        params = c.OpendriveGenerationParameters(
            vertex_distance=self.settings.vertex_distance_m, max_road_length=self.settings.max_road_length_m,
            wall_height=self.settings.wall_height_m, additional_width=self.settings.additional_width_m,
            smooth_junctions=True, enable_mesh_visibility=True)
        return self.client.generate_opendrive_world(xodr.read_text(), params)

    def _setup(self) -> None:
        c, scenario = self.carla, self.scenario
        sync = self.world.get_settings()
        sync.synchronous_mode = True
        sync.fixed_delta_seconds = self.dt
        sync.substepping = True
        sync.max_substep_delta_time = PHYSICS_SUBSTEP_S
        sync.max_substeps = max(1, math.ceil(self.dt / PHYSICS_SUBSTEP_S))
        self.world.apply_settings(sync)
        self.tm = self.client.get_trafficmanager(self.settings.tm_port)
        self.tm.set_synchronous_mode(True)
        self.tm.set_random_device_seed(scenario.seed)
        self.main_line = MainLine(sumolib.net.readNet(str(self.hdmap.sumo_net_path)),
                                  lefthand=self.hdmap.traffic_side == "left")
        library = self.world.get_blueprint_library()
        ego_bp = library.find(self.settings.ego_blueprint)
        ego_bp.set_attribute("role_name", "hero")
        start = self.main_line.point(scenario.ego.lane, scenario.ego.station_m)
        cx, cy = centre_from_base_link(start.x_m, start.y_m, start.yaw_rad)
        self.ego_actor = self._spawn(ego_bp, cx, cy, start.yaw_rad, scenario.ego.speed_mps)
        wheels = self.ego_actor.get_physics_control().wheels
        if wheels and wheels[0].max_steer_angle > 0.0:  # the road-wheel angle at steer 1 of this vehicle (deg)
            self.control_map = replace(self.control_map, max_steer_angle_deg=float(wheels[0].max_steer_angle))
        self._traffic: dict[str, Any] = {}
        traffic_bp = library.find(self.settings.traffic_blueprint)
        for v in scenario.vehicles:
            p = self.main_line.point(v.lane, v.station_m)
            actor = self._spawn(traffic_bp, p.x_m, p.y_m, p.yaw_rad, v.speed_mps)
            self._traffic[v.vehicle_id] = actor
            if v.speed_mps == 0.0:  # stationary: braked, not driven
                actor.apply_control(c.VehicleControl(brake=1.0, hand_brake=True))
            else:
                self._drive(actor, v.speed_mps, lane_changes=False)
        if scenario.random_traffic is not None:
            self._add_random_traffic(library, np.random.default_rng(scenario.seed))
        self._pending_actions = sorted(((a, v.vehicle_id) for v in scenario.vehicles for a in v.actions),
                                       key=lambda item: item[0].at_s)
        origin = self.world.get_map().transform_to_geolocation(c.Location(x=0.0, y=0.0, z=0.0))
        rig = scenario.rig or load_rig(scenario.rig_path)
        self.sensors = CarlaSensors(c, self.world, self.ego_actor, rig, plan_rig(rig, camera_calibration(scenario)),
                                    (origin.latitude, origin.longitude), self.hdmap.unproject, 0.0)
        self._frame = self.world.tick()  # scenario time 0: the first frame every sensor measures
        self._elapsed_s = self.world.get_snapshot().timestamp.elapsed_seconds
        self.sensors.t0_s = self._elapsed_s
        self._read_ego()

    def _spawn(self, blueprint: Any, x_m: float, y_m: float, yaw_rad: float, speed_mps: float) -> Any:
        c = self.carla
        t = enu_to_carla(x_m, y_m, SPAWN_HEIGHT_M, yaw_rad)
        actor = self.world.try_spawn_actor(blueprint, _transform(c, t))
        if actor is None:
            raise ConfigError(str(self.scenario.path), "CARLA", f"cannot spawn {blueprint.id} at x={x_m:.1f} "
                              f"y={y_m:.1f} m (occupied or off the road of the CARLA world)")
        self._actors.append(actor)
        actor.set_target_velocity(c.Vector3D(x=speed_mps * math.cos(yaw_rad), y=-speed_mps * math.sin(yaw_rad)))
        return actor

    def _drive(self, actor: Any, speed_mps: float, lane_changes: bool) -> None:
        actor.set_autopilot(True, self.settings.tm_port)
        self.tm.auto_lane_change(actor, lane_changes)
        self.tm.set_desired_speed(actor, speed_mps * 3.6)  # km/h
        self.tm.ignore_lights_percentage(actor, 100.0)

    def _add_random_traffic(self, library: Any, rng: np.random.Generator) -> None:
        spec = self.scenario.random_traffic
        taken = [(self.scenario.ego.lane, self.scenario.ego.station_m)]
        taken += [(v.lane, v.station_m) for v in self.scenario.vehicles]
        lane_count = self.main_line.edges[0].getLaneNumber()
        length = self.main_line.length_m - 50.0
        blueprint = library.find(self.settings.traffic_blueprint)
        added = attempts = 0
        while added < spec.count and attempts < 50 * spec.count:
            attempts += 1
            lane, station = int(rng.integers(lane_count)), float(rng.uniform(10.0, length))
            if any(lane == tl and abs(station - ts) < spec.min_spacing_m for tl, ts in taken):
                continue
            taken.append((lane, station))
            speed = float(rng.uniform(spec.min_speed_mps, spec.max_speed_mps))
            p = self.main_line.point(lane, station + TRAFFIC_LENGTH_M / 2.0)
            actor = self._spawn(blueprint, p.x_m, p.y_m, p.yaw_rad, speed)
            self._traffic[f"traffic_{added:03d}"] = actor
            self._drive(actor, speed, lane_changes=True)
            added += 1

    def _apply_actions(self) -> None:
        while self._pending_actions and self._pending_actions[0][0].at_s <= self.t_s + 1e-9:
            action, vehicle_id = self._pending_actions.pop(0)
            actor = self._traffic.get(vehicle_id)
            if actor is None:
                continue
            if action.lane_change:  # CARLA: direction True is the lane on the right, False the one on the left
                self.tm.force_lane_change(actor, action.lane_change < 0)
            if action.speed_mps is not None:
                if action.speed_mps == 0.0:
                    actor.set_autopilot(False, self.settings.tm_port)
                    actor.apply_control(self.carla.VehicleControl(brake=1.0))
                else:  # the traffic manager brakes as it sees fit: a scripted deceleration is not imposed
                    self.tm.set_desired_speed(actor, action.speed_mps * 3.6)

    def _read_ego(self) -> None:
        a = self.ego_actor
        transform = a.get_transform()
        x, y, _, yaw = carla_to_enu(CarlaTransform(transform.location.x, transform.location.y,
                                                   transform.location.z, yaw_deg=transform.rotation.yaw))
        bx, by = base_link_from_centre(x, y, yaw)
        v, acc, omega = a.get_velocity(), a.get_acceleration(), a.get_angular_velocity()
        forward = (math.cos(yaw), -math.sin(yaw))  # heading in CARLA's axes
        speed = max(0.0, v.x * forward[0] + v.y * forward[1])
        accel = acc.x * forward[0] + acc.y * forward[1]
        yaw_rate = -math.radians(omega.z)  # CARLA: deg/s, clockwise positive
        self.ego = EgoState(bx, by, yaw, speed, accel, yaw_rate / speed if speed > 0.5 else 0.0)
        self._centre = (x, y)

    # --- the World interface -------------------------------------------------------------------------------------

    def others(self) -> list[TruthVehicle]:
        vehicles = []
        for vehicle_id, actor in self._traffic.items():
            t = actor.get_transform()
            x, y, _, yaw = carla_to_enu(CarlaTransform(t.location.x, t.location.y, t.location.z,
                                                       yaw_deg=t.rotation.yaw))
            v = actor.get_velocity()
            extent = actor.bounding_box.extent
            vehicles.append(TruthVehicle(vehicle_id, x, y, yaw, math.hypot(v.x, v.y), 2.0 * extent.x, 2.0 * extent.y))
        return vehicles

    def ego_centre(self) -> tuple[float, float]:
        return self._centre

    def advance(self, accel_cmd: float, curvature_cmd: float) -> None:
        self._apply_actions()
        control = command_to_control(accel_cmd, curvature_cmd, self.ego.speed_mps, self.ego.accel_mps2,
                                     self.control_map)
        self.ego_actor.apply_control(self.carla.VehicleControl(throttle=control.throttle, steer=control.steer,
                                                               brake=control.brake))
        self._frame = self.world.tick()
        self._elapsed_s = self.world.get_snapshot().timestamp.elapsed_seconds
        self.t_s += self.dt
        self._read_ego()

    def measured(self, t_s: float, sensed: EgoSensing, frames: list) -> tuple[EgoSensing, list]:
        """This frame's CARLA sensor data in place of the models' (t_s: the scenario time of the frame)."""
        return self.sensors.measured(self._frame, self._elapsed_s, sensed, frames)

    def close(self) -> None:
        if self.sensors is not None:
            self.sensors.destroy()
            self.sensors = None
        try:
            if getattr(self, "tm", None) is not None:
                self.tm.set_synchronous_mode(False)
            self.client.apply_batch([self.carla.command.DestroyActor(a) for a in self._actors])
            self.world.apply_settings(self._original_settings)
        except RuntimeError:
            pass  # the server went away: nothing to restore
        self._actors = []


def _transform(carla: Any, t: CarlaTransform) -> Any:
    return carla.Transform(carla.Location(x=t.x, y=t.y, z=t.z),
                           carla.Rotation(pitch=t.pitch_deg, yaw=t.yaw_deg, roll=t.roll_deg))
