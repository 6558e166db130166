"""Bring up the ProPilot stack on a ROS 2 install.

    ros2 launch propilot propilot.launch.py map_path:=/path/to/map.yaml
    ros2 launch propilot propilot.launch.py map_path:=... scenario:=/path/to/scenario.yaml

With `scenario` set, the embedded simulator's bridge drives the stack through it. `rig_path`
(default: the installed sim/rigs/default.yaml) is the car's sensor rig the fusion node fuses.
Each node reads its parameters from launch/params/<node>.param.yaml. Nodes that exit are
respawned; with SROS2 enabled (ROS_SECURITY_ENABLE=true, see docs/runtime.md) every node runs
under its enclave /propilot/<node>.
"""

from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from launch import LaunchDescription

RESPAWN_DELAY_S = 1.0  # a crashed node is restarted after this delay

# node name -> (executable, parameter file in launch/params/, needs the map)
NODES = {
    "lane_detection": ("propilot_lane_detection", "lane_detection.param.yaml", False),
    "localization": ("propilot_localization", "localization.param.yaml", True),
    "fusion": ("propilot_fusion", "fusion.param.yaml", True),
    "hmi": ("propilot_hmi", "hmi.param.yaml", False),
    "behaviour": ("propilot_behaviour", "behaviour.param.yaml", True),
    "control": ("propilot_control", "control.param.yaml", False),
    "recorder": ("propilot_recorder", "recorder.param.yaml", False),
    "parking": ("propilot_parking", "parking.param.yaml", True),  # remote park; fob.key_path in its params
}


def generate_launch_description() -> LaunchDescription:
    map_path = LaunchConfiguration("map_path")
    scenario = LaunchConfiguration("scenario")
    output_dir = LaunchConfiguration("output_dir")
    rig_path = LaunchConfiguration("rig_path")
    params_dir = PathJoinSubstitution([FindPackageShare("propilot"), "launch", "params"])
    simulated = PythonExpression(["'", scenario, "' != ''"])  # the simulator bridge publishes /clock
    actions = [
        DeclareLaunchArgument("map_path", description="map.yaml of the HD map"),
        DeclareLaunchArgument("scenario", default_value="", description="scenario YAML for the simulator bridge"),
        DeclareLaunchArgument("output_dir", default_value="out/launch", description="where runs are written"),
        DeclareLaunchArgument("rig_path", default_value=PathJoinSubstitution([FindPackageShare("propilot"), "rigs",
                                                                              "default.yaml"]),
                              description="sensor rig YAML (mounts, fields of view, noise)"),
    ]
    for name, (executable, params_file, needs_map) in NODES.items():
        overrides = {"map_path": map_path} if needs_map else {}
        if name == "recorder":
            overrides = {"output": PathJoinSubstitution([output_dir, "run.mcap"])}
        if name in ("fusion", "recorder", "parking"):
            overrides["rig_path"] = rig_path
        overrides["use_sim_time"] = simulated  # stamps and the supervisor's clock: simulation time
        # A node that dies is started again (only that node); the supervisor has already noticed it
        # (heartbeat) and stops the car in lane until the driver takes over (docs/runtime.md).
        actions.append(Node(package="propilot", executable=executable, name=name, output="screen",
                            respawn=True, respawn_delay=RESPAWN_DELAY_S,
                            ros_arguments=["--enclave", f"/propilot/{name}"],
                            parameters=[PathJoinSubstitution([params_dir, params_file]), overrides]))
    actions.append(Node(package="propilot", executable="propilot_sim_bridge", name="sim_bridge", output="screen",
                        ros_arguments=["--enclave", "/propilot/sim_bridge"],
                        parameters=[{"scenario": scenario, "output_dir": output_dir}],
                        condition=IfCondition(PythonExpression(["'", scenario, "' != ''"]))))
    return LaunchDescription(actions)
