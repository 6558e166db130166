"""Pinhole model of a forward camera over a flat road.

In: the camera's calibration (`CameraSettings`: image size, field of view, mount
position and pitch on the car). Out: projection of base_link points into the image
(the simulator renders with it) and the homography between the road plane and the
image (the lane detector looks at the road from above with it). Frames: base_link
x forward, y left, z up (REP-103); image u to the right, v down, origin top left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from propilot.core.settings import setting


@dataclass(frozen=True, slots=True)
class CameraSettings:
    width_px: int = setting(480, unit="px", description="image width", minimum=64, maximum=4096)
    height_px: int = setting(270, unit="px", description="image height", minimum=36, maximum=4096)
    hfov_deg: float = setting(60.0, unit="deg", description="horizontal field of view", minimum=10.0,
                              maximum=150.0)
    mount_x_m: float = setting(1.9, unit="m", description="camera ahead of base_link (behind the windscreen)",
                               minimum=-5.0, maximum=6.0)
    mount_y_m: float = setting(0.0, unit="m", description="camera left of base_link", minimum=-2.0, maximum=2.0)
    mount_height_m: float = setting(1.3, unit="m", description="camera above the road", minimum=0.3, maximum=4.0)
    pitch_rad: float = setting(0.03, unit="rad", description="optical axis below the horizontal", minimum=-0.3,
                               maximum=0.5)


class PinholeCamera:
    """Projection with the settings' calibration; rotations precomputed once."""

    def __init__(self, settings: CameraSettings):
        self.settings = settings
        self.width, self.height = settings.width_px, settings.height_px
        self.focal_px = 0.5 * self.width / math.tan(math.radians(settings.hfov_deg) / 2.0)
        self.cx, self.cy = 0.5 * (self.width - 1), 0.5 * (self.height - 1)
        self._cos, self._sin = math.cos(settings.pitch_rad), math.sin(settings.pitch_rad)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) base_link points -> (N, 3) camera frame (x right, y down, z along the optical axis)."""
        s = self.settings
        forward = points[:, 0] - s.mount_x_m
        left = points[:, 1] - s.mount_y_m
        up = points[:, 2] - s.mount_height_m
        return np.column_stack([-left, -self._cos * up - self._sin * forward, self._cos * forward - self._sin * up])

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) base_link points -> ((N, 2) pixel u, v; (N,) depth along the optical axis in m)."""
        cam = self.to_camera(points)
        depth = cam[:, 2]
        inv = self.focal_px / np.where(np.abs(depth) > 1e-9, depth, 1e-9)
        return np.column_stack([self.cx + cam[:, 0] * inv, self.cy + cam[:, 1] * inv]), depth

    def horizon_v(self) -> float:
        """Image row of the horizon (points at infinity on the road plane)."""
        return self.cy - self.focal_px * math.tan(self.settings.pitch_rad)

    def ground_to_image(self, ground_xy: np.ndarray) -> np.ndarray:
        """(N, 2) road-plane points in base_link -> (N, 2) pixels."""
        points = np.column_stack([ground_xy, np.zeros(len(ground_xy))])
        return self.project(points)[0]

    def ground_homography(self, ground_xy: np.ndarray, target_px: np.ndarray) -> np.ndarray:
        """3x3 H mapping target pixels (e.g. a bird's-eye grid) to image pixels, from 4 ground points."""
        image_px = self.ground_to_image(ground_xy)
        return cv2.getPerspectiveTransform(target_px.astype(np.float32), image_px.astype(np.float32))
