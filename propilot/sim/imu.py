"""Simulated inertial and wheel-speed sensors of the ego.

In: the time and the ego's true motion (speed, longitudinal acceleration, yaw rate).
Out: `ImuSample`s at the IMU rate (all those due since the last call: at 100 Hz and a
0.05 s step, five per step) and the wheel speed the vehicle reports. Errors: the gyro
and the accelerometers have a turn-on bias (drawn once per run), a slow bias random walk
and white noise; the wheel speed has a scale error (tyre radius: wear, pressure, load)
and noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.settings import setting
from propilot.core.types import ImuSample


@dataclass(frozen=True, slots=True)
class ImuSettings:
    rate_hz: float = setting(100.0, unit="Hz", description="sample rate", minimum=10.0, maximum=1000.0)
    gyro_noise_rps: float = setting(0.001, unit="rad/s", description="gyro white noise per sample, 1-sigma",
                                    minimum=0.0, source="automotive MEMS gyro, ~0.01 deg/s/sqrt(Hz) at 100 Hz")
    gyro_bias_rps: float = setting(0.002, unit="rad/s", description="gyro turn-on bias, 1-sigma", minimum=0.0,
                                   source="automotive MEMS gyro after stand-still calibration (~0.1 deg/s)")
    gyro_bias_walk_rps_per_sqrt_s: float = setting(2e-5, unit="rad/s/sqrt(s)", description="gyro bias random "
                                                   "walk", minimum=0.0)
    accel_noise_mps2: float = setting(0.02, unit="m/s^2", description="accelerometer white noise per sample",
                                      minimum=0.0)
    accel_bias_mps2: float = setting(0.05, unit="m/s^2", description="accelerometer turn-on bias, 1-sigma",
                                     minimum=0.0)


@dataclass(frozen=True, slots=True)
class WheelSpeedSettings:
    scale_error: float = setting(0.003, description="tyre radius error, 1-sigma share of the speed", minimum=0.0,
                                 maximum=0.1, source="tyre wear and pressure: a few per mille")
    noise_mps: float = setting(0.02, unit="m/s", description="wheel speed noise per report, 1-sigma", minimum=0.0)


class ImuModel:
    def __init__(self, settings: ImuSettings, rng: np.random.Generator):
        self.settings = settings
        self.rng = rng
        self._next_k = 0  # index of the next sample: t = k / rate
        self._gyro_bias = float(rng.normal(0.0, settings.gyro_bias_rps))
        self._accel_bias = rng.normal(0.0, settings.accel_bias_mps2, 2)

    @property
    def gyro_bias_rps(self) -> float:
        """The true bias now (for tests and benchmarks; the stack has to estimate it)."""
        return self._gyro_bias

    def measure(self, t_s: float, speed_mps: float, accel_mps2: float, yaw_rate_rps: float) -> list[ImuSample]:
        """The samples due up to t_s, each of the motion given (constant over one simulation step)."""
        s = self.settings
        period = 1.0 / s.rate_hz
        samples = []
        while self._next_k * period <= t_s + 1e-9:
            t = self._next_k * period
            self._next_k += 1
            self._gyro_bias += s.gyro_bias_walk_rps_per_sqrt_s * math.sqrt(period) * float(self.rng.normal())
            gyro, ax, ay = self.rng.normal(0.0, 1.0, 3)
            samples.append(ImuSample(
                t,
                accel_mps2 + self._accel_bias[0] + s.accel_noise_mps2 * ax,
                speed_mps * yaw_rate_rps + self._accel_bias[1] + s.accel_noise_mps2 * ay,
                yaw_rate_rps + self._gyro_bias + s.gyro_noise_rps * gyro,
            ))
        return samples


class WheelSpeedSensor:
    def __init__(self, settings: WheelSpeedSettings, rng: np.random.Generator):
        self.settings = settings
        self.rng = rng
        self.scale = 1.0 + float(rng.normal(0.0, settings.scale_error))

    def measure(self, speed_mps: float) -> float:
        if speed_mps <= 0.0:
            return 0.0  # a wheel at rest reports zero, not noise
        return max(0.0, self.scale * speed_mps + float(self.rng.normal(0.0, self.settings.noise_mps)))
