"""`propilot regress --ray ADDRESS`: the same regression as Ray tasks on a running Ray cluster.

Starts a Ray head of its own bound to 127.0.0.1 (no dashboard, no usage statistics), runs a
filtered regression of two short scenarios through it and checks the same outputs as the local
run; then ends every process of that Ray instance, by id, and checks that none is left.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import REPO
from tests.scenario.test_regress import short_variant

RAY = Path(sys.executable).parent / "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(root: int) -> set[int]:
    """Every live process below root (Ray's workers start sessions of their own, so not by group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, queue = set(), [root]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def ray_head():
    """A Ray head on 127.0.0.1 in a temporary folder; yields its address, then ends all its processes."""
    temp = tempfile.mkdtemp(prefix="/tmp/pray")  # short: Ray's socket paths must stay under 108 characters
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--disable-usage-stats", "--include-dashboard", "false", "--dashboard-host", "127.0.0.1",
         "--num-cpus", "2", "--temp-dir", temp],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    seen = set()
    try:
        for line in head.stdout:  # the head says when its runtime is up
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail(f"ray start ended with {head.wait()}")
        threading.Thread(target=head.stdout.read, daemon=True).start()  # keep its pipe from filling up
        yield f"127.0.0.1:{port}", lambda: seen.update(_descendants(head.pid))
    finally:
        seen |= _descendants(head.pid)
        os.killpg(head.pid, signal.SIGKILL)  # a graceful stop drains for 30 s; the test's work is done
        head.wait(timeout=10)
        deadline = time.monotonic() + 20.0
        while any(_alive(p) for p in seen) and time.monotonic() < deadline:
            time.sleep(0.1)  # the workers end when their raylet is gone
        for pid in [p for p in seen if _alive(p)]:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
        assert not [p for p in seen if _alive(p)], "Ray processes left behind"


def test_regression_on_a_local_ray_cluster(tmp_path, ray_head):
    address, note_processes = ray_head
    folder = tmp_path / "scenarios"
    folder.mkdir()
    short_variant(folder, "good", duration_s=3)
    short_variant(folder, "impossible", duration_s=3, expectations={"route_completion": {"min": 0.99}})
    short_variant(folder, "skipped", duration_s=3)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    run = subprocess.Popen([sys.executable, "-m", "propilot.cli", "regress", str(folder), "--out",
                            str(tmp_path / "out"), "--quiet", "--filter", "*o*", "--ray", address],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    stdout, stderr = run.communicate(timeout=300)
    note_processes()  # the workers that ran the tasks, to be sure they end with the head
    assert run.returncode == 1, stdout + stderr
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["total"], summary["passed"], summary["failed"]) == (2, 1, 1)
    assert {e["name"]: e["passed"] for e in summary["scenarios"]} == {"good": True, "impossible": False}
    assert all("collisions" in e["metrics"] for e in summary["scenarios"])
    suite = ElementTree.parse(out / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    report = (out / "report.html").read_text()
    for name in ("good", "impossible"):  # the run folders came back from the workers
        assert f"{name}/birdseye.png" in report and (out / name / "birdseye.png").stat().st_size > 5000
        result = json.loads((out / name / "result.json").read_text())
        assert result["scenario"] == name and result["sim_time_s"] == 3.0
        assert (out / name / "run.mcap").stat().st_size > 10000
    assert not (out / "skipped").exists()


def test_an_address_without_a_cluster_is_refused(tmp_path):
    from propilot.core.settings import ConfigError
    from propilot.sim.ray_regress import run_on_ray

    port = _free_port()  # nothing listens there
    with pytest.raises(ConfigError, match=f"--ray: 127.0.0.1:{port}: no Ray cluster answers there"):
        run_on_ray([], tmp_path, f"127.0.0.1:{port}", progress=False)
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        run_on_ray([], tmp_path, "somewhere", progress=False)
