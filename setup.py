"""ament_python package `propilot`; console scripts are the nodes and the CLI."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "propilot"
NODES = {
    "sim_bridge": "propilot.ros.sim_bridge_node",
    "lane_detection": "propilot.ros.lane_detection_node",
    "localization": "propilot.ros.localization_node",
    "fusion": "propilot.ros.fusion_node",
    "behaviour": "propilot.ros.behaviour_node",
    "control": "propilot.ros.control_node",
    "hmi": "propilot.ros.hmi_node",
    "recorder": "propilot.ros.recorder_node",
    "parking": "propilot.ros.parking_node",
}

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=["propilot", "propilot.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/launch/params", glob("launch/params/*.yaml")),
        (f"share/{PACKAGE}/rigs", glob("sim/rigs/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ProPilot maintainers",
    maintainer_email="maintainers@propilot.dev",
    description="Open highway route pilot on ROS 2",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [f"propilot_{name} = {module}:main" for name, module in NODES.items()]
        + ["propilot = propilot.cli:main"],
    },
)
