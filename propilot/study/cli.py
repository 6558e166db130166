"""`propilot study run STUDY.yaml --participant P07 --out DIR [--scripted]` and `propilot study analyze DIR`.

In: the command-line options. Out: the study's trial folders or its analysis; exit 0 on success,
2 on an invalid study file or folder (the message names the file, the field and the reason).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID = 0, 2


def _run(args: argparse.Namespace) -> int:
    from propilot.core.map.hdmap import MapError
    from propilot.core.settings import ConfigError
    from propilot.hmi_web.server import AccessError, DisplayServer
    from propilot.study.run import run_study
    from propilot.study.spec import load_study

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    display = None
    try:
        study = load_study(args.study)
        if not args.scripted or args.hmi:
            from propilot.hmi_web.live import LiveDisplay

            server = DisplayServer(args.host, args.port, args.token)
            print(f"driver display: {server.start()}", flush=True)
            display = LiveDisplay(server, realtime_factor=0.0 if args.scripted else 1.0)
        trials = run_study(study, args.participant, Path(args.out), args.scripted, display, progress=not args.quiet)
    except (ConfigError, MapError, AccessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        if display is not None:
            display.server.stop()
    print(f"{study.name}: {len(trials)} trials of {args.participant} in {Path(args.out).resolve() / args.participant}")
    return EXIT_OK


def _analyze(args: argparse.Namespace) -> int:
    from propilot.study.analyze import analyze

    try:
        folder = analyze(Path(args.folder))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"tables and plots: {folder.resolve()}")
    return EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    from propilot.hmi_web.options import add_server_arguments

    commands = parser.add_subparsers(dest="study_command", required=True)
    run = commands.add_parser("run", help="run a study for one participant",
                              description="Drive the study's conditions in Latin-square order; per trial "
                                          "DIR/<participant>/<nn>_<condition>_<scenario>/ with run.mcap, "
                                          "result.json and events.csv.")
    run.add_argument("study", help="study YAML (sim/studies/)")
    run.add_argument("--participant", required=True, help="participant id, e.g. P07 (its number picks the order)")
    run.add_argument("--out", required=True, help="study output folder")
    run.add_argument("--scripted", action="store_true", help="the scripted participant (the virtual driver with "
                                                             "each condition's behaviour), as fast as it runs")
    run.add_argument("--hmi", action="store_true", help="with --scripted: still serve the display")
    add_server_arguments(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(run=_run)
    analyze = commands.add_parser("analyze", help="tables and plots per condition",
                                  description="Write DIR/analysis/conditions.csv, responses.csv and PNG plots.")
    analyze.add_argument("folder", help="study output folder (the --out of study run)")
    analyze.set_defaults(run=_analyze)
