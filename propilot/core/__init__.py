"""Algorithms of the stack as plain Python: no rclpy, no simulator imports."""
