"""Screenshot of the driver display during an overtake proposal, for the docs.

In: the overtake scenario (sim/scenarios/overtake_and_return.yaml), driven with the live display and
manual proposals. Out: docs/images/hmi_overtake_proposal.png (or the path given), taken in headless
Debian chromium through Playwright while the proposal waits for the driver.

    .venv/bin/python tools/screenshot_hmi.py [OUT.png]
"""

from __future__ import annotations

import signal
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from propilot.hmi_web.drive_process import CHROMIUM_ARGS, display_url, start_drive

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "sim" / "scenarios" / "overtake_and_return.yaml"
DEFAULT_OUT = REPO / "docs" / "images" / "hmi_overtake_proposal.png"


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else DEFAULT_OUT
    out = Path(tempfile.mkdtemp(prefix="propilot-screenshot-"))
    process = start_drive(SCENARIO, out, duration_s=30.0)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(display_url(process, out))
            page.wait_for_selector("#proposal[data-state='PROPOSED']", state="visible", timeout=120_000)
            # a second into the proposal: the countdown has started to run down
            page.wait_for_function("parseFloat(document.querySelector('#countdown-bar').style.width) < 88",
                                   timeout=10_000)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    print(f"screenshot: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
