"""Job manager tests against the real app with real worker processes.

They use the internal ``sleep`` task kind (queued through the store, not reachable over
HTTP) so that a run lasts as long as the test needs; the Faku end-to-end test runs real
solves."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import queue_sleep, wait_for, worker_pid_of


def test_sleep_run_succeeds_with_progress(settings_factory: Callable[..., Settings]) -> None:
    """A run goes queued -> running -> succeeded and reports progress from the worker."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        rid = queue_sleep(app, 1.5)
        seen = wait_for(lambda: (c.get(f"/v1/runs/{rid}").json()["progress"]["fraction"] or 0)
                        > 0 and c.get(f"/v1/runs/{rid}").json(), 60, what="progress")
        assert seen["status"] in ("running", "succeeded")
        done = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "succeeded"
                        and j, 60, what="success")
        assert done["attempts"] == 1 and done["last_error"] is None
        assert done["progress"]["fraction"] == 1.0 and done["solve_seconds"] >= 1.5
        metrics = c.get("/metrics").text
        assert 'wastenet_solve_duration_seconds_count{kind="sleep",status="succeeded"} 1' in metrics
        assert 'wastenet_runs{status="succeeded"} 1' in metrics


def test_killed_worker_requeues_once_then_fails(settings_factory: Callable[..., Settings]) -> None:
    """Kill the worker mid-run: the run is re-queued with attempts=1 and last_error, then
    runs again (attempts=2); kill it again: failed with the reason. The service stays up
    and the pool is whole again."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        rid = queue_sleep(app, 120)
        pid = worker_pid_of(app, rid)
        os.kill(pid, signal.SIGKILL)
        second = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["attempts"] == 2
                          and j["status"] == "running" and j, 60, what="second attempt")
        assert f"worker process {pid} died (exit code -9)" in second["last_error"]
        assert "attempt 1 of 2, re-queued" in second["last_error"]
        pid2 = worker_pid_of(app, rid)
        assert pid2 != pid
        os.kill(pid2, signal.SIGKILL)
        failed = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "failed"
                          and j, 60, what="failure")
        assert failed["attempts"] == 2
        assert f"worker process {pid2} died" in failed["last_error"]
        assert "giving up" in failed["last_error"]
        assert c.get("/healthz").status_code == 200
        wait_for(lambda: c.get("/readyz").status_code == 200, 60, what="pool respawned")
        assert "wastenet_worker_deaths_total 2" in c.get("/metrics").text


def test_first_death_leaves_the_run_queued(settings_factory: Callable[..., Settings]) -> None:
    """With the only worker busy on another run, a re-queued run is seen ``queued`` with
    attempts=1 and last_error until a worker is free."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        victim = queue_sleep(app, 120)
        pid = worker_pid_of(app, victim)
        blocker = queue_sleep(app, 120)
        # Move the blocker ahead of the victim in the queue once the victim dies: the
        # queue is oldest-first, so make the victim younger than the blocker.
        with app.state.store.session() as s, s.begin():
            from api.db.models import RunRow

            v = s.get(RunRow, victim)
            b = s.get(RunRow, blocker)
            v.created_at, b.created_at = b.created_at, v.created_at
        os.kill(pid, signal.SIGKILL)
        j = wait_for(lambda: (j := c.get(f"/v1/runs/{victim}").json())["status"] == "queued"
                     and j, 60, what="re-queue")
        assert j["attempts"] == 1
        assert "died (exit code -9)" in j["last_error"] and "re-queued" in j["last_error"]
        assert c.get(f"/v1/runs/{blocker}").json()["status"] in ("queued", "running")
        c.delete(f"/v1/runs/{blocker}")
        c.delete(f"/v1/runs/{victim}")


