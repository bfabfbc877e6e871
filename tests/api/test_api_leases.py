"""Several service instances on one database: run leases, at the store level and with live
apps and real worker processes, each on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.db.models import RunRow, utcnow
from api.db.session import make_engine, migrate
from api.db.store import Store, as_utc
from api.settings import Settings
from tests.api.conftest import queue_sleep, wait_for


def _run(store: Store, seconds: float | None = None) -> str:
    sid = store.create_scenario(name="s", source_format="json", body={"name": "s"},
                                raw_text="{}", owner_key_id=None).id
    run, _ = store.create_run(kind="sleep", scenario_id=sid,
                              params={} if seconds is None else {"seconds": seconds})
    return run.id


def _age(store: Store, run_id: str, seconds: float) -> None:
    """Pretend the run's lease was last renewed ``seconds`` ago."""
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == run_id)
                  .values(heartbeat_at=utcnow() - timedelta(seconds=seconds)))


def test_claim_records_the_instance_and_a_fresh_lease(store: Store) -> None:
    """A claim writes the claiming instance and the lease time (now)."""
    rid = _run(store)
    before = utcnow()
    run = store.claim_next(pid=5, instance_id="a")
    assert run is not None and run.id == rid and run.instance_id == "a"
    beat = as_utc(run.heartbeat_at)
    assert beat is not None and before - timedelta(seconds=1) <= beat <= utcnow()


def test_heartbeat_renews_only_the_callers_running_runs(store: Store) -> None:
    """Another instance's renewal changes nothing; the owner's moves the lease on."""
    rid = _run(store)
    store.claim_next(instance_id="a")
    _age(store, rid, 100)
    assert store.heartbeat("b", [rid]) == set()
    old = as_utc(store.get_run(rid).heartbeat_at)  # type: ignore[union-attr]
    assert old is not None and old < utcnow() - timedelta(seconds=90)
    assert store.heartbeat("a", [rid, "gone"]) == {rid}
    new = as_utc(store.get_run(rid).heartbeat_at)  # type: ignore[union-attr]
    assert new is not None and new > utcnow() - timedelta(seconds=10)
    assert store.heartbeat("a", []) == set()


@pytest.mark.parametrize(("age_s", "caller", "taken"), [
    (5.0, "b", False),     # a live lease of another instance is left alone
    (120.0, "b", True),    # a lease that ran out is taken back
    (5.0, "a", True),      # the owner starting again under its id takes it back at once
    (120.0, "a", True),
])
def test_recover_with_leases(store: Store, age_s: float, caller: str, taken: bool) -> None:
    """With leases, start-up recovery takes back only runs whose lease ran out, and every
    run of the caller's own id; a taken run is re-queued with a reason that says why."""
    rid = _run(store)
    store.claim_next(instance_id="a")
    _age(store, rid, age_s)
    got = store.recover_interrupted(2, instance_id=caller, lease_s=60.0)
    run = store.get_run(rid)
    assert run is not None
    if taken:
        assert got == {rid: "queued"} and run.status == "queued" and run.instance_id is None
        why = ("service stopped" if caller == "a"
               else "instance 'a' stopped renewing its lease")
        assert run.last_error is not None and why in run.last_error, run.last_error
    else:
        assert got == {} and run.status == "running" and run.instance_id == "a"


def test_runs_claimed_before_leases_are_taken_back(store: Store) -> None:
    """A run left running by a service from before leases (no instance, no lease time)
    is taken back by any instance, with the plain reason."""
    rid = _run(store)
    store.claim_next()
    with store.session() as s, s.begin():  # what migration 0004 leaves on such a run
        s.execute(update(RunRow).where(RunRow.id == rid).values(heartbeat_at=None))
    assert store.recover_interrupted(2, instance_id="b", lease_s=60.0) == {rid: "queued"}
    run = store.get_run(rid)
    assert run is not None and run.last_error is not None
    assert run.last_error.startswith("the service stopped while this run was running")


def test_recover_without_leases_takes_every_running_run(store: Store) -> None:
    """Without ``lease_s`` (one instance per database) every running run is taken back,
    whoever claimed it and however fresh its lease."""
    rid = _run(store)
    store.claim_next(instance_id="a")
    assert store.recover_interrupted(2) == {rid: "queued"}


