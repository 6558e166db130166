"""Behaviour planning: what the car should do this cycle."""
