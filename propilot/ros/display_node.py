"""Display node: the web driver display for a running stack (`propilot hmi`).

Subscribes /hmi/state (HmiState), /perception/objects (TrackedObjectArray), /planning/route
(Route), /localization/lane (LaneLocalization) and the remote-park state (ParkingState); on each
HMI state it pushes one view to the page (propilot/hmi_web). Publishes the page's inputs
(buttons, keyboard) on /hmi/driver_input (DriverInput), stamped with the last HMI state's time
so the HMI node takes them in its next cycle.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot_msgs.msg import (  # noqa: E402
    DriverInput,
    HmiState,
    LaneLocalization,
    ParkingState,
    Route,
    TrackedObjectArray,
)
from rclpy.node import Node  # noqa: E402

from propilot.hmi_web.server import DisplayServer  # noqa: E402
from propilot.hmi_web.view import display_view  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    driver_input_to_msg,
    hmi_from_msg,
    lane_from_msg,
    parking_status_from_msg,
    route_from_msg,
    tracks_from_msg,
)
from propilot.ros.node_common import guarded, run_node  # noqa: E402

INPUT_PERIOD_S = 0.05  # page inputs are forwarded at the control rate


class DisplayNode(Node):
    def __init__(self, server: DisplayServer, show_countdown: bool = True, **kwargs):
        super().__init__("hmi_display", **kwargs)
        self.server = server
        self.show_countdown = show_countdown
        self.tracks = ()
        self.route = None
        self.lane = None
        self.parking = None
        self.last_t_s = 0.0
        self.input_pub = self.create_publisher(DriverInput, topics.DRIVER_INPUT, topics.QOS)
        self.create_subscription(TrackedObjectArray, topics.OBJECTS, guarded(self, self.on_objects), topics.QOS)
        self.create_subscription(Route, topics.ROUTE, guarded(self, self.on_route), topics.QOS)
        self.create_subscription(LaneLocalization, topics.LANE, guarded(self, self.on_lane), topics.QOS)
        self.create_subscription(ParkingState, topics.PARKING_STATE, guarded(self, self.on_parking), topics.QOS)
        self.create_subscription(HmiState, topics.HMI_STATE, guarded(self, self.on_hmi), topics.QOS)
        self.create_timer(INPUT_PERIOD_S, guarded(self, self.forward_inputs))

    def on_objects(self, msg: TrackedObjectArray) -> None:
        self.tracks = tracks_from_msg(msg)

    def on_route(self, msg: Route) -> None:
        self.route = route_from_msg(msg)

    def on_lane(self, msg: LaneLocalization) -> None:
        self.lane = lane_from_msg(msg)

    def on_parking(self, msg: ParkingState) -> None:
        self.parking = parking_status_from_msg(msg)

    def on_hmi(self, msg: HmiState) -> None:
        hmi = hmi_from_msg(msg)
        self.last_t_s = max(self.last_t_s, hmi.t_s)
        self.server.publish(display_view(hmi, self.tracks, self.route, self.lane, self.show_countdown,
                                         self.parking))

    def forward_inputs(self) -> None:
        for message in self.server.take_messages():
            if message.kind != "input":
                continue  # "continue" belongs to study instruction screens, not to the stack
            event = message.driver_input
            self.input_pub.publish(driver_input_to_msg(type(event)(self.last_t_s, event.event, event.proposal_uuid,
                                                                   event.source)))
            self.get_logger().info(f"driver input {event.event.name} from {event.source}")

    def close(self) -> None:
        self.server.stop()


def serve_display(server: DisplayServer, show_countdown: bool = True, args: list[str] | None = None) -> int:
    """Serve the display until Ctrl-C (the `propilot hmi` command)."""

    def make() -> DisplayNode:
        url = server.start()
        print(f"driver display: {url}", flush=True)
        return DisplayNode(server, show_countdown)

    return run_node(make, args)