def test_an_instance_that_lost_its_run_cannot_touch_it(store: Store) -> None:
    """Instance a stalls, b takes the run back and claims it: a's late progress, result,
    failure, worker death and shutdown re-queue all change nothing; b finishes it."""
    rid = _run(store)
    store.claim_next(instance_id="a")
    _age(store, rid, 120)
    assert store.recover_interrupted(2, instance_id="b", lease_s=60.0) == {rid: "queued"}
    again = store.claim_next(instance_id="b")
    assert again is not None and again.id == rid and again.attempts == 2
    store.update_progress(rid, {"fraction": 0.9}, "a")
    assert not store.finish_siting(rid, {"summary": {"x": 1}}, 1.0, "a")
    assert store.finish_route_plan(rid, {"plan": {}}, 1.0, "a") is None
    assert not store.finish_other(rid, "failed", "late", 1.0, "a")
    assert store.worker_died(rid, "late death", 2, "a") == "taken over"
    store.requeue_unfinished([rid], "a")
    run = store.get_run(rid)
    assert run is not None and run.status == "running" and run.instance_id == "b"
    assert run.progress == {} and store.get_result(rid) is None
    store.update_progress(rid, {"fraction": 0.5}, "b")
    assert store.get_run(rid).progress == {"fraction": 0.5}  # type: ignore[union-attr]
    assert store.finish_other(rid, "succeeded", None, 2.0, "b")
    assert store.get_run(rid).status == "succeeded"  # type: ignore[union-attr]


def test_a_second_instance_leaves_the_firsts_runs_alone(
        settings_factory: Callable[..., Settings], db_url: str) -> None:
    """Two live apps on one database (SQLite, PostgreSQL): starting b while a runs a job
    neither re-queues nor steals it (a finishes it with one attempt), and b serves the
    next run."""
    app_a = create_app(settings_factory(start_workers=True, instance_id="a", run_lease_s=4.0,
                                        database_url=db_url))
    app_b = create_app(settings_factory(start_workers=True, instance_id="b", run_lease_s=4.0,
                                        database_url=db_url))
    with TestClient(app_a):
        first = queue_sleep(app_a, 6.0)
        wait_for(lambda: app_a.state.jobs.worker_pids().get(first), 60, what="a to start")
        with TestClient(app_b):
            wait_for(lambda: app_b.state.jobs.alive(), 60, what="b to start")
            second = queue_sleep(app_b, 0.2)
            done = wait_for(lambda: (r := app_b.state.store.get_run(second)).status
                            == "succeeded" and r, 60, what="b's run")
            assert done.instance_id == "b"
            ran = wait_for(lambda: (r := app_a.state.store.get_run(first)).status
                           == "succeeded" and r, 60, what="a's run")
            assert ran.instance_id == "a" and ran.attempts == 1 and ran.last_error is None


def test_a_live_instance_takes_back_a_dead_instances_run(
        settings_factory: Callable[..., Settings], db_url: str) -> None:
    """A run claimed by an instance that died (its lease is never renewed) is taken back
    by a live instance once the lease runs out, and then solved there (SQLite,
    PostgreSQL)."""
    settings = settings_factory(start_workers=True, instance_id="live", run_lease_s=2.0,
                                database_url=db_url)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    rid = _run(Store(engine), 0.2)  # claimed by the ghost before the live app starts
    ghost = Store(engine).claim_next(instance_id="ghost")
    engine.dispose()
    assert ghost is not None and ghost.id == rid
    app = create_app(settings)
    with TestClient(app):
        store: Store = app.state.store
        done = wait_for(lambda: (r := store.get_run(rid)) is not None
                        and r.status == "succeeded" and r, 60, what="the ghost's run")
        assert done.instance_id == "live" and done.attempts == 2
        assert "instance 'ghost' stopped renewing its lease" in str(done.last_error)


def test_an_instance_stops_the_worker_of_a_run_it_lost(
        settings_factory: Callable[..., Settings]) -> None:
    """When a run an instance is solving turns out, at a lease renewal, to belong to
    another instance now, its worker is stopped at once (its outcome would not be stored)
    and the slot serves the next run; the run's row is left as the other instance has it."""
    app = create_app(settings_factory(start_workers=True, instance_id="a", run_lease_s=2.0))
    with TestClient(app):
        store: Store = app.state.store
        lost = queue_sleep(app, 60.0)
        pid = wait_for(lambda: app.state.jobs.worker_pids().get(lost), 60, what="the run")
        with store.session() as s, s.begin():  # another instance took it back and claimed it
            s.execute(update(RunRow).where(RunRow.id == lost)
                      .values(instance_id="b", heartbeat_at=utcnow() + timedelta(hours=1)))
        wait_for(lambda: lost not in app.state.jobs.worker_pids(), 30, what="worker stopped")
        next_run = queue_sleep(app, 0.2)
        wait_for(lambda: (r := store.get_run(next_run)) is not None
                 and r.status == "succeeded", 60, what="the next run")
        row = store.get_run(lost)
        assert row is not None and row.status == "running" and row.instance_id == "b"
        assert row.attempts == 1 and row.last_error is None
        assert pid not in app.state.jobs.worker_pids().values()
