"""The result.json of a scenario run, the same for highway and parking scenarios.

In: the scenario, the run's mode and times, its metric values, extra metric entries and events.
Out: the result document (verdict, metrics with `null` for situations that never arose,
expectations, events), written to OUT/result.json.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from propilot.sim.metrics import evaluate


def json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None  # inf: the situation never arose (e.g. never closing in)


def write_result(out_dir: Path, scenario: Any, mode: str, sim_time_s: float, wall_time_s: float,
                 values: dict[str, float], events: list[dict[str, Any]],
                 extra_metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """Judge the expectations against the values, write OUT/result.json and return it."""
    expectations = evaluate(scenario.expectations, values)
    result = {
        "scenario": scenario.name,
        "purpose": scenario.purpose,
        "mode": mode,
        "seed": scenario.seed,
        "passed": all(e.passed for e in expectations),
        "sim_time_s": round(sim_time_s, 6),
        "wall_time_s": round(wall_time_s, 3),
        "metrics": {**{k: json_number(v) for k, v in values.items()}, **(extra_metrics or {})},
        "expectations": [replace(e, value=json_number(e.value)).as_dict() for e in expectations],
        "events": events,
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