def test_cancel_running_run(settings_factory: Callable[..., Settings]) -> None:
    """DELETE stops a running run: cancelled, its worker replaced, the service ready."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        rid = queue_sleep(app, 120)
        pid = worker_pid_of(app, rid)
        r = c.delete(f"/v1/runs/{rid}")
        assert r.status_code == 202
        done = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "cancelled"
                        and j, 30, what="cancel")
        assert done["last_error"] == "cancelled while running"
        wait_for(lambda: _dead(pid), 10, what="old worker gone")
        assert c.delete(f"/v1/runs/{rid}").status_code == 409
        wait_for(lambda: c.get("/readyz").status_code == 200, 60, what="pool respawned")


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); check its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


def test_time_limit_kills_an_overrunning_run(settings_factory: Callable[..., Settings]) -> None:
    """A run still going past its time limit plus the grace is killed and failed."""
    app = create_app(settings_factory(start_workers=True, kill_grace_s=0.5))
    with TestClient(app) as c:
        rid = queue_sleep(app, 60, time_limit_s=1.0)
        j = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "failed"
                     and j, 60, what="time-limit kill")
        assert "exceeded its time limit of 1.0 s" in j["last_error"]
        assert j["attempts"] == 1


def test_domain_failure_is_a_failed_run(settings_factory: Callable[..., Settings]) -> None:
    """An InfeasibleError in the worker fails the run with its reason; the worker lives."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        rid = queue_sleep(app, 0.1, fail="village v9 is out of every station's radius")
        j = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["status"] == "failed"
                     and j, 60, what="failure")
        assert j["last_error"].startswith("infeasible: sleep task told to fail")
        assert "v9" in j["last_error"]
        assert "wastenet_worker_deaths_total 0" in c.get("/metrics").text


def test_concurrent_solves_are_capped(settings_factory: Callable[..., Settings]) -> None:
    """With two workers but a cap of one, never two runs run at once."""
    app = create_app(settings_factory(start_workers=True, workers=2, max_concurrent_solves=1))
    with TestClient(app):
        ids = [queue_sleep(app, 0.6) for _ in range(3)]
        peak = 0

        def all_done() -> bool:
            nonlocal peak
            counts = app.state.store.count_runs_by_status()  # one query: one instant
            peak = max(peak, counts["running"])
            return counts["succeeded"] == len(ids)

        wait_for(all_done, 90, interval=0.02, what="three runs")
        assert peak == 1


def test_restart_keeps_scenarios_and_resumes_queued_runs(
        settings_factory: Callable[..., Settings]) -> None:
    """Stop the app with a run queued and one running; a new app on the same database
    finds the scenario and both runs, and finishes them."""
    app1 = create_app(settings_factory(start_workers=True))
    with TestClient(app1) as c1:
        r = c1.post("/v1/scenarios", json={"name": "keep-me", "data": {"counties": ["210124"]}})
        assert r.status_code == 201
        sid = r.json()["id"]
        running = queue_sleep(app1, 3)
        worker_pid_of(app1, running)
        queued = queue_sleep(app1, 0.2)
    app2 = create_app(settings_factory(start_workers=True))
    with TestClient(app2) as c2:
        assert c2.get(f"/v1/scenarios/{sid}").json()["name"] == "keep-me"
        assert c2.get("/v1/scenarios").json()["total"] == 3
        for rid in (running, queued):

            def done(rid: str = rid) -> Any:
                j = c2.get(f"/v1/runs/{rid}").json()
                return j if j["status"] == "succeeded" else None

            j = wait_for(done, 60, what=f"{rid} after restart")
            assert j["attempts"] == 1  # a graceful stop refunds the interrupted attempt


