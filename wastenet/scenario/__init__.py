"""Scenario schema, builder (network) and helpers."""

from wastenet.scenario.limits import limits

__all__ = ["limits"]
