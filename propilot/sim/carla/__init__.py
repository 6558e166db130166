"""CARLA backend of the simulator: `propilot drive --sim carla` (docs/carla.md).

convert.py: frames, rig -> blueprints, sensor data, command -> control (no server needed);
sensors.py: the rig spawned on the ego and its data each tick; world.py: the `SimWorld` on a server.
"""
