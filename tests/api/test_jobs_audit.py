"""Regression tests of the job-manager audit: service stops, a killed server, database
errors while storing an outcome, cancellations racing a shutdown, time zones."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.db.models import RunRow
from api.db.session import make_engine, migrate
from api.db.store import Store, as_utc, utc_iso
from api.settings import Settings
from tests.api.conftest import (
    _reset_postgres,
    postgres_url,
    queue_sleep,
    wait_for,
    worker_pid_of,
)

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _scenario(store: Store) -> str:
    return store.create_scenario(name="s", source_format="json", body={"name": "s"},
                                 raw_text="{}", owner_key_id=None).id


# ------------------------------------------------------------------- service stops
def test_workers_ignore_sigterm_and_a_stop_refunds_the_attempt(
        settings_factory: Callable[..., Settings]) -> None:
    """SIGTERM to the service's process group (systemd, docker stop) reaches the workers
    too: they ignore it, and the stop re-queues the run with its attempt refunded."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app):
        rid = queue_sleep(app, 120)
        pid = worker_pid_of(app, rid)
        wait_for(lambda: app.state.store.get_run(rid).progress.get("fraction"), 60,
                 what="progress (the worker is inside the task)")
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)  # a worker killed by the signal is seen dead in one 0.05 s tick
        assert _alive(pid)
        assert app.state.jobs.worker_pids().get(rid) == pid
        run = app.state.store.get_run(rid)
        assert run.status == "running" and run.attempts == 1
    run = app.state.store.get_run(rid)
    assert run.status == "queued" and run.attempts == 0
    assert "interrupted by a service shutdown" in run.last_error
    assert not _alive(pid)


def test_worker_death_while_stopping_is_not_charged(
        settings_factory: Callable[..., Settings]) -> None:
    """A worker that dies while the manager stops (killed with the service) re-queues
    its run with the attempt refunded, and no worker is respawned."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app):
        jobs, store = app.state.jobs, app.state.store
        rid = queue_sleep(app, 120)
        pid = worker_pid_of(app, rid)
        jobs._stop.set()  # the stop has begun: the manager thread ends
        jobs.wake()
        jobs._thread.join(10)
        slot = next(s for s in jobs._slots if s.run_id == rid)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not slot.proc.is_alive(), 10, what="the worker to die")
        jobs._on_death(slot)
        run = store.get_run(rid)
        assert run.status == "queued" and run.attempts == 0
        assert "interrupted by a service shutdown" in run.last_error
        assert slot.proc is None


# ---------------------------------------------------------------- a killed server
_PARENT = textwrap.dedent("""
    import multiprocessing as mp, os, sys, time
    from api.jobs import worker_main
    if __name__ == "__main__":
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=worker_main, args=(child, 1))
        proc.start()
        child.close()
        parent.send({"run_id": "r1", "kind": "sleep", "params": {"seconds": 60}})
        assert parent.recv()[0] == "progress"  # the worker is inside the task
        print(proc.pid, flush=True)
        time.sleep(120)
