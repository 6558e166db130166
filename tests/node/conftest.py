"""What the node tests share: a private rclpy context and executor, a probe node, node start-up."""

import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter

from propilot.ros import topics


@pytest.fixture
def ros():
    """(context, executor) of a fresh rclpy context; every node in it is destroyed afterwards."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    yield context, executor
    nodes = executor.get_nodes()
    executor.shutdown()
    for node in nodes:  # gone from the graph before the next test: its transient-local samples with it
        node.destroy_node()
    rclpy.shutdown(context=context)


class Probe:
    """A test node that publishes stack inputs and collects what comes back."""

    def __init__(self, context, executor, listen: list[str]):
        self.node = Node("probe", context=context)
        self.executor = executor
        executor.add_node(self.node)
        self.received: dict[str, list] = {name: [] for name in listen}
        for name in listen:
            self.node.create_subscription(topics.TYPES[name], name, self.received[name].append, topics.QOS)
        self.pubs = {}

    def publisher(self, name):
        if name not in self.pubs:
            qos = topics.IMAGE_QOS if name == topics.CAMERA_FRONT else topics.QOS
            self.pubs[name] = self.node.create_publisher(topics.TYPES[name], name, qos)
        return self.pubs[name]

    def publish(self, name, msg):
        self.publisher(name).publish(msg)

    def wait_for_subscribers(self, *names, timeout=10.0):
        deadline = time.monotonic() + timeout
        while any(self.publisher(n).get_subscription_count() == 0 for n in names):
            assert time.monotonic() < deadline, "node did not subscribe"
            self.executor.spin_once(timeout_sec=0.05)

    def spin_until(self, name, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.received[name]) < count:
            assert time.monotonic() < deadline, f"nothing on {name}"
            self.executor.spin_once(timeout_sec=0.05)
        return self.received[name]


def add_node(ros, cls, **params):
    """Start a node of the stack in the test's context with parameter overrides."""
    context, executor = ros
    node = cls(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    executor.add_node(node)
    return node
