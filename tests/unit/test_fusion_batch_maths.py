"""The tracker's batched maths: closed-form 4x4 inverses, the exact pre-gate, the information-form update."""

from __future__ import annotations

import numpy as np

from propilot.core.fusion.batch_inverse import inverse
from propilot.core.fusion.measurement import point_measurements, sensor_poses
from propilot.core.fusion.rig import load_rig
from propilot.core.fusion.tracker import Tracker, TrackerSettings
from propilot.core.types import Detection, DetectionFrame, EgoEstimate, Pose2D, SensorKind
from tests.conftest import REPO

RIG = load_rig(REPO / "sim" / "rigs" / "default.yaml")


def _covariances(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    a = rng.normal(size=(k, n, n))
    return a @ a.transpose(0, 2, 1) + 0.1 * np.eye(n)


def test_closed_form_inverse_matches_lapack_for_track_like_matrices():
    rng = np.random.default_rng(1)
    p = _covariances(rng, 200, 4) * np.array([1.0, 1.0, 100.0, 100.0])  # positions m^2, velocities (m/s)^2
    info = _covariances(rng, 200, 4)
    m = np.eye(4) + p @ info
    np.testing.assert_allclose(inverse(m), np.linalg.inv(m), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(inverse(m) @ m, np.broadcast_to(np.eye(4), m.shape), atol=1e-9)
    assert inverse(np.zeros((0, 4, 4))).shape == (0, 4, 4)
    five = np.eye(5) + _covariances(rng, 3, 5)
    np.testing.assert_allclose(inverse(five), np.linalg.inv(five))


def _radar_frame(t_s: float, targets: list[tuple[float, float]]) -> DetectionFrame:
    return DetectionFrame(t_s, "front", SensorKind.RADAR, tuple(
        Detection(SensorKind.RADAR, x, y, float(np.hypot(x, y)), float(np.arctan2(y, x)), 0.0) for x, y in targets))


def test_pre_gate_keeps_every_pair_inside_the_widest_gate():
    tracker = Tracker(TrackerSettings(), RIG)
    ego = EgoEstimate(0.2, Pose2D(0.0, 0.0, 0.0), 0.0, 0.0, 0.05)  # standing: the targets' range rate is 0
    rng = np.random.default_rng(2)
    targets = [(float(x), float(y)) for x, y in zip(rng.uniform(20.0, 150.0, 30), rng.uniform(-8.0, 8.0, 30),
                                                     strict=True)]
    for k in range(4):  # tracks with covariances from fresh to settled
        tracker.update([_radar_frame(0.05 * k, targets)], EgoEstimate(0.05 * k, ego.pose, 0.0, 0.0, 0.05))
    assert tracker.track_count >= 20  # (two random targets may fall on one track)
    frame = _radar_frame(0.2, [(x + rng.normal(0.0, 2.0), y + rng.normal(0.0, 1.0)) for x, y in targets])
    tracker.predict_to(0.2)
    index = np.array([tracker._sensor_index[frame.sensor_id]])
    poses = sensor_poses(tracker._mounts[index], ego)
    m = point_measurements([frame], poses, ego)
    near = np.ones((1, tracker.track_count), dtype=bool)
    rows, cols = tracker._candidate_pairs(near, m)
    all_cols, all_rows = np.nonzero(np.ones((len(m.z), tracker.track_count), dtype=bool))
    d2, _ = tracker._pair_distances(all_rows, all_cols, m)
    inside = set(zip(all_rows[d2 <= tracker._widest_gate].tolist(), all_cols[d2 <= tracker._widest_gate].tolist(),
                     strict=True))
    kept = set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert inside and inside <= kept
    assert len(kept) < len(all_rows)  # and it does drop pairs


def test_information_update_equals_sequential_kalman_updates():
    tracker = Tracker(TrackerSettings(), RIG)
    rng = np.random.default_rng(3)
    tracker._x = rng.normal(size=(3, 4)) * 10.0
    tracker._p = _covariances(rng, 3, 4)
    tracker._id = np.arange(3)
    x0, p0 = tracker._x.copy(), tracker._p.copy()
    # track 0 gets two position measurements, track 2 one, track 1 none
    rows = np.array([0, 2, 0])
    z = rng.normal(size=(3, 2)) * 10.0
    r = _covariances(rng, 3, 2)
    r_inv = np.linalg.inv(r)
    n = 4
    packed = np.zeros((3, n * n + n))
    packed[:, :n * n].reshape(-1, n, n)[:, :2, :2] = r_inv
    packed[:, n * n:n * n + 2] = (r_inv @ (z - x0[rows, :2])[:, :, None])[:, :, 0]
    tracker._information_update(rows, packed)
    h = np.zeros((2, 4))
    h[0, 0] = h[1, 1] = 1.0
    for track in range(3):
        x, p = x0[track], p0[track]
        for k in np.flatnonzero(rows == track):  # linear measurements: one at a time gives the same result
            s = h @ p @ h.T + r[k]
            gain = p @ h.T @ np.linalg.inv(s)
            x, p = x + gain @ (z[k] - h @ x), (np.eye(4) - gain @ h) @ p
        np.testing.assert_allclose(tracker._x[track], x, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(tracker._p[track], p, rtol=1e-9, atol=1e-9)
