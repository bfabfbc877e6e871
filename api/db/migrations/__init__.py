"""Alembic migrations of the service database (applied on start)."""
