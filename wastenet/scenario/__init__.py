"""Scenario schema, builder (network) and helpers."""
