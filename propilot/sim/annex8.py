"""Lateral acceleration and jerk measured the way UN R79 Annex 8 prescribes.

In: the ego's lateral acceleration sampled at a fixed step. Out: its maximum after a
4th-order Butterworth low-pass at 0.5 Hz, and the maximum lateral jerk (the derivative
of that signal) as a 0.5 s moving average. Annex 8 asks for >= 100 Hz sampling; the
simulator samples at its step (20 Hz by default), which resolves a 0.5 Hz signal well.
The filter runs forward and backward (zero phase), as in post-processing.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

CUTOFF_HZ = 0.5  # UN R79 Annex 8
ORDER = 4  # UN R79 Annex 8
JERK_WINDOW_S = 0.5  # UN R79 Annex 8: jerk as a 0.5 s moving average


def lateral_maxima(lateral_accel_mps2: np.ndarray, step_s: float) -> tuple[float, float]:
    """(max |filtered lateral acceleration|, max |0.5 s averaged lateral jerk|)."""
    samples = np.asarray(lateral_accel_mps2, dtype=float)
    if len(samples) < 3 * (2 * ORDER + 1):  # too short for the zero-phase filter's padding
        return float(np.max(np.abs(samples), initial=0.0)), 0.0
    sos = butter(ORDER, CUTOFF_HZ, btype="low", fs=1.0 / step_s, output="sos")
    filtered = sosfiltfilt(sos, samples)
    jerk = np.gradient(filtered, step_s)
    window = max(1, int(round(JERK_WINDOW_S / step_s)))
    averaged = np.convolve(jerk, np.ones(window) / window, mode="valid")
    return float(np.max(np.abs(filtered))), float(np.max(np.abs(averaged)))
