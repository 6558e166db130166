"""Scenario regression: every scenario of a folder, in parallel processes, with a report.

In: a folder of scenario YAML files, a number of worker processes and an optional name
filter. Out, in the output folder: one run folder per scenario (result.json, run.mcap,
series.csv, birdseye.png, timeseries.png), `summary.json` (`total`, `passed`, `failed`,
`scenarios`: `{name, passed, metrics, ...}`), `junit.xml` and `report.html`.
Each scenario runs in lockstep mode in its own process (libsumo is one per process): local
worker processes by default, or one Ray task per scenario on an existing Ray cluster
(`ray_address`), whose run folders come back to this machine as files.
"""

from __future__ import annotations

import fnmatch
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm


def scenario_files(folder: Path, pattern: str | None) -> list[Path]:
    files = sorted(folder.glob("*.yaml"))
    if pattern:
        files = [f for f in files if fnmatch.fnmatch(f.stem, pattern) or pattern in f.stem]
    return files


def run_one(path: Path, out: Path) -> dict:
    """Worker: run one scenario, plot it, return its summary entry (errors are entries too)."""
    from propilot.rosenv import setup_ros_environment

    setup_ros_environment()
    from propilot.core.map.hdmap import MapError, load_map
    from propilot.core.settings import ConfigError
    from propilot.sim.report import plot_run
    from propilot.sim.runner import run_scenario
    from propilot.sim.scenario import load_scenario

    try:
        scenario = load_scenario(path)
        result = run_scenario(scenario, out / scenario.name, "lockstep", progress=False)
        plot_run(out / scenario.name, load_map(scenario.map_path))
    except (ConfigError, MapError) as exc:
        return {"name": path.stem, "passed": False, "error": str(exc), "metrics": {}}
    return {"name": result["scenario"], "purpose": result["purpose"], "passed": result["passed"],
            "wall_time_s": result["wall_time_s"], "metrics": result["metrics"],
            "expectations": result["expectations"]}


def regress(folder: Path, out: Path, jobs: int, pattern: str | None = None, progress: bool = True,
            ray_address: str | None = None) -> dict:
    from propilot.sim.report import write_html, write_junit

    files = scenario_files(folder, pattern)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    if ray_address:
        from propilot.sim.ray_regress import run_on_ray

        entries = run_on_ray(files, out, ray_address, progress)
    else:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: libsumo is a singleton
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
            futures = [pool.submit(run_one, f, out) for f in files]
            for future in tqdm(as_completed(futures), total=len(futures), desc="scenarios", unit="scenario",
                               disable=not progress):
                entries.append(future.result())
    entries.sort(key=lambda e: e["name"])
    passed = sum(e["passed"] for e in entries)
    summary = {"total": len(entries), "passed": passed, "failed": len(entries) - passed, "scenarios": entries}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_junit(entries, out / "junit.xml")
    write_html(summary, out)
    return summary
