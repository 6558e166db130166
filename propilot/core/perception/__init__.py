"""Camera perception: lane lines found by OpenCV in camera images, in base_link."""
