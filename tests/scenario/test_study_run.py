"""A study end to end: two conditions, a scripted participant, Latin-square order, analysis tables and plots."""

import csv
import json

from propilot.cli import main
from tests.conftest import REPO

TRIAL_S = 12.0  # the overtake is proposed at about 5.5 s; 12 s covers an approval and a 5 s expiry


def _rows(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_scripted_participant_runs_two_conditions_and_the_analysis_tells_them_apart(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(f"""
name: test_study
scenarios:
  - {{path: {REPO / 'sim/scenarios/overtake_and_return.yaml'}, duration_s: {TRIAL_S}}}
conditions:
  - name: baseline
    variant: {REPO / 'sim/hmi_variants/baseline.yaml'}
    instructions: Approve the proposals you agree with.
    participant: {{proposals: approve, reaction_s: 1.5}}
  - name: silent_short
    variant: {REPO / 'sim/hmi_variants/silent_short.yaml'}
    participant: {{proposals: approve, reaction_s: 6.0}}
""")
    out = tmp_path / "out"
    assert main(["study", "run", str(study), "--participant", "P02", "--out", str(out), "--scripted", "--quiet"]) == 0
    trials = _rows(out / "P02" / "trials.csv")
    assert [t["condition"] for t in trials] == ["silent_short", "baseline"]  # P02: the second Latin-square row
    for trial in trials:
        folder = out / "P02" / trial["folder"]
        assert (folder / "run.mcap").stat().st_size > 0 and (folder / "result.json").is_file()
        settings = json.loads((folder / "trial.json").read_text())["variant_settings"]
        assert settings["behaviour"]["planner"]["proposal_timeout_s"] == (5.0 if trial["condition"] == "silent_short"
                                                                          else 10.0)
    baseline = _rows(out / "P02" / trials[1]["folder"] / "events.csv")
    response = next(e for e in baseline if e["event"] == "proposal_response")
    shown = next(e for e in baseline if e["event"] == "proposal_shown")
    assert response["response"] == "approve" and 1.5 <= float(response["latency_s"]) <= 1.7
    assert abs(float(response["t_s"]) - float(shown["t_s"]) - float(response["latency_s"])) < 1e-6
    assert "executing" in [e["outcome"] for e in baseline]

    assert main(["study", "analyze", str(out)]) == 0
    table = {r["condition"]: r for r in _rows(out / "analysis" / "conditions.csv")}
    assert table["baseline"]["acceptance_rate"] == "1.0" and table["baseline"]["expired"] == "0"
    assert table["silent_short"]["expired"] == "1" and table["silent_short"]["acceptance_rate"] == "0.0"
    assert table["silent_short"]["late_responses"] == "1"
    for plot in ("acceptance_rate.png", "response_times.png", "expirations.png", "warnings.png"):
        assert (out / "analysis" / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
