"""Simulated front camera: grey images of the road ahead, rendered from the HD map.

In: the time, the ego's true pose, the other vehicles (`TruthVehicle`) and whether the
camera is blinded (a fault). Out: a `CameraImage` at the camera rate, nothing between.
The scene: sky above the horizon, verge, the asphalt of every lanelet, the painted lines
of the Lanelet2 map (solid lines; dashed lines as dashes and gaps fixed on the road, so
they stream past), the other vehicles as boxes that hide what lies behind them (drawn far
to near, each over its shadow). Then the optics blur, the exposure drifts and the sensor
adds noise. The perspective is the pinhole model the lane detector is calibrated with
(`CameraSettings`); the truth leaves this module only as pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import lanelet2
import numpy as np
from lanelet2.projection import LocalCartesianProjector

from propilot.core.map.hdmap import HDMap
from propilot.core.perception.camera_model import CameraSettings, PinholeCamera
from propilot.core.settings import setting
from propilot.core.types import CameraImage, Pose2D
from propilot.sim.sensors import TruthVehicle

_CELL_M = 50.0  # spatial index of the painted pieces
_NEAR_M = 1.0  # pieces closer to the lens than this are not drawn (none of them is in view)
_SHIFT = 4  # fillPoly fixed-point bits: 1/16 px vertex precision
_MARKING_LINE_TYPES = ("line_thin", "line_thick", "road_border", "curbstone")
_VEHICLE_HEIGHT_M = 1.5
_FOOTPRINT_SIGNS = np.array([(1, 1), (1, -1), (-1, -1), (-1, 1)], dtype=float)  # (along, across) corners in order
_GLARE_CONTRAST, _GLARE_OFFSET = 0.05, 170.0
_NOISE_MARGIN_PX = 64  # what is left of the scene when the sun shines into the lens

# Grey levels of the scene before exposure (0-255).
SKY, VERGE, ASPHALT, PAINT, SHADOW = 205, 75, 100, 225, 45


@dataclass(frozen=True, slots=True)
class CameraSimSettings:
    rate_hz: float = setting(10.0, unit="Hz", description="frame rate", minimum=1.0, maximum=60.0)
    max_range_m: float = setting(120.0, unit="m", description="farthest road drawn", minimum=20.0, maximum=500.0)
    line_width_m: float = setting(0.15, unit="m", description="width of painted lines", minimum=0.05,
                                  maximum=0.5, source="German RMS / Japanese road marking rules: 0.15 m "
                                                     "lane lines on motorways")
    dash_length_m: float = setting(6.0, unit="m", description="painted part of a dashed line", minimum=0.5,
                                   source="German RMS motorway broken line: 6 m dash")
    dash_gap_m: float = setting(12.0, unit="m", description="gap between dashes", minimum=0.5,
                                source="German RMS motorway broken line: 12 m gap")
    noise_sigma: float = setting(6.0, unit="grey levels", description="sensor noise, 1-sigma", minimum=0.0,
                                 maximum=60.0)
    blur_sigma_px: float = setting(0.7, unit="px", description="optics blur (Gaussian)", minimum=0.0,
                                   maximum=5.0)
    exposure_min: float = setting(0.55, description="lowest exposure gain as the light changes", minimum=0.1,
                                  maximum=1.0)
    exposure_max: float = setting(1.3, description="highest exposure gain as the light changes", minimum=1.0,
                                  maximum=3.0)
    exposure_time_constant_s: float = setting(8.0, unit="s", description="how fast the light changes",
                                              minimum=0.1)


class FrontCamera:
    """One mounted camera; `capture` returns the frame due at t_s (or nothing)."""

    def __init__(self, settings: CameraSimSettings, calibration: CameraSettings, hdmap: HDMap,
                 rng: np.random.Generator, camera_id: str = "front"):
        self.settings = settings
        self.camera = PinholeCamera(calibration)
        self.camera_id = camera_id
        self.rng = rng
        self._next_s = 0.0
        self._exposure = 1.0
        markings, asphalt = _paint(hdmap, settings)
        self._markings = _Pieces(markings)
        self._asphalt = _Pieces(asphalt)
        h, w = self.camera.height, self.camera.width
        # A few noise fields around grey 128, shifted per frame: sensor noise without drawing 10^5
        # normals each frame.
        noise = rng.normal(128.0, settings.noise_sigma, (4, h, w + _NOISE_MARGIN_PX))
        self._noise = np.clip(np.round(noise), 0, 255).astype(np.uint8)
        rows, cols = np.ogrid[:h, :w]
        flare = 150.0 * np.exp(-((rows - 0.3 * h) ** 2 + (cols - 0.6 * w) ** 2) / (2.0 * (0.2 * w) ** 2))
        self._flare = flare.astype(np.uint8)

    @property
    def period_s(self) -> float:
        return 1.0 / self.settings.rate_hz

    def capture(self, t_s: float, ego_pose: Pose2D, vehicles: Sequence[TruthVehicle],
                blinded: bool = False) -> list[CameraImage]:
        if t_s + 1e-9 < self._next_s:
            return []
        self._next_s = t_s + self.period_s
        return [self.render(t_s, ego_pose, vehicles, blinded)]

    def render(self, t_s: float, ego_pose: Pose2D, vehicles: Sequence[TruthVehicle],
               blinded: bool = False) -> CameraImage:
        cam, h, w = self.camera, self.camera.height, self.camera.width
        scene = np.full((h, w), VERGE, np.uint8)
        horizon = int(math.floor(cam.horizon_v()))
        scene[:max(0, min(h, horizon + 1))] = SKY
        to_base = _ToBase(ego_pose)
        reach = self.settings.max_range_m
        ahead = (ego_pose.x_m + 0.5 * reach * math.cos(ego_pose.yaw_rad),
                 ego_pose.y_m + 0.5 * reach * math.sin(ego_pose.yaw_rad))
        for pieces, grey in ((self._asphalt, ASPHALT), (self._markings, PAINT)):
            polygons = self._visible(pieces.near(ahead, 0.5 * reach + _CELL_M), to_base)
            if polygons:
                cv2.fillPoly(scene, polygons, grey, cv2.LINE_8, _SHIFT)
        self._draw_vehicles(scene, to_base, vehicles)
        return CameraImage(t_s, self.camera_id, self._expose(scene, blinded))

    def _visible(self, quads: np.ndarray, to_base: _ToBase) -> list[np.ndarray]:
        """Road-plane quads (N, 4, 2) in the map frame -> fixed-point pixel polygons in front of the lens."""
        if len(quads) == 0:
            return []
        base = to_base(quads.reshape(-1, 2))
        ground = np.column_stack([base, np.zeros(len(base))])
        uv, depth = self.camera.project(ground)
        depth = depth.reshape(-1, 4)
        keep = (depth > _NEAR_M).all(axis=1) & (depth.max(axis=1) < self.settings.max_range_m)
        uv = uv.reshape(-1, 4, 2)[keep]
        return list(np.round(uv * (1 << _SHIFT)).astype(np.int32))

    def _draw_vehicles(self, scene: np.ndarray, to_base: _ToBase, vehicles: Sequence[TruthVehicle]) -> None:
        """Every vehicle ahead within range as a box over its shadow, far to near; all projected at once."""
        if not vehicles:
            return
        box = np.array([(v.x_m, v.y_m, v.yaw_rad, 0.5 * v.length_m, 0.5 * v.width_m) for v in vehicles])
        centre = to_base(box[:, :2])
        distance = np.hypot(centre[:, 0], centre[:, 1])
        kept = np.flatnonzero((centre[:, 0] >= 0.0) & (distance <= self.settings.max_range_m))
        if kept.size == 0:
            return
        x, y, yaw, half_l, half_w = (box[kept, i, None] for i in range(5))
        c, s = np.cos(yaw), np.sin(yaw)
        along, across = _FOOTPRINT_SIGNS[:, 0] * half_l, _FOOTPRINT_SIGNS[:, 1] * half_w  # (K, 4)
        footprint = to_base(np.stack([x + along * c - across * s, y + along * s + across * c], axis=-1)
                            .reshape(-1, 2)).reshape(-1, 4, 2)
        n = len(kept)
        corners = np.concatenate([np.concatenate([footprint, np.zeros((n, 4, 1))], axis=2),
                                  np.concatenate([footprint, np.full((n, 4, 1), _VEHICLE_HEIGHT_M)], axis=2)], axis=1)
        uv, depth = self.camera.project(corners.reshape(-1, 3))
        pixels = np.round(uv.reshape(n, 8, 2) * (1 << _SHIFT)).astype(np.int32)
        in_front = (depth.reshape(n, 8) > _NEAR_M).all(axis=1)
        for k in np.argsort(-distance[kept], kind="stable"):  # far to near: the nearer one hides the farther
            if not in_front[k]:
                continue
            cv2.fillPoly(scene, [pixels[k, :4]], SHADOW, cv2.LINE_8, _SHIFT)
            cv2.fillPoly(scene, [cv2.convexHull(pixels[k])], _body_grey(vehicles[kept[k]].vehicle_id), cv2.LINE_8,
                         _SHIFT)

    def _expose(self, scene: np.ndarray, blinded: bool) -> np.ndarray:
        """Blur, exposure gain (a slow random walk between its limits), noise, 8-bit saturation."""
        s = self.settings
        if s.blur_sigma_px > 0.0:
            scene = cv2.GaussianBlur(scene, (0, 0), s.blur_sigma_px)
        alpha = min(1.0, self.period_s / s.exposure_time_constant_s)
        target = 1.0 + self.rng.normal(0.0, 0.5) * (s.exposure_max - s.exposure_min)
        self._exposure = float(np.clip(self._exposure + alpha * (target - self._exposure), s.exposure_min,
                                       s.exposure_max))
        k, offset = int(self.rng.integers(len(self._noise))), int(self.rng.integers(_NOISE_MARGIN_PX))
        noise = self._noise[k, :, offset:offset + scene.shape[1]]  # 128 + noise
        if blinded:  # low sun in the lens: a washed-out frame, a flare saturating round the sun
            image = cv2.addWeighted(scene, _GLARE_CONTRAST * self._exposure, noise, 1.0, _GLARE_OFFSET - 128.0)
            return cv2.add(image, self._flare)
        return cv2.addWeighted(scene, self._exposure, noise, 1.0, -128.0)  # saturates to 0..255


class _ToBase:
    """Map-frame points -> base_link of one ego pose."""

    def __init__(self, pose: Pose2D):
        self.origin = np.array([pose.x_m, pose.y_m])
        c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
        self.rotation = np.array([[c, -s], [s, c]])  # (p - o) @ R = (forward, left)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return (points - self.origin) @ self.rotation


class _Pieces:
    """Quads (N, 4, 2) bucketed on a grid by their first corner, for the ones near a point."""

    def __init__(self, quads: np.ndarray):
        self.quads = quads
        cells = np.floor(quads[:, 0, :] / _CELL_M).astype(int)
        self._cells: dict[tuple[int, int], np.ndarray] = {}
        order = np.lexsort((cells[:, 1], cells[:, 0]))
        keys, starts = np.unique(cells[order], axis=0, return_index=True)
        for key, chunk in zip(keys, np.split(order, starts[1:]), strict=True):
            self._cells[(int(key[0]), int(key[1]))] = chunk

    def near(self, centre: tuple[float, float], radius_m: float) -> np.ndarray:
        cx, cy = (math.floor(c / _CELL_M) for c in centre)
        span = int(math.ceil(radius_m / _CELL_M))
        chunks = [self._cells[key] for ix in range(cx - span, cx + span + 1) for iy in range(cy - span, cy + span + 1)
                  if (key := (ix, iy)) in self._cells]
        return self.quads[np.concatenate(chunks)] if chunks else self.quads[:0]


def _body_grey(vehicle_id: str) -> int:
    """A fixed shade per vehicle, dark or light (never the grey of paint)."""
    shades = (35, 60, 140, 170, 190)
    return shades[sum(vehicle_id.encode()) % len(shades)]


def _resample(line: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The polyline every step_m (and its end), with the arc length of each point."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    q = np.append(np.arange(0.0, s[-1], step_m), s[-1])
    return np.column_stack([np.interp(q, s, line[:, 0]), np.interp(q, s, line[:, 1])]), q


def _ribbon(points: np.ndarray, half_width_m: float) -> np.ndarray:
    """Quads (N-1, 4, 2) of a strip of the given half width along a polyline."""
    tangent = np.gradient(points, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * half_width_m
    left, right = points + normal, points - normal
    return np.stack([left[:-1], left[1:], right[1:], right[:-1]], axis=1)


def _paint(hdmap: HDMap, s: CameraSimSettings) -> tuple[np.ndarray, np.ndarray]:
    """(marking quads, asphalt quads) of the whole map, from its Lanelet2 file."""
    projector = LocalCartesianProjector(lanelet2.io.Origin(hdmap.origin_lat_deg, hdmap.origin_lon_deg))
    ll_map = lanelet2.io.load(str(hdmap.lanelet2_path), projector)
    markings = []
    for ls in ll_map.lineStringLayer:
        attrs = ls.attributes
        if (attrs["type"] if "type" in attrs else "") not in _MARKING_LINE_TYPES:
            continue
        line = np.array([[p.x, p.y] for p in ls], dtype=float)
        if len(line) < 2:
            continue
        points, arc = _resample(line, 1.0)
        quads = _ribbon(points, 0.5 * s.line_width_m)
        if "subtype" in attrs and attrs["subtype"] == "dashed":
            middle = 0.5 * (arc[:-1] + arc[1:])
            quads = quads[np.mod(middle, s.dash_length_m + s.dash_gap_m) < s.dash_length_m]
        markings.append(quads)
    asphalt = []
    for ll in ll_map.laneletLayer:
        left = np.array([[p.x, p.y] for p in ll.leftBound], dtype=float)
        right = np.array([[p.x, p.y] for p in ll.rightBound], dtype=float)
        n = max(2, int(math.ceil(max(_length(left), _length(right)) / 2.0)) + 1)
        left, right = _even(left, n), _even(right, n)
        asphalt.append(np.stack([left[:-1], left[1:], right[1:], right[:-1]], axis=1))
    return np.concatenate(markings), np.concatenate(asphalt)


def _length(line: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())


def _even(line: np.ndarray, n: int) -> np.ndarray:
    """n points evenly spaced by arc length along the polyline."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    q = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(q, s, line[:, 0]), np.interp(q, s, line[:, 1])])
