"""The driver display in headless chromium against a real drive (overtake scenario, manual proposals).

The page loads, shows the overtake proposal the behaviour planner makes, plays its sound (WebAudio
oscillators started, seen through a hook on AudioContext), and clicking approve sends the driver
input: the proposal goes to EXECUTING on the page, and run.mcap has the display's APPROVE input.
"""

from __future__ import annotations

import signal

import pytest

from propilot.core.types import DriverEvent
from propilot.hmi_web.drive_process import display_url, start_drive
from tests.conftest import REPO

OVERTAKE = REPO / "sim" / "scenarios" / "overtake_and_return.yaml"
DRIVE_S = 30.0  # the overtake is proposed at about 5.5 s; the test stops the drive once it executes

# Counts the oscillators the page starts: the sound is synthesised, so this is where it is heard.
AUDIO_HOOK = """
window.__oscillatorsStarted = 0;
const originalCreate = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const osc = originalCreate.call(this);
  const start = osc.start.bind(osc);
  osc.start = (...args) => { window.__oscillatorsStarted += 1; return start(...args); };
  return osc;
};
"""

def _recorded_inputs(mcap_path):
    from mcap_ros2.reader import read_ros2_messages

    return [m.ros_msg for m in read_ros2_messages(str(mcap_path), topics=["/hmi/driver_input"])]


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    """The drive starts first (it waits for the page), so it and the browser start up side by side."""
    out = tmp_path_factory.mktemp("drive")
    process = start_drive(OVERTAKE, out, duration_s=DRIVE_S)
    yield process, out
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.browser
def test_proposal_shown_sounded_and_approved_from_the_page(drive, browser):
    process, out = drive
    url = display_url(process, out)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.add_init_script(AUDIO_HOOK)
        page.goto(url)
        page.wait_for_selector("#conn:text('live')", timeout=30_000)
        proposal = page.wait_for_selector("#proposal[data-state='PROPOSED']", state="visible", timeout=60_000)
        assert "Overtake" in page.inner_text("#proposal-title")
        assert page.is_visible("#countdown")  # the default variant shows the countdown
        page.wait_for_function("window.propilotSoundLog.some(s => s.name === 'proposal')", timeout=10_000)
        assert page.evaluate("window.__oscillatorsStarted") > 0
        uuid = proposal.get_attribute("data-uuid")
        page.click("#approve")
        page.wait_for_selector(f"#proposal[data-state='EXECUTING'][data-uuid='{uuid}']", timeout=20_000)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the drive stops and closes its recording
        process.wait(timeout=60)
    approvals = [m for m in _recorded_inputs(out / "run.mcap") if m.event == int(DriverEvent.APPROVE)]
    assert [(m.source, m.proposal_uuid) for m in approvals] == [("display", uuid)]


def test_display_refuses_a_non_loopback_address_without_token():
    from propilot.hmi_web.server import AccessError, DisplayServer

    with pytest.raises(AccessError, match="needs --token"):
        DisplayServer("0.0.0.0", 0)


def test_with_a_token_the_page_and_websocket_require_it():
    import urllib.error
    import urllib.request

    from propilot.hmi_web.server import DisplayServer

    server = DisplayServer("127.0.0.1", 0, token="s3cret")
    url = server.start()
    try:
        assert url.endswith("/?token=s3cret")
        assert "ProPilot driver display" in urllib.request.urlopen(url, timeout=10).read().decode()
        for bare in (url.split("?")[0], url.split("?")[0] + "ws", url.replace("s3cret", "guess")):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(bare, timeout=10)
            assert error.value.code == 403
    finally:
        server.stop()
