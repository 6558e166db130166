"""Driver-facing logic: route-pilot engagement and what the display shows."""