def test_worker_caps_native_thread_pools() -> None:
    """A worker process runs its solves with the BLAS/OpenMP pools capped at the configured
    ``solver_threads`` (1 by default): an uncapped OpenBLAS spins a thread per core and one
    solve starved the server. The worker is driven over its pipe like the manager does."""
    import multiprocessing as mp

    from api.jobs import worker_main

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=worker_main, args=(child, 1))
    proc.start()
    try:
        parent.send({"run_id": "r1", "kind": "sleep", "params": {"seconds": 0.1}})
        while True:
            assert parent.poll(60), "the worker sent nothing for 60 s"
            msg = parent.recv()
            if msg[0] != "progress":
                break
        assert msg[0] == "done", msg
        pools = msg[2]["native_threads"]
        assert pools, "no BLAS/OpenMP pool was found in the worker"
        assert all(n == 1 for _, n in pools), pools
    finally:
        parent.send(None)
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def test_latest_progress_is_shown_while_the_solver_is_silent(
        settings_factory: Callable[..., Settings]) -> None:
    """A solver step that reports twice in quick succession and then computes silently
    for a long time: the second report (held by the worker's throttle, not dropped)
    reaches ``GET /v1/runs/{id}`` within a second or so, and the run's ``elapsed_s``
    keeps advancing while no report comes."""
    app = create_app(settings_factory(start_workers=True))
    with TestClient(app) as c:
        rid = queue_sleep(app, 60, reports=[
            {"fraction": 0.0, "message": "checking the problem"},
            {"fraction": 0.1, "incumbent": 123.0, "message": "Lagrangian relaxation"}])
        worker_pid_of(app, rid)
        j = wait_for(lambda: (j := c.get(f"/v1/runs/{rid}").json())["progress"]["message"]
                     == "Lagrangian relaxation" and j, 15, what="the second report")
        assert j["status"] == "running"
        assert (j["progress"]["fraction"], j["progress"]["incumbent"]) == (0.1, 123.0)
        first = j["progress"]["elapsed_s"]
        later = wait_for(lambda: (e := c.get(f"/v1/runs/{rid}").json()["progress"]["elapsed_s"])
                         >= first + 1.0 and e, 15, what="elapsed_s to advance")
        assert later >= first + 1.0
        c.delete(f"/v1/runs/{rid}")


class _Pipe:
    """Stands in for a worker's connection: records what is sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send(self, msg: tuple[Any, ...]) -> None:
        self.sent.append(msg)


def test_progress_sender_holds_and_flushes_the_latest_report() -> None:
    """The worker's throttle sends a first report at once, holds reports that come too
    soon (keeping only the latest) and sends it when the interval is over, without
    waiting for another report; a final report (fraction 1.0) goes at once, and the
    run's last message follows any held report."""
    from api.jobs import ProgressSender

    pipe = _Pipe()
    sender = ProgressSender(pipe, "r1", 0.0, interval_s=0.3)  # type: ignore[arg-type]
    sender({"fraction": 0.0, "message": "a"})
    sender({"fraction": 0.05, "message": "b"})
    sender({"fraction": 0.1, "message": "c"})
    assert [m[2]["message"] for m in pipe.sent] == ["a"]
    wait_for(lambda: len(pipe.sent) == 2, 10, interval=0.01, what="the held report")
    assert pipe.sent[1][:2] == ("progress", "r1") and pipe.sent[1][2]["message"] == "c"
    sender({"fraction": 0.5, "message": "d"})
    sender({"fraction": 1.0, "message": "e"})
    assert [m[2]["message"] for m in pipe.sent] == ["a", "c", "e"]
    sender({"fraction": 0.9, "message": "f"})
    sender.send(("done", "r1", {}, 1.0))
    assert [m[0] for m in pipe.sent[3:]] == ["progress", "done"]
    assert pipe.sent[3][2]["message"] == "f"
    sender({"fraction": 0.95, "message": "too late"})
    assert len(pipe.sent) == 5


def test_elapsed_seconds_advance_while_running() -> None:
    """The run view's ``elapsed_s`` is the time since the run started while it runs
    (never less than the last reported), and the reported one once it has finished."""
    from datetime import UTC, datetime, timedelta

    from api.db.models import RunRow
    from api.routes.common import progress_of

    t0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
    run = RunRow(status="running", started_at=t0,
                 progress={"fraction": 0.0, "elapsed_s": 0.2, "message": "checking"})
    assert progress_of(run, now=t0 + timedelta(seconds=20)).elapsed_s == 20.0
    assert progress_of(run, now=t0 + timedelta(seconds=21.5)).elapsed_s == 21.5
    assert progress_of(run, now=t0 + timedelta(seconds=0.1)).elapsed_s == 0.2
    run.status = "succeeded"
    assert progress_of(run, now=t0 + timedelta(seconds=99)).elapsed_s == 0.2
    queued = RunRow(status="queued", started_at=None, progress={})
    assert progress_of(queued, now=t0).elapsed_s is None
