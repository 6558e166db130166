"""A drive with the live display in a child process, for scripts and browser tests.

In: a scenario file, an output folder and `propilot drive` display options (the scenario can be
shortened). Out: a running `propilot drive ... --hmi --port 0` process (it starts driving once a page is
open) and its display address (read from its output). Also the chromium flags for a headless, offline browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
URL_PREFIX = "driver display: "


def shortened_scenario(scenario: Path, duration_s: float, folder: Path) -> Path:
    """A copy of the scenario file that ends after duration_s (paths made absolute)."""
    data = yaml.safe_load(scenario.read_text())
    data["duration_s"] = duration_s
    data["map"] = str((scenario.parent / data["map"]).resolve())
    data.pop("expectations", None)  # a shortened drive is not the scenario's verdict
    path = folder / scenario.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_drive(scenario: Path, out: Path, duration_s: float | None = None,
                extra: tuple[str, ...] = ("--manual",)) -> subprocess.Popen:
    """The `propilot drive --hmi --port 0` process (it waits for a page); the caller ends it."""
    if duration_s is not None:
        scenario = shortened_scenario(scenario, duration_s, Path(tempfile.mkdtemp(prefix="propilot-hmi-")))
    command = [sys.executable, "-m", "propilot.cli", "drive", "--scenario", str(scenario), "--out", str(out),
               "--hmi", "--port", "0", "--quiet", *extra]
    out.mkdir(parents=True, exist_ok=True)
    log = (out / "drive.log").open("w")  # a file, not a pipe: a full pipe would stall the drive
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process


def display_url(process: subprocess.Popen, out: Path, timeout_s: float = 120.0) -> str:
    """The display address the drive prints once its server is bound."""
    for line in process.stdout:
        if line.startswith(URL_PREFIX):
            return line[len(URL_PREFIX):].strip()
    process.wait(timeout=timeout_s)
    raise RuntimeError(f"propilot drive --hmi ended without serving (exit {process.returncode}): "
                       f"{(out / 'drive.log').read_text()[-2000:]}")
