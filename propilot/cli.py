"""The `propilot` command.

    propilot drive --scenario FILE --out DIR [--mode lockstep|ros]
    propilot regress FOLDER --out DIR [--jobs N] [--filter PATTERN]
    propilot params [NODE]       parameter tables of the nodes (Markdown)
    propilot map check|route|show ...   HD map tools (propilot/map_cli.py)

Exit codes of `drive`: 0 every expectation passed, 1 one failed, 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from propilot.rosenv import setup_ros_environment

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _drive(args: argparse.Namespace) -> int:
    from propilot.core.map.hdmap import MapError
    from propilot.core.settings import ConfigError
    from propilot.sim.runner import run_scenario
    from propilot.sim.scenario import load_scenario

    try:
        scenario = load_scenario(args.scenario)
        result = run_scenario(scenario, Path(args.out), args.mode, progress=not args.quiet)
    except (ConfigError, MapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    _print_summary(result, Path(args.out))
    return EXIT_PASSED if result["passed"] else EXIT_FAILED


def _print_summary(result: dict, out: Path) -> None:
    m = result["metrics"]
    verdict = "PASSED" if result["passed"] else "FAILED"

    def fmt(value: float | None, unit: str = "") -> str:
        return "never" if value is None else f"{value:.2f}{unit}"

    print(f"{result['scenario']} [{result['mode']}]: {verdict} in {result['wall_time_s']:.1f} s wall "
          f"for {result['sim_time_s']:.0f} s simulated")
    print(f"  collisions {m['collisions']}, min TTC {fmt(m['min_ttc_s'], ' s')}, "
          f"min headway {fmt(m['min_time_headway_s'], ' s')}, route completion {m['route_completion']:.0%}, "
          f"engaged {m['engaged_share']:.0%}")
    for e in result["expectations"]:
        mark = "ok  " if e["passed"] else "FAIL"
        print(f"  {mark} {e['name']} = {fmt(e['value'])} (expected {e['threshold']})")
    print(f"  output: {out.resolve()} (result.json, run.mcap)")


def _regress(args: argparse.Namespace) -> int:
    from propilot.sim.regress import regress

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"error: {folder}: not a folder of scenarios", file=sys.stderr)
        return EXIT_INVALID
    summary = regress(folder, Path(args.out), args.jobs, args.filter, progress=not args.quiet)
    for entry in summary["scenarios"]:
        verdict = "error " if "error" in entry else ("ok    " if entry["passed"] else "FAILED")
        detail = entry.get("error") or "; ".join(
            f"{e['name']} = {e['value']} (expected {e['threshold']})" for e in entry.get("expectations", [])
            if not e["passed"])
        print(f"  {verdict} {entry['name']}" + (f": {detail}" if detail else ""))
    report = Path(args.out).resolve() / "report.html"
    print(f"{summary['passed']}/{summary['total']} scenarios passed; report: {report}")
    if any("error" in e for e in summary["scenarios"]):
        return EXIT_INVALID
    return EXIT_PASSED if summary["failed"] == 0 else EXIT_FAILED


def _params(args: argparse.Namespace) -> int:
    from propilot.core.settings import markdown_table
    from propilot.stack import NODE_SETTINGS

    nodes = [args.node] if args.node else list(NODE_SETTINGS)
    for node in nodes:
        if node not in NODE_SETTINGS:
            print(f"error: unknown node {node!r} (known: {', '.join(NODE_SETTINGS)})", file=sys.stderr)
            return EXIT_INVALID
        for group, cls in NODE_SETTINGS[node].items():
            print(f"### {node}: `{group}.*`\n\n{markdown_table(cls)}\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="propilot", description="ProPilot highway route pilot.")
    commands = parser.add_subparsers(dest="command", required=True)
    drive = commands.add_parser("drive", help="run one scenario on the embedded simulator",
                                description="Run one scenario; writes DIR/result.json and DIR/run.mcap. "
                                            "Exit 0 when every expectation passed, 1 when one failed, "
                                            "2 on invalid input.")
    drive.add_argument("--scenario", required=True, help="scenario YAML file (see sim/scenarios/README.md)")
    drive.add_argument("--out", required=True, help="output folder")
    drive.add_argument("--mode", choices=("lockstep", "ros"), default="lockstep",
                       help="lockstep: the stack in this process (fast, default); ros: every node a process, "
                            "talking over DDS on this machine")
    drive.add_argument("--quiet", action="store_true", help="no progress bar")
    drive.set_defaults(run=_drive)
    regress = commands.add_parser("regress", help="run a folder of scenarios in parallel, with a report",
                                  description="Run every scenario of FOLDER (lockstep mode, parallel processes). "
                                              "Writes OUT/summary.json, OUT/junit.xml, OUT/report.html and a run "
                                              "folder per scenario. Exit 0 when all passed, 1 when one failed, "
                                              "2 when a scenario file is invalid.")
    regress.add_argument("folder", help="folder of scenario YAML files, e.g. sim/scenarios")
    regress.add_argument("--out", required=True, help="output folder")
    regress.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    regress.add_argument("--filter", help="only scenarios whose name matches this glob or contains it")
    regress.add_argument("--quiet", action="store_true", help="no progress bar")
    regress.set_defaults(run=_regress)
    params = commands.add_parser("params", help="print the nodes' parameter tables (Markdown)")
    params.add_argument("node", nargs="?", help="one node (default: all)")
    params.set_defaults(run=_params)
    from propilot.map_cli import configure as configure_map  # the map subcommands live there

    configure_map(commands.add_parser("map", help="check an HD map, route on it, draw it (docs/map.md)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_ros_environment()
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
