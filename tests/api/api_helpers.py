"""Helpers shared by the service's test files (imported by name: ``tests/api`` is on the
test path)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
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


def head_as_get(client: TestClient, store: Store, url: str) -> list[str]:
    """Check that HEAD ``url`` answers 200 as GET does, without a body: the same
    content type, disposition and length (the GET body's). Returns the SQL statements
    the HEAD ran, for the caller to check what it fetched."""
    got = client.get(url)
    with sql_statements(store) as seen:
        head = client.head(url)
    assert head.status_code == 200 and head.content == b"", head.text
    for h in ("content-type", "content-disposition", "content-length"):
        assert head.headers[h] == got.headers[h], (h, url)
    assert int(head.headers["content-length"]) == len(got.content)
    return seen
