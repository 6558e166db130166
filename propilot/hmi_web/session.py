"""What `propilot drive ... --hmi` and `propilot hmi` do (their options: options.py).

In: the parsed command-line options (and, for a drive, the scenario). Out: the scenario with
the HMI variant and manual proposals applied and a running `LiveDisplay` step hook
(`prepare_drive`), or the display node serving a running ROS stack (`run_hmi`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from propilot.core.hmi.engagement import HmiSettings
from propilot.core.hmi.variants import HmiVariant, load_variant, merge_settings
from propilot.core.settings import from_mapping
from propilot.sim.scenario import Scenario


def with_variant(scenario: Scenario, variant: HmiVariant) -> Scenario:
    """The scenario run with this HMI variant (its settings on top of the scenario's)."""
    return replace(scenario, settings=merge_settings(scenario.settings, variant.node_settings()))


def show_countdown(scenario: Scenario) -> bool:
    hmi = (scenario.settings.get("hmi") or {}).get("hmi") or {}
    return from_mapping(HmiSettings, hmi, f"{scenario.path}: settings.hmi.hmi").show_countdown


def prepare_drive(scenario: Scenario, args: argparse.Namespace):
    """(scenario, step hook or None) for `propilot drive`; the display is serving when a hook is returned."""
    if args.hmi_variant:
        scenario = with_variant(scenario, load_variant(args.hmi_variant))
    if not args.hmi:
        return scenario, None
    from propilot.hmi_web.live import LiveDisplay
    from propilot.hmi_web.server import DisplayServer
    from propilot.hmi_web.wheel import DEFAULT_MAPPING, WheelInput, load_wheel_mapping

    if args.manual:
        scenario = replace(scenario, driver=replace(scenario.driver, proposals="ignore"))
    wheel = None
    if args.wheel is not None:
        wheel = WheelInput(load_wheel_mapping(args.wheel or DEFAULT_MAPPING))
        wheel = wheel if wheel.open() else None
    server = DisplayServer(args.host, args.port, args.token)
    url = server.start()
    print(f"driver display: {url}", flush=True)
    print("the drive starts when the page is open", flush=True)
    return scenario, LiveDisplay(server, show_countdown(scenario), args.realtime_factor, wheel, wait_for_page=True)


def run_hmi(args: argparse.Namespace) -> int:
    from propilot.core.settings import ConfigError
    from propilot.hmi_web.server import AccessError, DisplayServer

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        countdown = load_variant(args.hmi_variant).countdown if args.hmi_variant else True
        server = DisplayServer(args.host, args.port, args.token)
    except (ConfigError, AccessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from propilot.ros.display_node import serve_display

    return serve_display(server, countdown)
