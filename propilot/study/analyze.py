"""Study analysis: per-condition tables and plots from the trials' events.

In: a study output folder (OUT/<participant>/trials.csv and each trial's events.csv). Out, in
OUT/analysis/: conditions.csv (per condition: trials, proposals shown, approved, rejected,
expired, late responses, acceptance rate, response time mean / median / 85th percentile, warnings reached per
level, take-over time, eyes-off time), responses.csv (every response with its latency), and
acceptance_rate.png, response_times.png, expirations.png, warnings.png.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

CONDITION_FIELDS = ("condition", "participants", "trials", "proposals_shown", "approved", "rejected", "expired",
                    "late_responses", "acceptance_rate", "response_time_mean_s", "response_time_median_s",
                    "response_time_p85_s",
                    "warnings_optical", "warnings_acoustic", "warnings_direct_control", "takeovers",
                    "takeover_time_mean_s", "minimal_risk", "eyes_off_total_s")
PLOTS = ("acceptance_rate.png", "response_times.png", "expirations.png", "warnings.png")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def collect(out: Path) -> tuple[dict[str, dict], list[dict]]:
    """(per-condition figures, every response) over all participants in out."""
    stats: dict[str, dict] = defaultdict(lambda: {"participants": set(), "trials": 0, "shown": 0, "approved": 0,
                                                  "rejected": 0, "expired": 0, "late": 0, "latencies": [],
                                                  "warnings": [0, 0, 0], "takeovers": [], "minimal_risk": 0,
                                                  "eyes_off_s": 0.0})
    responses = []
    trial_files = sorted(out.glob("*/trials.csv"))
    if not trial_files:
        raise FileNotFoundError(f"{out}: no <participant>/trials.csv (run `propilot study run` first)")
    for trials in trial_files:
        for trial in _read(trials):
            s = stats[trial["condition"]]
            s["participants"].add(trial["participant"])
            s["trials"] += 1
            for e in _read(trials.parent / trial["folder"] / "events.csv"):
                kind = e["event"]
                if kind == "proposal_shown":
                    s["shown"] += 1
                elif kind == "proposal_response":
                    if e["response"].endswith("_late"):
                        s["late"] += 1  # after expiry: not an acceptance, no response time
                        continue
                    s["approved" if e["response"] in ("approve", "automatic") else "rejected"] += 1
                    s["latencies"].append(float(e["latency_s"]))
                    responses.append({"participant": trial["participant"], "condition": trial["condition"],
                                      "trial": trial["trial"], "proposal_kind": e["proposal_kind"],
                                      "response": e["response"], "latency_s": e["latency_s"]})
                elif kind == "proposal_outcome" and e["outcome"] == "expired":
                    s["expired"] += 1
                elif kind == "warning":
                    s["warnings"][int(e["warning_level"]) - 1] += 1
                elif kind == "takeover":
                    s["takeovers"].append(float(e["duration_s"]))
                elif kind == "minimal_risk":
                    s["minimal_risk"] += 1
                elif kind == "eyes_off":
                    s["eyes_off_s"] += float(e["duration_s"])
    return dict(stats), responses


def condition_rows(stats: dict[str, dict]) -> list[dict]:
    rows = []
    for name, s in sorted(stats.items()):
        lat = s["latencies"]
        rows.append({
            "condition": name, "participants": len(s["participants"]), "trials": s["trials"],
            "proposals_shown": s["shown"], "approved": s["approved"], "rejected": s["rejected"],
            "expired": s["expired"], "late_responses": s["late"],
            "acceptance_rate": round(s["approved"] / s["shown"], 3) if s["shown"] else "",
            "response_time_mean_s": round(_mean(lat), 3) if lat else "",
            "response_time_median_s": round(float(np.median(lat)), 3) if lat else "",
            "response_time_p85_s": round(float(np.percentile(lat, 85)), 3) if lat else "",
            "warnings_optical": s["warnings"][0], "warnings_acoustic": s["warnings"][1],
            "warnings_direct_control": s["warnings"][2], "takeovers": len(s["takeovers"]),
            "takeover_time_mean_s": round(_mean(s["takeovers"]), 3) if s["takeovers"] else "",
            "minimal_risk": s["minimal_risk"], "eyes_off_total_s": round(s["eyes_off_s"], 2),
        })
    return rows


def _plots(rows: list[dict], stats: dict[str, dict], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["condition"] for r in rows]
    x = np.arange(len(names))

    def bar(file: str, values: list[float], ylabel: str, title: str) -> None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.bar(x, values, color="#2f81f7")
        ax.set_xticks(x, names)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(folder / file, dpi=100)
        plt.close(fig)

    bar("acceptance_rate.png", [r["acceptance_rate"] if r["acceptance_rate"] != "" else 0.0 for r in rows],
        "approved / shown", "Acceptance rate")
    bar("expirations.png", [r["expired"] for r in rows], "proposals", "Expired proposals")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    data = [stats[n]["latencies"] or [math.nan] for n in names]
    ax.boxplot(data, tick_labels=names)
    for i, values in enumerate(data):
        ax.scatter(np.full(len(values), i + 1), values, color="#d29922", s=12, zorder=3)
    ax.set_ylabel("response time [s]")
    ax.set_title("Response time (shown -> response)")
    fig.tight_layout()
    fig.savefig(folder / "response_times.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for k, (level, colour) in enumerate((("optical", "#d29922"), ("acoustic", "#f85149"),
                                         ("direct_control", "#8b0000"))):
        ax.bar(x + (k - 1) * 0.25, [r[f"warnings_{level}"] for r in rows], 0.25, label=level, color=colour)
    ax.set_xticks(x, names)
    ax.set_ylabel("warnings reached")
    ax.set_title("Eyes-off warnings by level")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "warnings.png", dpi=100)
    plt.close(fig)


def analyze(out: Path) -> Path:
    """Write the tables and plots into out/analysis; returns that folder."""
    stats, responses = collect(out)
    folder = out / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    rows = condition_rows(stats)
    with (folder / "conditions.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CONDITION_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with (folder / "responses.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=("participant", "condition", "trial", "proposal_kind", "response",
                                               "latency_s"))
        writer.writeheader()
        writer.writerows(responses)
    _plots(rows, stats, folder)
    return folder
