"""The display node (`propilot hmi`) on real rclpy/DDS: HMI state in, the page's view out over a real
websocket, the page's approve back as a DriverInput on /hmi/driver_input; bad page input survived."""

import asyncio
import json
import threading
import time

import aiohttp
import pytest

from propilot.core.parking.types import ParkingStatus, ParkState
from propilot.core.types import HmiState, PilotState, Proposal, ProposalKind, ProposalState, Track
from propilot.hmi_web.server import DisplayServer
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.display_node import DisplayNode
from tests.node.conftest import Probe

pytestmark = pytest.mark.ros


async def _page_session(url: str, received: list, approve_uuid_seen: threading.Event):
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str("{not json")  # ignored with a log; the display goes on
        await ws.send_str(json.dumps({"type": "input", "event": "LAUNCH"}))
        async for msg in ws:
            view = json.loads(msg.data)
            received.append(view)
            proposed = [p for p in view["proposals"] if p["state"] == "PROPOSED"]
            if proposed and view["parking"]:
                await ws.send_str(json.dumps({"type": "input", "event": "APPROVE", "proposal_uuid": proposed[0]["uuid"],
                                              "source": "display"}))
                approve_uuid_seen.set()
                return


def test_display_node_shows_the_proposal_and_publishes_the_page_approval(ros):
    context, executor = ros
    server = DisplayServer("127.0.0.1", 0)
    base = server.start()
    try:
        node = DisplayNode(server, context=context)
        executor.add_node(node)
        probe = Probe(context, executor, listen=[topics.DRIVER_INPUT])
        probe.wait_for_subscribers(topics.HMI_STATE, topics.OBJECTS, topics.PARKING_STATE)
        views, sent = [], threading.Event()
        ws_url = base.replace("http", "ws") + "ws"
        page = threading.Thread(target=asyncio.run, args=(_page_session(ws_url, views, sent),))
        page.start()
        deadline = time.monotonic() + 15.0
        proposal = Proposal("p-42", ProposalKind.OVERTAKE, ProposalState.PROPOSED, 1, 2001, "slower vehicle ahead",
                            True, 3.0, 13.0)
        probe.publish(topics.OBJECTS, conv.tracks_to_msg(4.0, (Track(7, 50.0, 0.0, 20.0, 0.0, relative_lane=0,
                                                                       gap_m=45.0, relative_speed_mps=-6.0),)))
        probe.publish(topics.PARKING_STATE, conv.parking_status_to_msg(
            ParkingStatus(4.0, ParkState.BLOCKED, "obstacle in the path", 3.2, 0.4, 0.0, ("replayed",))))
        while not sent.is_set():
            assert time.monotonic() < deadline, "the page never saw the proposal"
            probe.publish(topics.HMI_STATE, conv.hmi_to_msg(HmiState(4.0, PilotState.ENGAGED_HANDS_OFF, "Overtake?",
                                                                      "proposal", proposals=(proposal,))))
            executor.spin_once(timeout_sec=0.05)
        page.join(timeout=10.0)
        inputs = probe.spin_until(topics.DRIVER_INPUT)
    finally:
        server.stop()
    got = conv.driver_input_from_msg(inputs[0])
    assert (got.event.name, got.proposal_uuid, got.source, got.t_s) == ("APPROVE", "p-42", "display", 4.0)
    assert len(inputs) == 1  # the malformed and unknown inputs were dropped
    shown = views[-1]
    assert shown["state"] == "ENGAGED_HANDS_OFF" and shown["lead"]["gap_m"] == 45.0
    assert shown["proposals"][0]["time_left_s"] == 9.0
    assert shown["parking"] == {"state": "BLOCKED", "reason": "obstacle in the path", "remaining_m": 3.2,
                                "min_clearance_m": 0.4, "speed_mps": 0.0, "fob_rejections": ["replayed"]}
