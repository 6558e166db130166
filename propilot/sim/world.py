"""The simulated world: SUMO traffic (libsumo) around an ego driven by our dynamics.

In: a `Scenario` and its `HDMap` (whose SUMO network has the same coordinates).
Out, each step: the ego's true state and every other vehicle as a `TruthVehicle`
(centre pose). The ego is placed into SUMO each step with `moveToXY`, so traffic
reacts to it; SUMO's collision handling is off because metrics detect collisions.
libsumo is one simulation per process: close a World before opening the next.
`baseline_travel_time_s` runs the same traffic with the ego as a plain SUMO vehicle
(SUMO's car following and lane changing), the reference for the stack's travel time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import libsumo
import numpy as np
import sumolib

from propilot.core.map.hdmap import HDMap
from propilot.sim.scenario import Scenario
from propilot.sim.sensors import TruthVehicle
from propilot.sim.vehicle import CENTRE_AHEAD_OF_AXLE_M, FRONT_AHEAD_OF_AXLE_M, LENGTH_M, EgoState, step_ego

EGO_ID = "ego"
LANE_CHANGE_DURATION_S = 3.0
TRAFFIC_LENGTH_M = 4.5
TRAFFIC_WIDTH_M = 1.8


@dataclass(frozen=True, slots=True)
class LanePoint:
    edge_id: str
    sumo_lane: int
    position_m: float
    x_m: float
    y_m: float
    yaw_rad: float


class MainLine:
    """The SUMO edges of the main carriageway in order, with a station along them."""

    def __init__(self, net: sumolib.net.Net, lefthand: bool = False):
        self.lefthand = lefthand  # SUMO numbers lanes from the outer (slow) side: the right, or the left here
        starts = [e for e in net.getEdges() if not e.getIncoming() and e.getLaneNumber() > 1]
        if not starts:
            raise ValueError("the SUMO network has no multi-lane edge without predecessors (main line start)")
        edge = max(starts, key=lambda e: e.getLaneNumber())
        self.edges = [edge]
        while True:
            outgoing = list(edge.getOutgoing())
            if not outgoing:
                break
            edge = max(outgoing, key=lambda e: (e.getLaneNumber(), e.getLength()))
            if edge in self.edges:
                break
            self.edges.append(edge)
        self.starts_m = []
        station = 0.0
        for i, e in enumerate(self.edges):
            if i > 0:  # the junction between two edges: straight-line gap between their shapes
                prev = self.edges[i - 1].getLanes()[0].getShape()[-1]
                station += math.dist(prev, e.getLanes()[0].getShape()[0])
            self.starts_m.append(station)
            station += e.getLength()
        self.length_m = station
        self.edge_ids = [e.getID() for e in self.edges]

    def point(self, lane_from_left: int, station_m: float) -> LanePoint:
        index = max(i for i, start in enumerate(self.starts_m) if start <= station_m or i == 0)
        edge = self.edges[index]
        lane_count = edge.getLaneNumber()
        if not 0 <= lane_from_left < lane_count:
            raise ValueError(f"lane {lane_from_left} does not exist at station {station_m:.0f} m "
                             f"({lane_count} lanes)")
        position = min(max(station_m - self.starts_m[index], 0.0), edge.getLength())
        sumo_lane = lane_from_left if self.lefthand else lane_count - 1 - lane_from_left
        shape = edge.getLanes()[sumo_lane].getShape()
        x, y = sumolib.geomhelper.positionAtShapeOffset(shape, position)
        yaw = sumolib.geomhelper.rotationAtShapeOffset(shape, position)  # sumolib: radians, ENU
        return LanePoint(edge.getID(), sumo_lane, position, x, y, yaw)


def _sumo_angle_to_yaw(angle_deg: float) -> float:
    """SUMO: degrees clockwise from north. REP-103: radians counter-clockwise from east."""
    return math.radians(90.0 - angle_deg)


class World:
    def __init__(self, scenario: Scenario, hdmap: HDMap, sumo_ego: bool = False):
        """sumo_ego: SUMO drives the ego like any other car (the baseline), `advance` ignores commands."""
        self.scenario = scenario
        self.sumo_ego = sumo_ego
        self.hdmap = hdmap
        self.dt = scenario.step_s
        self.t_s = 0.0
        net = sumolib.net.readNet(str(hdmap.sumo_net_path))
        self.main_line = MainLine(net, lefthand=hdmap.traffic_side == "left")
        libsumo.start([
            "sumo", "-n", str(hdmap.sumo_net_path), "--step-length", str(self.dt), "--seed", str(scenario.seed),
            "--no-step-log", "true", "--no-warnings", "true", "--collision.action", "none",
            "--begin", "0", "--end", str(scenario.duration_s + 3600.0),
            "--lanechange.duration", str(LANE_CHANGE_DURATION_S),  # scripted lane changes take time, as in life
        ])
        libsumo.route.add("main", self.main_line.edge_ids)
        libsumo.vehicletype.copy("DEFAULT_VEHTYPE", "car")
        libsumo.vehicletype.setLength("car", TRAFFIC_LENGTH_M)
        libsumo.vehicletype.setWidth("car", TRAFFIC_WIDTH_M)
        libsumo.vehicletype.copy("DEFAULT_VEHTYPE", "ego_type")
        libsumo.vehicletype.setLength("ego_type", LENGTH_M)
        self._lengths: dict[str, float] = {}
        start = self.main_line.point(scenario.ego.lane, scenario.ego.station_m)
        self.ego = EgoState(start.x_m, start.y_m, start.yaw_rad, scenario.ego.speed_mps)
        self._add(EGO_ID, "ego_type", scenario.ego.lane, scenario.ego.station_m + FRONT_AHEAD_OF_AXLE_M,
                  scenario.ego.speed_mps)
        if sumo_ego:
            libsumo.vehicle.setMaxSpeed(EGO_ID, scenario.driver.set_speed_mps)  # the driver's set speed caps both
        else:
            libsumo.vehicle.setSpeedMode(EGO_ID, 0)
            libsumo.vehicle.setLaneChangeMode(EGO_ID, 0)
        for v in scenario.vehicles:
            self._add(v.vehicle_id, "car", v.lane, v.station_m + TRAFFIC_LENGTH_M / 2.0, v.speed_mps)
            libsumo.vehicle.setMaxSpeed(v.vehicle_id, v.max_speed_mps)
            libsumo.vehicle.setLaneChangeMode(v.vehicle_id, 0)  # scripted: stays in its lane
            if v.speed_mps == 0.0:
                libsumo.vehicle.setSpeed(v.vehicle_id, 0.0)  # stationary (broken down, end of a queue)
        self._pending_actions = sorted(((a, v.vehicle_id) for v in scenario.vehicles for a in v.actions),
                                       key=lambda item: item[0].at_s)
        if scenario.random_traffic is not None:
            self._add_random_traffic(np.random.default_rng(scenario.seed))
        libsumo.simulationStep()
        self._place_ego()  # also inserts the ego where it starts even if traffic blocks SUMO's insertion
        if sumo_ego:
            libsumo.vehicle.setSpeed(EGO_ID, -1.0)  # from now on SUMO's car following decides its speed

    def _add(self, vehicle_id: str, type_id: str, lane: int, front_station_m: float, speed_mps: float) -> None:
        p = self.main_line.point(lane, front_station_m)
        route = "main" if p.edge_id == self.main_line.edge_ids[0] else self._route_from(p.edge_id)
        libsumo.vehicle.add(vehicle_id, route, typeID=type_id, depart="now", departLane=str(p.sumo_lane),
                            departPos=str(p.position_m), departSpeed=str(speed_mps))
        self._lengths[vehicle_id] = LENGTH_M if type_id == "ego_type" else TRAFFIC_LENGTH_M

    def _route_from(self, edge_id: str) -> str:
        route_id = f"main_from_{edge_id}"
        if route_id not in libsumo.route.getIDList():
            libsumo.route.add(route_id, self.main_line.edge_ids[self.main_line.edge_ids.index(edge_id):])
        return route_id

    def _add_random_traffic(self, rng: np.random.Generator) -> None:
        spec = self.scenario.random_traffic
        taken = [(self.scenario.ego.lane, self.scenario.ego.station_m)]
        taken += [(v.lane, v.station_m) for v in self.scenario.vehicles]
        lane_count = self.main_line.edges[0].getLaneNumber()
        length = min(self.main_line.length_m - 100.0, self.scenario.destination_station_m + 500.0)
        added, attempts = 0, 0
        while added < spec.count and attempts < spec.count * 50:
            attempts += 1
            lane, station = int(rng.integers(lane_count)), float(rng.uniform(10.0, length))
            if any(lane == tl and abs(station - ts) < spec.min_spacing_m for tl, ts in taken):
                continue
            taken.append((lane, station))
            speed = float(rng.uniform(spec.min_speed_mps, spec.max_speed_mps))
            vehicle_id = f"traffic_{added:03d}"
            self._add(vehicle_id, "car", lane, station + TRAFFIC_LENGTH_M / 2.0, speed)
            libsumo.vehicle.setMaxSpeed(vehicle_id, speed)
            added += 1

    def _place_ego(self) -> None:
        x, y = self.ego.point_ahead(FRONT_AHEAD_OF_AXLE_M)
        angle = 90.0 - math.degrees(self.ego.yaw_rad)
        libsumo.vehicle.moveToXY(EGO_ID, "", -1, x, y, angle=angle, keepRoute=2)
        libsumo.vehicle.setSpeed(EGO_ID, self.ego.speed_mps)

    def others(self) -> list[TruthVehicle]:
        vehicles = []
        for vehicle_id in libsumo.vehicle.getIDList():
            if vehicle_id == EGO_ID:
                continue
            fx, fy = libsumo.vehicle.getPosition(vehicle_id)
            yaw = _sumo_angle_to_yaw(libsumo.vehicle.getAngle(vehicle_id))
            length = self._lengths.get(vehicle_id, TRAFFIC_LENGTH_M)
            vehicles.append(TruthVehicle(vehicle_id, fx - 0.5 * length * math.cos(yaw),
                                         fy - 0.5 * length * math.sin(yaw), yaw,
                                         libsumo.vehicle.getSpeed(vehicle_id), length, TRAFFIC_WIDTH_M))
        return vehicles

    def ego_centre(self) -> tuple[float, float]:
        return self.ego.point_ahead(CENTRE_AHEAD_OF_AXLE_M)

    def _apply_actions(self) -> None:
        while self._pending_actions and self._pending_actions[0][0].at_s <= self.t_s + 1e-9:
            action, vehicle_id = self._pending_actions.pop(0)
            if vehicle_id not in libsumo.vehicle.getIDList():
                continue
            if action.lane_change:
                towards_left = -action.lane_change if self.main_line.lefthand else action.lane_change
                lane = libsumo.vehicle.getLaneIndex(vehicle_id) + towards_left
                libsumo.vehicle.changeLane(vehicle_id, lane, LANE_CHANGE_DURATION_S)
            if action.speed_mps is not None:
                if action.decel_mps2 is not None:
                    libsumo.vehicle.setDecel(vehicle_id, action.decel_mps2)
                    libsumo.vehicle.setEmergencyDecel(vehicle_id, max(action.decel_mps2, 9.0))
                libsumo.vehicle.setMaxSpeed(vehicle_id, max(action.speed_mps, 0.1))
                libsumo.vehicle.setSpeed(vehicle_id, action.speed_mps)

    def advance(self, accel_cmd: float, curvature_cmd: float) -> None:
        self._apply_actions()
        if not self.sumo_ego:
            self.ego = step_ego(self.ego, self.dt, accel_cmd, curvature_cmd)
            self._place_ego()
        libsumo.simulationStep()
        self.t_s += self.dt
        for vehicle_id in libsumo.simulation.getArrivedIDList():
            self._lengths.pop(vehicle_id, None)

    def close(self) -> None:
        libsumo.close()


def baseline_travel_time_s(scenario: Scenario, hdmap: HDMap, distance_m: float, limit_s: float) -> float:
    """Time a plain SUMO vehicle (the ego's type, start, speed and set speed) takes to drive distance_m
    through the same traffic; inf if it does not within limit_s. Call with no other World open."""
    world = World(scenario, hdmap, sumo_ego=True)
    try:
        target = _sumo_target_edge(hdmap, scenario.destination)
        if target:
            try:
                libsumo.vehicle.changeTarget(EGO_ID, target)
            except libsumo.TraCIException:
                pass  # not reachable from the start edge: it stays on the main line
        start_m = None
        while world.t_s < limit_s - 1e-9:
            if EGO_ID in libsumo.vehicle.getIDList():
                start_m = libsumo.vehicle.getDistance(EGO_ID) if start_m is None else start_m
                if libsumo.vehicle.getDistance(EGO_ID) - start_m >= distance_m:
                    return round(world.t_s, 3)
            elif start_m is not None:
                return math.inf  # left the network before covering the distance
            world.advance(0.0, 0.0)
        return math.inf
    finally:
        world.close()


def _sumo_target_edge(hdmap: HDMap, destination: str) -> str:
    """The SUMO edge of a named navigation destination ('' when there is none or it is not a named point)."""
    if not destination or destination not in {p.name for p in hdmap.points_of_interest}:
        return ""
    lane = hdmap.sumo_lanes.get(hdmap.point(destination).lanelet_id, "")
    while lane.startswith(":"):  # an internal (junction) lane: the lane it leads into
        links = libsumo.lane.getLinks(lane)
        if not links:
            return ""
        lane = links[0][0]
    return lane.rsplit("_", 1)[0] if lane else ""
