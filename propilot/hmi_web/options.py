"""Command-line options of the display (light: no server or stack imports while the parser is built).

In: an argparse parser. Out: the parser with the display's options (`propilot drive ... --hmi`,
`propilot hmi`, `propilot study run`); the commands themselves live in session.py.
"""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class AccessError(ValueError):
    """The display was asked to serve beyond this machine without an access token."""


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"display port (default {DEFAULT_PORT}; "
                                                                       "0: any free port)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to serve on (default 127.0.0.1; any other "
                                                             "address needs --token)")
    parser.add_argument("--token", help="access token the page must present (?token=...)")


def add_drive_arguments(parser: argparse.ArgumentParser) -> None:
    """The display options of `propilot drive`."""
    parser.add_argument("--hmi", action="store_true", help="serve the driver display during the drive, paced in "
                                                           "real time; page, keyboard and wheel inputs drive too")
    add_server_arguments(parser)
    parser.add_argument("--manual", action="store_true", help="with --hmi: the person answers the proposals (the "
                                                              "scenario's virtual driver ignores them)")
    parser.add_argument("--hmi-variant", metavar="FILE", help="HMI variant YAML (sim/hmi_variants/)")
    parser.add_argument("--wheel", nargs="?", const="", metavar="MAPPING",
                        help="with --hmi: read a gamepad/wheel (SDL2), mapping YAML (default: built-in)")
    parser.add_argument("--realtime-factor", type=float, default=1.0,
                        help="with --hmi: simulated seconds per wall second (default 1)")


def configure_hmi(parser: argparse.ArgumentParser) -> None:
    """`propilot hmi`: the display for a running ROS stack."""
    add_server_arguments(parser)
    parser.add_argument("--hmi-variant", metavar="FILE", help="HMI variant whose countdown setting the page uses")
    parser.set_defaults(run=_run_hmi)


def _run_hmi(args: argparse.Namespace) -> int:
    from propilot.hmi_web.session import run_hmi

    return run_hmi(args)
