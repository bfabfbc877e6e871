"""Helpers shared by the service's test files (imported by name: ``tests/api`` is on the
test path)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from api.db.store import Store


@contextmanager
def sql_statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements run on the store's engine inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
