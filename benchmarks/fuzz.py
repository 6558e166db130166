"""Fuzz benchmark: every input file kind, message conversion and safety property at scale.

In: --examples N per target (default 10,000), optionally --only NAME... and --jobs (processes).
Out: a progress bar per target on stderr and, as the last line on stdout, JSON:
{"targets": [...], "examples": {name: n}, "failures": {name: n}, "rejected": {name: n},
 "accepted": {name: n}, "first_failures": {name: [message, ...]}, "cpu_s": {name: s}, "wall_s": s}.
A failure is an input for which the target's property does not hold (a crash, a rejection that
does not name file, field and reason, a NaN reaching the core, a command outside the envelope,
an unsafe lane change started). The targets are those of tests/fuzz (tests/fuzz/targets.py).

    nice -n 10 .venv/bin/python benchmarks/fuzz.py --examples 10000 --jobs 2 [--max-seconds 600]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FIRST_FAILURES_KEPT = 5
# the costliest targets (a map build per example, a planner run per example) start first
SLOW_FIRST = ("file:lanelet2_osm", "property:no_unsafe_lane_change_starts", "file:map_yaml", "file:rig")


def property_targets() -> dict[str, Any]:
    """The safety properties of tests/fuzz as targets: inputs and a check that raises when broken."""
    from hypothesis import strategies as st

    from propilot.core.map.hdmap import load_map
    from tests.fuzz import test_behaviour_properties as behaviour
    from tests.fuzz import test_supervisor_properties as supervisor
    from tests.fuzz.targets import Broken, Target

    def supervisor_check(value: Any) -> str:
        broken = supervisor.run_supervisor(*value)
        if broken:
            raise Broken("; ".join(broken))
        return "accepted"

    hdmap = load_map(REPO / "maps" / "highway_small" / "map.yaml")

    def lane_change_check(cycles: Any) -> str:
        started, broken = behaviour.lane_change_starts(hdmap, cycles)
        if broken:
            raise Broken("; ".join(broken))
        return "started" if started else "accepted"

    return {
        "property:supervisor_envelope": Target(
            "property:supervisor_envelope",
            st.tuples(supervisor.supervisor_settings(), st.lists(supervisor.REQUEST, min_size=1, max_size=60)),
            supervisor_check),
        "property:no_unsafe_lane_change_starts": Target(
            "property:no_unsafe_lane_change_starts", st.lists(behaviour.CYCLE, min_size=1, max_size=25),
            lane_change_check),
    }


def all_targets() -> dict[str, Any]:
    from tests.fuzz.targets import TARGETS

    return {**TARGETS, **property_targets()}


class _OutOfTime(Exception):
    """The target's time budget is spent: stop generating (the examples run so far are reported)."""


def run_target(name: str, examples: int, position: int, max_seconds: float = float("inf")) -> dict[str, Any]:
    """Runs one target for `examples` generated inputs (or until max_seconds of wall time); every input
    runs, failures are counted."""
    from hypothesis import HealthCheck, Phase, given, settings
    from tqdm import tqdm

    target = all_targets()[name]
    outcomes: dict[str, int] = {}
    failures: list[str] = []
    bar = tqdm(total=examples, desc=name, position=position, leave=True, file=sys.stderr, mininterval=2.0)

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(target.inputs)
    def run(value: Any) -> None:
        if time.perf_counter() - started > max_seconds:
            raise _OutOfTime
        try:
            outcome = target.check(value)
        except Exception as exc:  # a failure of the property: count it and go on
            outcome = "failed"
            if len(failures) < FIRST_FAILURES_KEPT:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                failures.append(f"{type(exc).__name__}: {str(exc)[:300]} ({Path(where.filename).name}:{where.lineno})")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        bar.update(1)

    start, started = time.process_time(), time.perf_counter()
    try:
        run()
    except _OutOfTime:
        pass
    bar.close()
    return {"name": name, "outcomes": outcomes, "failures": failures, "cpu_s": time.process_time() - start}


def _result(name: str, future: Any) -> dict[str, Any]:
    """A worker's result; a worker that died (e.g. a crash inside a C++ library) counts as one failure."""
    try:
        return future.result()
    except Exception as exc:
        return {"name": name, "outcomes": {"failed": 1}, "failures": [f"worker died: {exc!r}"], "cpu_s": 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000, help="generated inputs per target")
    parser.add_argument("--only", nargs="*", default=[], help="targets whose name contains one of these")
    parser.add_argument("--jobs", type=int, default=1, help="targets run in this many processes at once")
    parser.add_argument("--max-seconds", type=float, default=float("inf"),
                        help="wall-time budget per target; a target out of time reports the examples it ran")
    args = parser.parse_args(argv)
    names = [n for n in all_targets() if not args.only or any(part in n for part in args.only)]
    start = time.perf_counter()
    if args.jobs > 1:
        order = sorted(names, key=lambda n: SLOW_FIRST.index(n) if n in SLOW_FIRST else len(SLOW_FIRST))
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = {n: pool.submit(run_target, n, args.examples, i, args.max_seconds) for i, n in enumerate(order)}
            results = [_result(n, futures[n]) for n in names]
    else:
        results = [run_target(name, args.examples, i, args.max_seconds) for i, name in enumerate(names)]
    report = {
        "targets": names,
        "examples": {r["name"]: sum(r["outcomes"].values()) for r in results},
        "failures": {r["name"]: r["outcomes"].get("failed", 0) for r in results},
        "rejected": {r["name"]: r["outcomes"].get("rejected", 0) for r in results},
        "accepted": {r["name"]: r["outcomes"].get("accepted", 0) + r["outcomes"].get("started", 0)
                     for r in results},
        "first_failures": {r["name"]: r["failures"] for r in results if r["failures"]},
        "cpu_s": {r["name"]: round(r["cpu_s"], 1) for r in results},
        "examples_requested": args.examples,
        "wall_s": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(report))
    return 1 if any(report["failures"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
