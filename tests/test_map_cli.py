"""`propilot map check|route|show` on the real maps and on malformed ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from propilot.cli import main
from propilot.map_cli import ROUTE_COLOUR
from tests.conftest import REPO
from tests.unit.test_hdmap import MALFORMED

PROPILOT = Path(sys.executable).parent / "propilot"
HIGHWAY = REPO / "maps" / "highway" / "map.yaml"


def test_check_a_valid_map_exits_0_with_a_summary(capsys):
    assert main(["map", "check", str(HIGHWAY)]) == 0
    out = capsys.readouterr().out
    assert "valid: map highway, 86 lanelets" in out and "traffic keeps right (overtaking on the left)" in out
    assert main(["map", "check", str(HIGHWAY), "--traffic-side", "left"]) == 0
    assert "traffic keeps left (overtaking on the right)" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["duplicate lanelet", "missing tags", "no projection origin"])
def test_check_a_malformed_map_exits_1_listing_every_problem(tmp_path, capsys, kind):
    build, expected, _ = MALFORMED[kind]
    assert main(["map", "check", str(build(tmp_path))]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    for element, reason in expected:
        assert any(f": {element}: " in line and reason in line for line in lines), captured.out
    assert f"{len(lines)} problem(s): map refused" in captured.err


def test_the_installed_command_checks_and_exits_with_the_right_code(tmp_path):
    ok = subprocess.run([str(PROPILOT), "map", "check", str(HIGHWAY)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    broken = MALFORMED["lanelet connected to nothing"][0](tmp_path)
    bad = subprocess.run([str(PROPILOT), "map", "check", str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "9000020: lanelet connects to nothing" in bad.stdout


def test_route_json_has_lanelets_lane_changes_with_windows_and_reasons_and_length(capsys):
    assert main(["map", "route", str(HIGHWAY), "--from", "Main line start", "--to", "Zushi IC", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["map"] == "highway" and data["from"] == "Main line start"
    assert len(data["lanelet_ids"]) >= 5 and 2700.0 < data["length_m"] < 2900.0
    assert [c["reason"] for c in data["lane_changes"]] == ["exit"] * 3
    for change in data["lane_changes"]:
        assert 0.0 <= change["earliest_m"] <= change["latest_m"] <= data["length_m"] and change["feasible"]
    assert {e["kind"] for e in data["events"]} >= {"exit", "route_drive_end"}


def test_route_by_lat_lon_and_plain_text(capsys):
    assert main(["map", "route", str(HIGHWAY), "--from", "35.3,139.5", "--to", "Fujisawa IC"]) == 0
    out = capsys.readouterr().out
    assert "highway: 35.3,139.5 -> Fujisawa IC:" in out and "change right" in out and "for exit" in out


def test_route_that_cannot_be_made_exits_1_saying_why(capsys):
    assert main(["map", "route", str(HIGHWAY), "--from", "Yokohama line end", "--to", "Hayama IC"]) == 1
    assert "cannot be reached" in capsys.readouterr().err
    assert main(["map", "route", str(HIGHWAY), "--from", "Atlantis", "--to", "Hayama IC"]) == 1
    assert "no point of interest named 'Atlantis'" in capsys.readouterr().err


def test_show_draws_the_lanes_and_the_route(tmp_path):
    plain, routed = tmp_path / "map.png", tmp_path / "route.png"
    window = ["2300", "600", "2900", "1000"]  # around Zushi IC
    assert main(["map", "show", str(HIGHWAY), "--window", *window, "--out", str(plain)]) == 0
    assert main(["map", "show", str(HIGHWAY), "--route", "Main line start", "Zushi IC", "--out", str(routed)]) == 0
    orange = np.array(matplotlib.colors.to_rgb(ROUTE_COLOUR))
    for png, has_route in ((plain, False), (routed, True)):
        image = matplotlib.image.imread(png)[..., :3]
        assert image.shape[0] > 500 and image.shape[1] > 1000
        dark = (image.sum(axis=2) < 0.6).mean()  # lane lines and lanelet ids
        route_pixels = (np.abs(image - orange).max(axis=2) < 0.12).mean()
        assert dark > 0.001
        # The route: a few hundred thousand orange pixels on a 10 km map; none without one.
        assert bool(route_pixels > 1e-4) == has_route and (has_route or route_pixels < 1e-5), (png, route_pixels)
