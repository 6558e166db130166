"""The `propilot` command.

    propilot drive --scenario FILE --out DIR [--mode lockstep|ros] [--sim carla --carla-host H --carla-port P]
    propilot regress FOLDER --out DIR [--jobs N] [--filter PATTERN] [--ray ADDRESS]
    propilot replay RUN.mcap --node NAME [--param GROUP.NAME=VALUE]   outputs that differ (docs/replay.md)
    propilot params [NODE]       parameter tables of the nodes (Markdown)
    propilot hmi [--port P]      driver display for a running stack; `drive ... --hmi` during a drive
    propilot study run|analyze   HMI studies (propilot/study/)
    propilot map check|route|show ...   HD map tools (propilot/map_cli.py)

Exit codes of `drive`: 0 every expectation passed, 1 one failed, 2 invalid input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from propilot.rosenv import setup_ros_environment

EXIT_PASSED, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _drive(args: argparse.Namespace) -> int:
    from propilot.core.map.hdmap import MapError
    from propilot.core.settings import ConfigError
    from propilot.hmi_web.options import AccessError
    from propilot.hmi_web.session import prepare_drive
    from propilot.sim.runner import run_scenario
    from propilot.sim.scenario import load_scenario

    hook = None
    try:
        scenario, hook = prepare_drive(load_scenario(args.scenario), args)  # --hmi: the live display
        result = run_scenario(scenario, Path(args.out), args.mode, progress=not args.quiet, hook=hook,
                              world_factory=_world_factory(args))
    except (ConfigError, MapError, AccessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        if hook is not None:
            hook.server.stop()
    _print_summary(result, Path(args.out))
    return EXIT_PASSED if result["passed"] else EXIT_FAILED


def _world_factory(args: argparse.Namespace):
    """None for the embedded world; for --sim carla a factory connected to the server (checked now)."""
    from propilot.core.settings import ConfigError

    options = {"host": args.carla_host, "port": args.carla_port, "town": args.carla_town,
               "timeout_s": args.carla_timeout_s, "tm_port": args.carla_tm_port}
    given = {name: value for name, value in options.items() if value is not None}
    if args.sim != "carla":
        if given:
            raise ConfigError("command line", f"--carla-{next(iter(given)).replace('_', '-')}", "needs --sim carla")
        return None
    from propilot.sim.carla.world import carla_settings, world_factory

    return world_factory(carla_settings(given))


def _print_summary(result: dict, out: Path) -> None:
    m = result["metrics"]
    verdict = "PASSED" if result["passed"] else "FAILED"

    def fmt(value: float | None, unit: str = "") -> str:
        return "never" if value is None else f"{value:.2f}{unit}"

    print(f"{result['scenario']} [{result['mode']}]: {verdict} in {result['wall_time_s']:.1f} s wall "
          f"for {result['sim_time_s']:.0f} s simulated")
    if "motion_without_valid_hold_s" in m:  # remote parking
        print(f"  collisions {m['collisions']}, min clearance {fmt(m['min_clearance_m'], ' m')}, "
              f"motion without valid hold {m['motion_without_valid_hold_s']:.2f} s, completed {m['completed']:.0f}")
    else:
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
    from propilot.core.settings import ConfigError

    try:
        summary = regress(folder, Path(args.out), args.jobs, args.filter, progress=not args.quiet,
                          ray_address=args.ray)
    except ConfigError as exc:  # e.g. no Ray cluster at --ray ADDRESS
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
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


def _replay(args: argparse.Namespace) -> int:
    from propilot.core.map.hdmap import MapError
    from propilot.core.settings import ConfigError
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "OFF"  # the node talks to no one: messages are handed to it
    from propilot.replay import replay

    try:
        differences = replay(Path(args.recording), args.node, args.param or [],
                             Path(args.scenario) if args.scenario else None, args.tolerance)
    except (ConfigError, MapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for difference in differences[:args.max_lines]:
        print(difference.line())
    if len(differences) > args.max_lines:
        print(f"... and {len(differences) - args.max_lines} more")
    if args.json:
        Path(args.json).write_text(json.dumps([d.as_dict() for d in differences], indent=1, default=str) + "\n")
    print(f"{args.node}: {'identical' if not differences else f'{len(differences)} differences'} "
          f"({args.recording})")
    return EXIT_PASSED if not differences else EXIT_FAILED


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


def _doctor(args: argparse.Namespace) -> int:
    from propilot.doctor import main as doctor

    if not 0.5 <= args.timeout <= 600.0:
        print(f"error: --timeout: expected 0.5-600 s, got {args.timeout:g}", file=sys.stderr)
        return EXIT_INVALID
    return doctor(args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="propilot", description="ProPilot highway route pilot.")
    commands = parser.add_subparsers(dest="command", required=True)
    drive = commands.add_parser("drive", help="run one scenario on the embedded simulator",
                                description="Run one scenario; writes DIR/result.json and DIR/run.mcap. "
                                            "Exit 0 when every expectation passed, 1 when one failed, "
                                            "2 on invalid input.")
    drive.add_argument("--scenario", required=True, help="scenario YAML file (see sim/scenarios/README.md)")
    drive.add_argument("--out", required=True, help="output folder")
    drive.add_argument("--mode", choices=("lockstep", "ros", "ros-realtime"), default="lockstep",
                       help="lockstep: the stack in this process (fast, default); ros: every node a process, "
                            "talking over DDS on this machine; ros-realtime: the same paced at real time, "
                            "the simulator never waiting for the stack (as in a car)")
    drive.add_argument("--quiet", action="store_true", help="no progress bar")
    drive.add_argument("--sim", choices=("embedded", "carla"), default="embedded",
                       help="embedded: SUMO traffic and our sensor models (default); carla: a CARLA server "
                            "(docs/carla.md)")
    drive.add_argument("--carla-host", help="CARLA server host (default localhost)")
    drive.add_argument("--carla-port", type=int, help="CARLA server port (default 2000)")
    drive.add_argument("--carla-town", help="load this CARLA town instead of the map's OpenDRIVE file")
    drive.add_argument("--carla-timeout-s", type=float, help="seconds to wait for the server (default 10)")
    drive.add_argument("--carla-tm-port", type=int, help="CARLA traffic manager port (default 8000)")
    from propilot.hmi_web.options import add_drive_arguments, configure_hmi  # the driver display's options

    add_drive_arguments(drive)
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
    regress.add_argument("--ray", metavar="ADDRESS", help="run each scenario as a task on this existing Ray "
                         "cluster (HOST:PORT of its head, or auto) instead of local processes")
    regress.set_defaults(run=_regress)
    replay_cmd = commands.add_parser(
        "replay", help="feed a node the inputs of a recorded run again, report outputs that differ",
        description="Replay the recorded inputs of one node through it (docs/replay.md). Prints every output "
                    "that differs from the recording (topic, time, field, recorded and replayed value). Exit 0 "
                    "when identical, 1 on differences, 2 on invalid input.")
    replay_cmd.add_argument("recording", help="run.mcap of a drive or regression")
    replay_cmd.add_argument("--node", required=True, help="localization, fusion, hmi, behaviour or control")
    replay_cmd.add_argument("--param", action="append", metavar="GROUP.NAME=VALUE",
                            help="change one of the node's parameters (repeatable)")
    replay_cmd.add_argument("--scenario", help="the run's scenario file, for a recording without run metadata")
    replay_cmd.add_argument("--tolerance", type=float, default=1e-9,
                            help="relative (and absolute below 1) tolerance of float fields (default 1e-9)")
    replay_cmd.add_argument("--max-lines", type=int, default=50, help="differences printed (default 50)")
    replay_cmd.add_argument("--json", help="write every difference to this JSON file")
    replay_cmd.set_defaults(run=_replay)
    params = commands.add_parser("params", help="print the nodes' parameter tables (Markdown)")
    params.add_argument("node", nargs="?", help="one node (default: all)")
    params.set_defaults(run=_params)
    doctor = commands.add_parser("doctor", help="inspect a running stack: what is missing, slow or degraded",
                                 description="Listen to the running stack of this ROS_DOMAIN_ID and report nodes, "
                                             "topic rates, RTK state, supervisor and diagnostics (docs/runtime.md). "
                                             "Exit 0 only when healthy, 1 when not.")
    doctor.add_argument("--timeout", type=float, default=3.0, help="seconds to listen (default 3)")
    doctor.set_defaults(run=_doctor)
    from propilot.map_cli import configure as configure_map  # the map subcommands live there

    configure_map(commands.add_parser("map", help="check an HD map, route on it, draw it (docs/map.md)"))
    configure_hmi(commands.add_parser("hmi", help="serve the driver display for a running ROS stack (docs/hmi.md)"))
    from propilot.study.cli import configure as configure_study

    configure_study(commands.add_parser("study", help="driving-simulator HMI studies: run, analyze (docs/hmi.md)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_ros_environment()
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
