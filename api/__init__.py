"""Wastenet HTTP service."""
