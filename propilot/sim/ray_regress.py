"""Scenario regression on an existing Ray cluster: one Ray task per scenario.

In: scenario files, the regression's output folder and the address of a running Ray
cluster (`HOST:PORT` of its head, or `auto`). Out: the summary entries of the runs, as
`regress.run_one` gives them, with each run folder (result.json, run.mcap, series.csv,
plots) copied from the worker into the output folder, so a regression on a cluster leaves
the same files as one on local processes. Every node of the cluster needs ProPilot
installed at the same path as here (the scenario files and maps are read there).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from tqdm import tqdm

from propilot.core.settings import ConfigError


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse an address where nothing listens (ray.init would retry for minutes); `auto` is Ray's to find."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError("--ray", address, "expected HOST:PORT of the Ray head (or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError("--ray", address, f"no Ray cluster answers there ({exc.strerror or exc})") from None


def _run_packed(path: str) -> tuple[dict, dict[str, bytes]]:
    """Ray task: run one scenario in a temporary folder on the worker, return its entry and files."""
    from propilot.sim.regress import run_one

    work = Path(tempfile.mkdtemp(prefix="propilot-ray-"))
    try:
        entry = run_one(Path(path), work)
        files = {str(f.relative_to(work)): f.read_bytes() for f in sorted(work.rglob("*")) if f.is_file()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return entry, files


def run_on_ray(files: list[Path], out: Path, address: str, progress: bool = True) -> list[dict]:
    """Submit every scenario as a task, collect entries as they finish, write their run folders."""
    import ray

    _check_reachable(address)
    ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_run_packed)
        pending = [task.remote(str(f.resolve())) for f in files]
        entries = []
        with tqdm(total=len(pending), desc="scenarios (ray)", unit="scenario", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                entry, run_files = ray.get(done[0])
                for relative, data in run_files.items():
                    target = out / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                entries.append(entry)
                bar.update(1)
    finally:
        ray.shutdown()
    return entries
