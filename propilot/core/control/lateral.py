"""Lane centring: pure-pursuit path tracking with curvature feed-forward.

In: the ego pose and speed, the plan's path points (map frame). Out: the requested
path curvature. The look-ahead point lies `lookahead_time_s * v` (at least
`lookahead_min_m`) along the path; pure pursuit: kappa = 2 sin(alpha) / L_d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.settings import setting
from propilot.core.types import PathPoint, Pose2D


@dataclass(frozen=True, slots=True)
class LateralSettings:
    lookahead_min_m: float = setting(8.0, unit="m", description="shortest look-ahead distance", minimum=1.0)
    lookahead_time_s: float = setting(1.0, unit="s", description="look-ahead distance per speed", minimum=0.1)


def pure_pursuit_curvature(settings: LateralSettings, pose: Pose2D, speed_mps: float,
                           path: tuple[PathPoint, ...]) -> float:
    if len(path) < 2:
        return 0.0
    xy = np.array([(p.x_m, p.y_m) for p in path])
    lookahead = max(settings.lookahead_min_m, settings.lookahead_time_s * speed_mps)
    dist = np.hypot(xy[:, 0] - pose.x_m, xy[:, 1] - pose.y_m)
    beyond = np.nonzero(dist >= lookahead)[0]
    target = xy[beyond[0]] if len(beyond) else xy[-1]
    dx, dy = target[0] - pose.x_m, target[1] - pose.y_m
    alpha = math.atan2(dy, dx) - pose.yaw_rad
    ld = max(math.hypot(dx, dy), 1e-3)
    return 2.0 * math.sin(alpha) / ld
