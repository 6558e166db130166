"""Lane lines from a camera image, with OpenCV: the ego lane's left and right line in base_link.

In: a `CameraImage` (8-bit grey) and the camera's calibration. Out: a `LaneLineFrame`
with up to two `LaneLine`s (y = c0 + c1 x + c2 x^2 in base_link, type solid/dashed,
the range they hold to and a confidence). It works on pixels only:

    image --warpPerspective--> bird's-eye view of the road (x forward, y left, metric grid)
          --dark-light-dark ridge filter--> paint response, threshold from its own noise
          --column histogram of the near range--> where lines start
          --sliding windows forward--> points along each line
          --weighted least squares--> polynomial, residual check
          --occupancy of the windows--> solid or dashed

Paint is a narrow bright stripe on darker asphalt whatever the exposure; the ridge filter
keeps stripes as narrow as a line and rejects edges (a car, a shadow), and the threshold
follows the image's own noise and brightest stripe, so exposure changes do not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from propilot.core.perception.camera_model import CameraSettings, PinholeCamera
from propilot.core.settings import setting
from propilot.core.types import CameraImage, LaneLine, LaneLineFrame, LaneLineSide, LaneLineType

_START_X_M = 10.0  # where the histogram of line starts (over the near 15 m) sits, roughly
_MIN_GAP_M, _MAX_GAP_M = 4.0, 16.0  # gaps of dashed lines, seen through blur (German RMS: 12 m, Japan: 12 m)


@dataclass(frozen=True, slots=True)
class LaneDetectorSettings:
    near_m: float = setting(6.0, unit="m", description="nearest road ahead of base_link looked at", minimum=0.0)
    far_m: float = setting(50.0, unit="m", description="farthest road ahead of base_link looked at",
                           minimum=10.0, maximum=200.0)
    half_width_m: float = setting(7.0, unit="m", description="road looked at either side of base_link",
                                  minimum=2.0, maximum=20.0)
    row_m: float = setting(0.25, unit="m", description="bird's-eye grid step along the road", minimum=0.05,
                           maximum=2.0)
    column_m: float = setting(0.05, unit="m", description="bird's-eye grid step across the road", minimum=0.01,
                              maximum=0.5)
    ridge_offset_m: float = setting(0.3, unit="m", description="distance to the asphalt either side of paint",
                                    minimum=0.1, maximum=1.0)
    threshold_noise_sigmas: float = setting(5.0, description="paint response threshold in noise sigmas",
                                            minimum=1.0)
    threshold_fraction: float = setting(0.3, description="paint response threshold as a share of the "
                                        "brightest stripe (exposure-proof)", minimum=0.0, maximum=1.0)
    window_length_m: float = setting(2.0, unit="m", description="sliding window length along the line",
                                     minimum=0.5)
    window_half_width_m: float = setting(0.4, unit="m", description="sliding window half width", minimum=0.1)
    max_lateral_m: float = setting(4.0, unit="m", description="farthest line start counted as the ego "
                                   "lane's", minimum=1.0)
    min_windows: int = setting(4, description="windows with paint needed for a line", minimum=2)
    max_missed_m: float = setting(20.0, unit="m", description="search stops after this long without paint "
                                  "(longer than a dash gap)", minimum=1.0)
    max_residual_m: float = setting(0.12, unit="m", description="RMS fit residual above which a line is refused",
                                    minimum=0.01)
    min_confidence: float = setting(0.25, description="lines found with less confidence are not reported",
                                    minimum=0.0, maximum=1.0)
    solid_occupancy: float = setting(0.85, description="share of windows with paint from which a line is solid",
                                     minimum=0.5, maximum=1.0)
    dashed_occupancy: float = setting(0.75, description="share of windows with paint up to which a line with "
                                      "dash-long gaps is dashed", minimum=0.1, maximum=0.9)
    type_range_m: float = setting(40.0, unit="m", description="line type judged up to this far (beyond, a lead "
                                  "vehicle often hides the paint)", minimum=10.0)


@dataclass(frozen=True, slots=True)
class _Track:
    """Points found along one line: x, y and weight per window, and which windows had paint."""

    y0_m: float  # where the line's own fit crosses x = 0 (base_link): + left
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    occupied: np.ndarray  # bool per window searched, near to far
    window_x: np.ndarray  # x at the middle of each window searched


class LaneDetector:
    def __init__(self, settings: LaneDetectorSettings, calibration: CameraSettings):
        self.settings = settings
        self.camera = PinholeCamera(calibration)
        s = settings
        self.rows = int(round((s.far_m - s.near_m) / s.row_m)) + 1
        self.cols = int(round(2.0 * s.half_width_m / s.column_m)) + 1
        self.x_m = s.near_m + s.row_m * np.arange(self.rows)  # row i -> x forward
        self.y_m = s.half_width_m - s.column_m * np.arange(self.cols)  # column j -> y left
        corners_px = np.array([[0, 0], [self.cols - 1, 0], [self.cols - 1, self.rows - 1], [0, self.rows - 1]],
                              dtype=float)
        corners_xy = np.array([[self.x_m[int(r)], self.y_m[int(c)]] for c, r in corners_px])
        self.homography = self.camera.ground_homography(corners_xy, corners_px)
        full = np.full((self.camera.height, self.camera.width), 255, np.uint8)
        self._in_view = self._warp(full) == 255
        self._in_view &= (self.x_m >= self._nearest_visible_m())[:, None]
        self._ridge_px = max(1, int(round(s.ridge_offset_m / s.column_m)))
        self._window_rows = max(1, int(round(s.window_length_m / s.row_m)))
        self._half_cols = max(1, int(round(s.window_half_width_m / s.column_m)))
        self._columns = np.arange(self.cols, dtype=np.float32)
        # Every 3rd pixel in view: enough for the noise and brightness statistics, a ninth of the work.
        grid = np.zeros_like(self._in_view)
        grid[::3, ::3] = True
        self._sample = np.flatnonzero(self._in_view & grid)
        self._out_of_view = ~self._in_view

    def _nearest_visible_m(self) -> float:
        """x of the road at the bottom image row (nearer road is hidden by the bonnet or out of view)."""
        c = self.camera
        angle = math.atan((c.height - 1 - c.cy) / c.focal_px) + c.settings.pitch_rad
        return c.settings.mount_x_m + c.settings.mount_height_m / math.tan(angle) if angle > 0 else math.inf

    def _warp(self, image: np.ndarray) -> np.ndarray:
        return cv2.warpPerspective(image, self.homography, (self.cols, self.rows),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=0)

    def detect(self, image: CameraImage) -> LaneLineFrame:
        if image.pixels.shape != (self.camera.height, self.camera.width):
            raise ValueError(f"image {image.camera_id}: {image.pixels.shape[1]}x{image.pixels.shape[0]} px, "
                             f"calibrated for {self.camera.width}x{self.camera.height}")
        paint = self.paint_response(image.pixels)
        rows, cols = np.nonzero(paint > 0.0)
        pixels = (self.x_m[rows], self.y_m[cols], paint[rows, cols])
        tracks = [t for start in self._line_starts(paint) if (t := self._follow(pixels, start)) is not None]
        left = min((t for t in tracks if t.y0_m > 0.0), key=lambda t: t.y0_m, default=None)
        right = max((t for t in tracks if t.y0_m <= 0.0), key=lambda t: t.y0_m, default=None)
        return LaneLineFrame(image.t_s, image.camera_id, self._reported(self._fit_pair(left, right)))

    def paint_response(self, pixels: np.ndarray) -> np.ndarray:
        """Bird's-eye (rows, cols) float32: how much brighter than the asphalt on both sides, 0 if not paint."""
        bev = cv2.blur(self._warp(pixels), (3, 1))
        k = self._ridge_px
        centre = bev[:, k:-k]
        ridge = np.zeros(bev.shape, np.int16)
        ridge[:, k:-k] = cv2.min(cv2.subtract(centre, bev[:, :-2 * k], dtype=cv2.CV_16S),
                                 cv2.subtract(centre, bev[:, 2 * k:], dtype=cv2.CV_16S))
        ridge[self._out_of_view] = 0
        sample = ridge.ravel()[self._sample].astype(np.float32)
        median = float(np.median(sample))
        noise = 1.4826 * float(np.median(np.abs(sample - median)))
        top = int(0.995 * (sample.size - 1))
        brightest = float(np.partition(sample, top)[top])
        threshold = max(self.settings.threshold_noise_sigmas * noise, self.settings.threshold_fraction * brightest,
                        1.0)
        return cv2.threshold(ridge.astype(np.float32), threshold, 0.0, cv2.THRESH_TOZERO)[1]

    def _line_starts(self, paint: np.ndarray) -> list[int]:
        """Columns where lines begin: the strongest peaks of the paint histogram over the near 15 m."""
        s = self.settings
        near = paint[: max(1, int(round(15.0 / s.row_m)))]
        histogram = cv2.blur(near.sum(axis=0, keepdims=True), (self._half_cols * 2 + 1, 1))[0]
        histogram[np.abs(self.y_m) > s.max_lateral_m] = 0.0
        peaks: list[int] = []
        floor = 0.1 * float(histogram.max())
        for j in np.argsort(histogram)[::-1]:
            if histogram[j] <= floor or len(peaks) >= 4:
                break
            if all(abs(j - p) > 3 * self._half_cols for p in peaks):
                peaks.append(int(j))
        return peaks

    def _follow(self, pixels: tuple[np.ndarray, np.ndarray, np.ndarray], start_col: int) -> _Track | None:
        """The paint pixels along one line that starts near start_col.

        First the straight line through the start that collects the most paint within 35 m (a
        small Hough transform over headings: a dash gap may hide the first metres), then a band
        round a polynomial fitted ever farther.
        """
        s = self.settings
        x, y, w = pixels
        y0 = float(self.y_m[start_col])
        near = x <= 35.0
        slopes = np.tan(np.radians(np.arange(-6.0, 6.01, 0.5)))[:, None]
        inside = np.abs(y[near] - (y0 + slopes * (x[near] - _START_X_M))) < s.window_half_width_m
        best = float(slopes[int(np.argmax(inside @ w[near])), 0])
        coef = np.array([best, y0 - best * _START_X_M])
        for reach_m, band_m in ((35.0, s.window_half_width_m), (s.far_m, s.window_half_width_m)):
            chosen = (x <= reach_m) & (np.abs(y - np.polyval(coef, x)) < band_m)
            if chosen.sum() < 3:
                return None
            span = float(np.ptp(x[chosen]))
            degree = 2 if span >= 20.0 else 1 if span >= 3.0 else 0
            coef = _polyfit(x[chosen], y[chosen], w[chosen], degree)
        chosen = np.abs(y - np.polyval(coef, x)) < 0.75 * s.window_half_width_m
        windows = ((x[chosen] - s.near_m) / s.window_length_m).astype(int)
        count = int(math.ceil((s.far_m - s.near_m) / s.window_length_m))
        occupied = np.bincount(windows, minlength=count)[:count] >= max(2, self._window_rows // 3)
        if occupied.sum() < s.min_windows:
            return None
        last = int(np.flatnonzero(occupied)[-1])
        window_x = s.near_m + s.window_length_m * (np.arange(count) + 0.5)
        return _Track(float(coef[-1]), x[chosen], y[chosen], w[chosen], occupied[:last + 1], window_x[:last + 1])

    def _fit_pair(self, left: _Track | None, right: _Track | None) -> tuple[LaneLine, ...]:
        """The ego lane's lines; fitted together (parallel: one heading and curvature) when both are there."""
        if left is not None and right is not None:
            lines = self._fit([left, right], [LaneLineSide.LEFT, LaneLineSide.RIGHT])
            if lines is not None:
                return tuple(lines)
        singles = [self._fit([t], [side]) for t, side in ((left, LaneLineSide.LEFT), (right, LaneLineSide.RIGHT))
                   if t is not None]
        return tuple(line[0] for line in singles if line is not None)

    def _reported(self, lines: list[LaneLine]) -> tuple[LaneLine, ...]:
        return tuple(line for line in lines if line.confidence >= self.settings.min_confidence)

    def _fit(self, tracks: list[_Track], sides: list[LaneLineSide]) -> list[LaneLine] | None:
        """Weighted least squares y_k = a_k + b x + c x^2 over the tracks; None if a residual is too large."""
        s = self.settings
        x = np.concatenate([t.x for t in tracks])
        y = np.concatenate([t.y for t in tracks])
        # Far rows of the bird's-eye view repeat few image rows, and a pixel there spans more road.
        w = np.sqrt(np.concatenate([t.weight for t in tracks]) * (s.near_m / np.maximum(x, s.near_m)) ** 2)
        which = np.concatenate([np.full(len(t.x), k) for k, t in enumerate(tracks)])
        span = float(x.max() - x.min())
        degree = 2 if span >= 20.0 else 1
        design = np.column_stack([(which == k).astype(float) for k in range(len(tracks))]
                                 + [x**p for p in range(1, degree + 1)])
        coef = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)[0]
        residual = y - design @ coef
        lines = []
        for k, track in enumerate(tracks):
            mine = which == k
            rms = float(np.sqrt(np.average(residual[mine] ** 2, weights=w[mine] ** 2)))
            if rms > s.max_residual_m:
                return None
            c = np.zeros(4)
            c[0] = coef[k]
            c[1:degree + 1] = coef[len(tracks):]
            lines.append(LaneLine(sides[k], self._line_type(track),
                                  float(c[0]), float(c[1]), float(c[2]), float(c[3]), float(track.x.max()),
                                  self._confidence(track, rms)))
        return lines

    def _confidence(self, track: _Track, rms_m: float) -> float:
        """More windows with paint (8 = a dashed line's worth over the range) and a tighter fit: surer."""
        support = min(1.0, track.occupied.sum() / 8.0)
        return float(support * max(0.0, 1.0 - rms_m / self.settings.max_residual_m))

    def _line_type(self, track: _Track) -> LaneLineType:
        """Solid when (nearly) every window had paint; dashed when a gap as long as a dash gap lies
        between painted windows; unknown otherwise (e.g. a solid line partly hidden)."""
        s = self.settings
        judged = track.occupied[track.window_x <= s.type_range_m]
        if len(judged) < 6:
            return LaneLineType.UNKNOWN
        occupancy = float(judged.mean())
        if occupancy >= s.solid_occupancy:
            return LaneLineType.SOLID
        # Gaps between painted windows, and before the first: the nearest road is always in view.
        painted = np.concatenate([[-1], np.flatnonzero(judged)])
        gaps_m = (np.diff(painted) - 1) * s.window_length_m
        if occupancy <= s.dashed_occupancy and np.any((gaps_m >= _MIN_GAP_M) & (gaps_m <= _MAX_GAP_M)):
            return LaneLineType.DASHED
        return LaneLineType.UNKNOWN


def _polyfit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, degree: int) -> np.ndarray:
    """Weighted least-squares polynomial, highest power first (np.polyval order), by normal equations.

    x is centred on its mean so the small system stays well conditioned; the result is shifted back.
    """
    mean = float(np.average(x, weights=weight))
    u = x - mean
    powers = np.vstack([u**p for p in range(degree + 1)])  # (d+1, n)
    weighted = powers * weight
    coef_u = np.linalg.solve(weighted @ powers.T, weighted @ y)  # lowest power first, in u
    coef = np.zeros(degree + 1)  # lowest power first, in x: sum_k a_k (x - mean)^k expanded
    for k, a in enumerate(coef_u):
        for j in range(k + 1):
            coef[j] += a * math.comb(k, j) * (-mean) ** (k - j)
    return coef[::-1]
