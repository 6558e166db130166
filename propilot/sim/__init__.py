"""Embedded simulator: SUMO traffic, ego dynamics, sensor models, scenarios, metrics."""