""")


def test_worker_exits_when_its_server_is_killed(tmp_path: Path) -> None:
    """A worker spawned as the job manager does ends within seconds of its parent being
    SIGKILLed in the middle of a task (no orphan solving on, unlimited)."""
    script = tmp_path / "parent.py"
    script.write_text(_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    worker = 0
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.kill()
        parent.wait(10)
        wait_for(lambda: not _alive(worker), 5, what="the orphaned worker to exit")
    finally:
        parent.kill()
        parent.wait(10)
        if worker and _alive(worker):
            os.kill(worker, signal.SIGKILL)


# ------------------------------------------------------- database errors on outcomes
def test_outcome_survives_a_database_error(settings_factory: Callable[..., Settings],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A database error (SQLite locked) while storing a run's outcome keeps the outcome
    and stores it later: the run succeeds, not fails."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app):
        store = app.state.store
        real = store.finish_other
        calls: list[str] = []

        def flaky(run_id: str, status: str, *args: Any, **kw: Any) -> bool:
            calls.append(status)
            if len(calls) == 1:
                raise OperationalError("UPDATE runs", {},
                                       sqlite3.OperationalError("database is locked"))
            return bool(real(run_id, status, *args, **kw))

        monkeypatch.setattr(store, "finish_other", flaky)
        rid = queue_sleep(app, 0.3)
        run = wait_for(lambda: (r := store.get_run(rid)).status not in ("queued", "running")
                       and r, 30, what="the run to end")
        assert run.status == "succeeded" and run.last_error is None, run.last_error
        assert run.attempts == 1 and run.solve_seconds >= 0.3
        assert calls == ["succeeded", "succeeded"]


# ------------------------------------------------------------ cancel vs. shutdown
def test_cancel_requested_before_a_shutdown_cancels(store: Store) -> None:
    """A running run flagged for cancellation is cancelled, not re-queued, by a
    shutdown."""
    run, _ = store.create_run(kind="sleep", scenario_id=_scenario(store), params={})
    store.claim_next(instance_id="a")
    store.request_cancel(run.id)
    store.requeue_unfinished([run.id], "a")
    r = store.get_run(run.id)
    assert r is not None and r.status == "cancelled" and r.finished_at is not None


def test_a_queued_run_flagged_for_cancellation_is_not_claimed(store: Store) -> None:
    """A queued run whose cancellation was requested (re-queued by an older service) is
    cancelled when its turn comes, and the next run is claimed instead."""
    sid = _scenario(store)
    first, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    second, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    with store.session() as s, s.begin():
        s.execute(update(RunRow).where(RunRow.id == first.id)
                  .values(cancel_requested=True))
    claimed = store.claim_next(instance_id="a")
    assert claimed is not None and claimed.id == second.id
    r = store.get_run(first.id)
    assert r is not None and r.status == "cancelled"


def test_cancel_of_a_run_that_just_finished_is_409(client: TestClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """DELETE of a run that finishes between the status check and the cancel answers
    409, not 202 with a finished run."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    run, _ = store.create_run(kind="sleep", scenario_id=_scenario(store), params={})
    store.claim_next()
    stale = store.get_run(run.id)
    store.finish_other(run.id, "succeeded", None, 1.0)
    monkeypatch.setattr(store, "get_run", lambda run_id: stale)
    r = client.delete(f"/v1/runs/{run.id}")
    assert r.status_code == 409, r.text


# ------------------------------------------------------------- re-queued progress
def test_requeued_runs_lose_the_previous_attempts_progress(store: Store) -> None:
    """A run re-queued by a worker death or a shutdown shows no progress while queued."""
    sid = _scenario(store)
    for requeue in (lambda rid: store.worker_died(rid, "killed", 2),
                    lambda rid: store.requeue_unfinished([rid])):
        run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
        store.claim_next()
        store.update_progress(run.id, {"fraction": 0.5})
        requeue(run.id)
        r = store.get_run(run.id)
        assert r is not None and r.status == "queued" and r.progress == {}


# ----------------------------------------------------------------------- time zones
def test_as_utc_converts_aware_datetimes() -> None:
    """Aware timestamps in another zone are converted to UTC; naive ones are UTC."""
    shanghai = datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    assert as_utc(shanghai) == shanghai and as_utc(shanghai).tzinfo is UTC  # type: ignore[union-attr]
    assert utc_iso(shanghai) == "2024-05-01T00:30:00+00:00"
    assert utc_iso(datetime(2024, 5, 1, 0, 30)) == "2024-05-01T00:30:00+00:00"
    assert as_utc(None) is None


@pytest.mark.postgres
def test_postgres_session_time_zone_gives_utc_timestamps() -> None:
    """On a PostgreSQL session whose TimeZone is Asia/Shanghai, stored timestamps still
    come out in UTC."""
    url = postgres_url()
    assert url is not None
    _reset_postgres(url)
    engine = make_engine(url + "?options=-c%20timezone%3DAsia/Shanghai")
    try:
        migrate(engine)
        store = Store(engine)
        before = datetime.now(UTC)
        row = store.get_scenario(_scenario(store))
        assert row is not None and row.created_at.utcoffset() == timedelta(hours=8)
        text_ = utc_iso(row.created_at)
        assert text_ is not None and text_.endswith("+00:00")
        assert abs(datetime.fromisoformat(text_) - before) < timedelta(minutes=1)
    finally:
        engine.dispose()
