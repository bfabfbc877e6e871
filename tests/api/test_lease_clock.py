"""Run leases use the database server's clock, so service instances on hosts whose
clocks differ agree on when a lease ran out (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

import api.db.store as store_module
from api.db.models import RunRow, utcnow
from api.db.store import Store, as_utc, db_now


def _run(store: Store) -> str:
    sid = store.create_scenario(name="s", source_format="json", body={"name": "s"},
                                raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    return run.id


def test_db_now_is_the_servers_utc_time(store: Store) -> None:
    """``db_now`` is an aware UTC time within a couple of seconds of this host's (the
    test database runs on this host)."""
    with store.session() as s:
        now = db_now(s)
    assert now.utcoffset() == timedelta(0)
    assert abs((now - utcnow()).total_seconds()) < 2.5


@pytest.mark.parametrize("skew_min", [-10, 10])
def test_a_skewed_instance_keeps_its_live_run(store: Store, skew_min: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Instance A, whose clock is ten minutes off, claims a run and renews its lease;
    instance B (right clock, 60 s leases) must not take the live run back. With the
    instances' own clocks, A's slow clock made the lease look ten minutes old."""
    rid = _run(store)
    real = store_module.utcnow
    monkeypatch.setattr(store_module, "utcnow", lambda: real() + timedelta(minutes=skew_min))
    assert store.claim_next(instance_id="a") is not None
    assert store.heartbeat("a", [rid]) == {rid}
    monkeypatch.setattr(store_module, "utcnow", real)
    assert store.recover_interrupted(3, instance_id="b", lease_s=60) == {}
    run = store.get_run(rid)
    assert run is not None and run.status == "running" and run.instance_id == "a"
    beat = as_utc(run.heartbeat_at)
    assert beat is not None and abs((beat - utcnow()).total_seconds()) < 2.5


def test_an_expired_lease_is_still_taken_back(store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A lease older than ``lease_s`` by the database's clock is taken back, whatever the
    clock of the instance that asks (here ten minutes fast)."""
    rid = _run(store)
    assert store.claim_next(instance_id="a") is not None
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == rid)
                  .values(heartbeat_at=db_now(s) - timedelta(seconds=120)))
    real = store_module.utcnow
    monkeypatch.setattr(store_module, "utcnow", lambda: real() - timedelta(minutes=10))
    assert store.recover_interrupted(3, instance_id="b", lease_s=60) == {rid: "queued"}
