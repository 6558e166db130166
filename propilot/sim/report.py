"""Pictures and reports of scenario runs.

In: a run folder (result.json, series.csv, traffic.csv) and its map; or the summary of
a regression. Out: `birdseye.png` (lanes, the ego's path coloured by speed, traffic),
`timeseries.png` (speed, acceleration, lateral acceleration, gap, pilot state) per run,
and for a regression `report.html` (an overview table of the headline metrics, the mean
driving score, one section per scenario) and `junit.xml`.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from xml.etree import ElementTree

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from propilot.core.map.hdmap import HDMap  # noqa: E402

PILOT_STATES = ("OFF", "UNAVAILABLE", "AVAILABLE", "ENGAGED_HANDS_ON", "ENGAGED_HANDS_OFF", "TAKEOVER_REQUEST",
                "MINIMAL_RISK")


# Headline metrics of the overview table: (result.json metric, column heading, format).
OVERVIEW_COLUMNS = (
    ("driving_score", "driving score", "{:.2f}"),
    ("route_completion", "route", "{:.0%}"),
    ("collisions", "collisions", "{:.0f}"),
    ("min_time_headway_s", "min THW [s]", "{:.2f}"),
    ("critical_distance_margin_m", "R79 margin [m]", "{:.1f}"),
    ("hands_off_share", "hands-off", "{:.0%}"),
    ("proposals_made", "proposals", "{:.0f}"),
    ("proposals_accepted", "accepted", "{:.0f}"),
    ("proposals_expired", "expired", "{:.0f}"),
    ("proposals_rejected", "rejected", "{:.0f}"),
    ("refused_requests", "refused", "{:.0f}"),
    ("mean_approval_latency_s", "approval [s]", "{:.2f}"),
    ("travel_time_s", "travel [s]", "{:.1f}"),
    ("baseline_travel_time_s", "SUMO ego [s]", "{:.1f}"),
    ("travel_time_ratio", "travel ratio", "{:.2f}"),
)


def _cell(metrics: dict, key: str, fmt: str) -> str:
    value = metrics.get(key)
    return "-" if value is None else fmt.format(value)  # None: never arose (e.g. no vehicle ahead)


def _read_csv(path: Path) -> dict[str, list[str]]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return {key: [row[key] for row in rows] for key in (rows[0] if rows else {})}


def _floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) if v != "" else np.nan for v in values])


def plot_run(run_dir: Path, hdmap: HDMap) -> None:
    """Write birdseye.png and timeseries.png into run_dir."""
    series = _read_csv(run_dir / "series.csv")
    if not series:
        return
    x, y, speed = _floats(series["x_m"]), _floats(series["y_m"]), _floats(series["speed_mps"])
    fig, ax = plt.subplots(figsize=(11, 4))
    margin = 60.0
    box = (x.min() - margin, x.max() + margin, y.min() - margin, y.max() + margin)
    for lanelet_id in hdmap.lanelet_ids():
        centre = hdmap.centerline(lanelet_id)
        inside = (centre[:, 0] > box[0]) & (centre[:, 0] < box[1]) & (centre[:, 1] > box[2]) & (centre[:, 1] < box[3])
        if inside.any():
            ax.plot(centre[:, 0], centre[:, 1], color="0.8", linewidth=6, solid_capstyle="butt", zorder=1)
    traffic = _read_csv(run_dir / "traffic.csv") if (run_dir / "traffic.csv").exists() else {}
    if traffic:
        ax.scatter(_floats(traffic["x_m"]), _floats(traffic["y_m"]), s=2, color="tab:gray", label="traffic (1 Hz)",
                   zorder=2)
    points = ax.scatter(x, y, c=speed * 3.6, s=3, cmap="viridis", zorder=3)
    fig.colorbar(points, ax=ax, label="ego speed [km/h]")
    ax.set(xlim=box[:2], ylim=box[2:], xlabel="x [m]", ylabel="y [m]", title=f"{run_dir.name}: bird's-eye view")
    if traffic:
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(run_dir / "birdseye.png", dpi=90)
    plt.close(fig)

    t = _floats(series["t_s"])
    fig, axes = plt.subplots(5, 1, figsize=(11, 9), sharex=True)
    axes[0].plot(t, speed * 3.6)
    axes[0].set_ylabel("speed [km/h]")
    axes[1].plot(t, _floats(series["accel_mps2"]), label="actual")
    axes[1].plot(t, _floats(series["accel_cmd_mps2"]), label="command", alpha=0.7)
    axes[1].set_ylabel("accel [m/s²]")
    axes[1].legend(loc="upper right")
    axes[2].plot(t, _floats(series["lat_accel_mps2"]))
    axes[2].set_ylabel("lat. accel [m/s²]")
    axes[3].plot(t, _floats(series["gap_ahead_m"]))
    axes[3].set_ylabel("gap ahead [m]")
    axes[4].step(t, [PILOT_STATES.index(s) if s in PILOT_STATES else -1 for s in series["pilot_state"]],
                 where="post")
    axes[4].set_yticks(range(len(PILOT_STATES)), [s.replace("ENGAGED_", "") for s in PILOT_STATES], fontsize=7)
    axes[4].set_xlabel("time [s]")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(f"{run_dir.name}: time series")
    fig.tight_layout()
    fig.savefig(run_dir / "timeseries.png", dpi=90)
    plt.close(fig)


def write_junit(entries: list[dict], path: Path) -> None:
    suite = ElementTree.Element("testsuite", name="propilot-scenarios", tests=str(len(entries)),
                                failures=str(sum(1 for e in entries if not e["passed"] and "error" not in e)),
                                errors=str(sum(1 for e in entries if "error" in e)))
    for entry in entries:
        case = ElementTree.SubElement(suite, "testcase", classname="scenarios", name=entry["name"],
                                      time=f"{entry.get('wall_time_s', 0.0):.3f}")
        if "error" in entry:
            ElementTree.SubElement(case, "error", message=entry["error"])
        elif not entry["passed"]:
            failed = [e for e in entry.get("expectations", []) if not e["passed"]]
            text = "; ".join(f"{e['name']} = {e['value']} (expected {e['threshold']})" for e in failed)
            ElementTree.SubElement(case, "failure", message=text or "failed")
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_html(summary: dict, out: Path) -> None:
    rows, sections = [], []
    for e in summary["scenarios"]:
        verdict = "error" if "error" in e else ("passed" if e["passed"] else "FAILED")
        metrics = e.get("metrics") or {}
        rows.append(f"<tr class='{verdict.lower()}' title='{html.escape(e.get('purpose', ''), quote=True)}'>"
                    f"<td><a href='#{e['name']}'>{html.escape(e['name'])}</a></td><td>{verdict}</td>"
                    + "".join(f"<td>{_cell(metrics, key, fmt)}</td>" for key, _, fmt in OVERVIEW_COLUMNS) + "</tr>")
        body = [f"<h2 id='{e['name']}'>{html.escape(e['name'])}: {verdict}</h2>",
                f"<p>{html.escape(e.get('purpose', ''))}</p>"]
        if "error" in e:
            body.append(f"<pre>{html.escape(e['error'])}</pre>")
        else:
            body.append("<table><tr><th>expectation</th><th>value</th><th>threshold</th><th></th></tr>" + "".join(
                f"<tr class='{'passed' if x['passed'] else 'failed'}'><td>{x['name']}</td><td>{x['value']}</td>"
                f"<td>{html.escape(x['threshold'])}</td><td>{'ok' if x['passed'] else 'FAIL'}</td></tr>"
                for x in e.get("expectations", [])) + "</table>")
            body.append(f"<img src='{e['name']}/birdseye.png' alt='bird&apos;s-eye view of {e['name']}'>")
            body.append(f"<img src='{e['name']}/timeseries.png' alt='time series of {e['name']}'>")
            body.append(f"<details><summary>metrics</summary><pre>{html.escape(json.dumps(e['metrics'], indent=1))}"
                        "</pre></details>")
        sections.append("\n".join(body))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ProPilot scenario regression</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}} tr.failed td,tr.error td{{background:#fdd}}
tr.passed td{{background:#efe}} img{{max-width:100%;display:block;margin:1em 0}}</style></head>
<body><h1>ProPilot scenario regression</h1>
<p>{summary['passed']} of {summary['total']} scenarios passed, {summary['failed']} failed.
Mean driving score {_mean_score(summary)} (CARLA Leaderboard form: route completion &times; &prod; penalty<sup>count
</sup>, vehicle collision 0.60). Travel ratio: the stack's travel time over a SUMO-driven ego's on the same traffic.
</p>
<table><tr><th>scenario</th><th>result</th>{''.join(f'<th>{h}</th>' for _, h, _ in OVERVIEW_COLUMNS)}</tr>
{''.join(rows)}</table>
{''.join(f'<section>{s}</section>' for s in sections)}
</body></html>
"""
    (out / "report.html").write_text(page)


def _mean_score(summary: dict) -> str:
    scores = [e["metrics"]["driving_score"] for e in summary["scenarios"]
              if (e.get("metrics") or {}).get("driving_score") is not None]
    return f"{sum(scores) / len(scores):.3f}" if scores else "-"
