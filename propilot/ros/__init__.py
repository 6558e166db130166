"""ROS 2 shell: one module per node, message conversions, recording."""
