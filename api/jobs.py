"""Background solving in a local pool of worker processes.

Design
------
* ``slots`` worker processes (``multiprocessing`` *spawn* context), each with its own
  duplex pipe. A worker loops: receive a task, run it, send progress messages and one
  final message (``done`` / ``failed``). Solves never run in the server process, let alone
  on its event loop. Per-worker pipes (no shared queue) mean a worker killed in the middle
  of a write cannot corrupt anyone else's channel, and each death is attributed exactly.
* One manager thread in the server process owns the slots and is the only writer of run
  state changes: it claims queued runs from the database (oldest first), hands them to
  idle workers, stores progress (throttled: the latest report is held, never dropped,
  see :class:`ProgressSender`), results and failures, enforces the time
  limit (hard kill ``kill_grace_s`` after it), applies cancellation requests made through
  the API (it terminates the worker), and detects worker deaths.
* Worker death: the slot is respawned and the run follows the re-queue rule of
  :meth:`api.db.store.Store.worker_died` (back to ``queued`` while ``attempts <
  max_attempts``, else ``failed`` with the reason). The service stays up.
* Several instances may share one database (PostgreSQL): each claims runs under its
  ``instance_id`` and renews their leases every quarter of ``run_lease_s``; every state
  change it makes is conditional on the run still being its own
  (:mod:`api.db.store`), and a run found at a renewal to be another instance's now has its
  worker stopped. On start, and at each renewal, an instance takes back the runs
  whose lease ran out (their instance died or stalled) as a worker death; on start also
  every run of its own id, left by its previous process. Queued runs simply get claimed:
  nothing is lost across restarts.

Task kinds: ``siting`` (``wastenet.pipeline.run_siting``), ``route_plan``
(``wastenet.pipeline.run_route_plan``) and ``sleep``, an internal kind the tests use to
exercise the machinery without a solver; it cannot be created through the HTTP API.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from sqlalchemy.exc import OperationalError

from api.db.store import Store
from api.metrics import Metrics
from api.scenario_input import InputError, revalidate_stored
from api.schemas import RoutePlanCreate, RunCreate
from api.settings import Settings

log = logging.getLogger("wastenet.api.jobs")

_PROGRESS_MIN_INTERVAL_S = 0.25


# --------------------------------------------------------------------------- worker side
def execute_task(task: dict[str, Any], progress: Callable[[dict[str, Any]], None]) -> Any:
    """Run one task in the worker process and return its JSON-able output."""
    kind = task["kind"]
    if kind == "sleep":
        seconds = float(task["params"].get("seconds", 1.0))
        reports = task["params"].get("reports")
        if reports is not None:  # these progress reports back to back, then silence
            for report in reports:
                progress(dict(report))
            time.sleep(seconds)
        else:
            steps = max(1, int(seconds / 0.1))
            for i in range(steps):
                time.sleep(seconds / steps)
                progress({"fraction": (i + 1) / steps, "message": "sleeping"})
        if task["params"].get("fail"):
            from wastenet.errors import InfeasibleError

            raise InfeasibleError("sleep task told to fail", [str(task["params"]["fail"])])
        from threadpoolctl import threadpool_info

        return {"slept_s": seconds, "pid": os.getpid(),
                "native_threads": [[str(i.get("filepath")), int(i.get("num_threads", 0))]
                                   for i in threadpool_info()]}

    pipeline = importlib.import_module("wastenet.pipeline")
    from wastenet.scenario.schema import Scenario

    scenario = Scenario.model_validate(task["scenario"])
    if kind == "siting":
        return pipeline.run_siting(scenario, time_limit_s=task.get("time_limit_s"),
                                   seed=task.get("seed"), progress=progress)
    if kind == "route_plan":
        return pipeline.run_route_plan(scenario, task["siting"], task["county"], task["date"],
                                       time_limit_s=task.get("time_limit_s"),
                                       seed=task.get("seed"), progress=progress,
                                       solution_limit=task.get("solution_limit"))
    raise ValueError(f"unknown task kind {kind!r}")


class ProgressSender:
    """The worker's progress channel for one task: throttled, but never stale.

    A report arriving less than ``interval_s`` after the previous one sent is held, not
    dropped; the held report (only the latest) goes out ``interval_s`` after the previous
    send, from a timer thread, unless a newer report replaces it first. So the manager
    always has the latest report within ``interval_s``, even when a solver reports twice
    in quick succession and then computes for a long time. A report with ``fraction`` 1.0
    goes out at once. Every write to ``conn`` (the final ``done``/``failed`` message
    included, through :meth:`send`) takes one lock: the timer and the task never write
    at the same time."""

    def __init__(self, conn: Connection, run_id: str, start: float,
                 interval_s: float = _PROGRESS_MIN_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conn, self.run_id, self.start = conn, run_id, start
        self.interval_s, self.clock = interval_s, clock
        self._lock = threading.Lock()
        self._last_sent = float("-inf")
        self._pending: dict[str, Any] | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, p: dict[str, Any]) -> None:
        now = self.clock()
        msg = {k: p.get(k) for k in ("fraction", "incumbent", "lower_bound", "message")}
        msg["elapsed_s"] = round(now - self.start, 3)
        with self._lock:
            if self._closed:
                return
            wait_s = self._last_sent + self.interval_s - now
            if wait_s <= 0 or p.get("fraction") == 1.0:
                self._pending = None
                self._send_locked(("progress", self.run_id, msg), now)
                return
            self._pending = msg
            if self._timer is None:
                self._timer = threading.Timer(wait_s, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def _send_locked(self, message: tuple[Any, ...], now: float) -> None:
        with contextlib.suppress(OSError):  # the manager is gone: the worker ends anyway
            self.conn.send(message)
        self._last_sent = now

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._pending is not None and not self._closed:
                msg, self._pending = self._pending, None
                self._send_locked(("progress", self.run_id, msg), self.clock())

    def send(self, message: tuple[Any, ...]) -> None:
        """Send the task's final message: the held report first, then ``message``; no
        report follows it."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._pending is not None and not self._closed:
                msg, self._pending = self._pending, None
                self._send_locked(("progress", self.run_id, msg), self.clock())
            self._closed = True
            self.conn.send(message)


def limit_native_threads(threads: int) -> None:
    """Cap the BLAS and OpenMP thread pools of this process at ``threads``.

    numpy and scipy each bundle an OpenBLAS whose worker threads busy-wait: uncapped, one
    solve in the Lagrangian step kept both cores of a 2-core machine at 100 % and starved
    the server. The pools are loaded first (numpy, scipy.linalg), then capped for good."""
    import numpy  # noqa: F401  (load the libraries whose pools are capped)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def watch_parent(parent_pid: int, interval_s: float = 1.0) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once its parent
    ``parent_pid`` is gone (this process re-parented), checked every ``interval_s``: a
    worker whose server was killed outright (SIGKILL, the OOM killer) must not go on
    solving, unlimited, a run that a restarted service runs again."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="wastenet-parent-watch", daemon=True)
    thread.start()
    return thread


def worker_main(conn: Connection, threads: int = 1, parent_pid: int | None = None) -> None:
    """Entry point of a worker process: serve tasks from ``conn`` until EOF or ``None``;
    ``threads`` caps the native thread pools (:func:`limit_native_threads`). The process
    ends by itself when its parent (``parent_pid``, by default the parent at start) is
    gone (:func:`watch_parent`). It ignores SIGINT and SIGTERM, which a service stop sends
    to the whole process group: the manager decides when workers stop (it re-queues the
    runs in progress, see :meth:`JobManager.stop`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    watch_parent(os.getppid() if parent_pid is None else parent_pid)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s[worker]: %(message)s")
    limit_native_threads(threads)
    from wastenet.errors import InfeasibleError, WastenetError

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        run_id = task["run_id"]
        start = time.monotonic()
        progress = ProgressSender(conn, run_id, start)
        try:
            out = execute_task(task, progress)
            final: tuple[Any, ...] = ("done", run_id, out, time.monotonic() - start)
        except InfeasibleError as exc:
            final = ("failed", run_id, f"infeasible: {exc}", time.monotonic() - start)
        except WastenetError as exc:
            final = ("failed", run_id, str(exc), time.monotonic() - start)
        except Exception as exc:  # a bug in a solver must not kill the worker
            logging.getLogger("wastenet.api.worker").error(
                "run %s: %s", run_id, traceback.format_exc())
            final = ("failed", run_id, f"internal error: {type(exc).__name__}: {exc}",
                     time.monotonic() - start)
        try:
            progress.send(final)
        except (EOFError, OSError):
            return  # the manager is gone
        except Exception as exc:  # an output that cannot be sent (pickled) fails the run
            conn.send(("failed", run_id, "internal error: could not send the output: "
                       f"{type(exc).__name__}: {exc}", time.monotonic() - start))


# -------------------------------------------------------------------------- server side
#: The parameters a run stores, by kind, with the request model whose fields check them.
_STORED_PARAMS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "siting": (RunCreate, ("time_limit_s", "seed")),
    "route_plan": (RoutePlanCreate, ("time_limit_s", "seed", "solution_limit"))}


def check_stored_params(kind: str, params: dict[str, Any]) -> None:
    """Check the stored ``params`` of a ``kind`` run by the fields of the request that
    makes such a run (``RunCreate``, ``RoutePlanCreate``): a run queued before those
    fields refused some value is an :class:`~api.scenario_input.InputError` item per
    value, located at ``["params", <name>]`` and naming the name and value as the 422 of
    the request would. Other stored keys are not the request's and are left alone."""
    if kind not in _STORED_PARAMS:
        return
    model, names = _STORED_PARAMS[kind]
    items = []
    for name in names:
        if name not in params:
            continue
        try:  # the field's own checks, the model's other (required) fields aside
            model.__pydantic_validator__.validate_assignment(model.model_construct(), name,
                                                             params[name])
        except PydanticError as exc:
            for e in exc.errors():
                value = params[name]
                shown = repr(value) if isinstance(value, bool | int | float | str) else None
                where = name if shown is None else f"{name}={shown[:80]}"
                items.append({"loc": ["params", name], "type": str(e.get("type", "value_error")),
                              "msg": f"{where}: {e.get('msg', 'invalid')} (stored with the "
                              "run before the current schema refused it; request the run "
                              "again)"})
    if items:
        raise InputError(items)


@dataclass
class _Slot:
    index: int
    proc: Any = None  # multiprocessing.Process of the spawn context
    conn: Connection | None = None
    run_id: str | None = None
    kind: str = ""
    started: float = 0.0
    deadline: float = float("inf")
    pending_progress: dict[str, Any] | None = None
    last_flush: float = 0.0
    #: the final message (``done``/``failed``) of the run, held until it is stored
    outcome: tuple[Any, ...] | None = None
    outcome_retry_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class JobManager:
    """Owns the worker processes and the manager thread of one app instance."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self._ctx = mp.get_context("spawn")
        self._slots = [_Slot(i) for i in range(settings.solver_slots())]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self.instance_id = settings.instance_id
        self._next_lease = 0.0

    # lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        recovered = self.store.recover_interrupted(
            self.settings.max_attempts, instance_id=self.instance_id,
            lease_s=self.settings.run_lease_s)
        for run_id, status in recovered.items():
            log.warning("run %s was running when its service stopped: now %s", run_id, status)
        for slot in self._slots:
            self._spawn(slot)
        self._thread = threading.Thread(target=self._loop, name="wastenet-jobs", daemon=True)
        self._thread.start()
        log.info("job manager started with %d worker process(es)", len(self._slots))

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and the workers; runs in progress go back to the queue."""
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        for slot in self._slots:  # a last try at outcomes held through a database error
            if slot.outcome is not None:
                try:
                    self._store_outcome(slot, force=True)
                except Exception:  # pragma: no cover - the run is re-queued below
                    log.exception("could not store run %s's outcome at shutdown", slot.run_id)
        unfinished = [s.run_id for s in self._slots if s.run_id is not None]
        for slot in self._slots:
            self._kill(slot, graceful=True)
        if unfinished:
            try:
                self.store.requeue_unfinished([r for r in unfinished if r is not None],
                                              self.instance_id)
            except Exception:  # pragma: no cover - database gone at shutdown
                log.exception("could not re-queue runs at shutdown")
        log.info("job manager stopped")

    def wake(self) -> None:
        """Make the manager look at the queue now (called after a run is queued)."""
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"w")

    def alive(self) -> bool:
        """The manager thread runs and every worker process is alive."""
        return (self._thread is not None and self._thread.is_alive()
                and all(s.proc is not None and s.proc.is_alive() for s in self._slots))

    def workers_alive(self) -> int:
        return sum(1 for s in self._slots if s.proc is not None and s.proc.is_alive())

    def worker_pids(self) -> dict[str, int | None]:
        """Run id -> pid of the worker running it (for operators and the tests)."""
        return {s.run_id: (s.proc.pid if s.proc is not None else None)
                for s in self._slots if s.run_id is not None}

    # processes ---------------------------------------------------------------------
    def _spawn(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=worker_main,
                                 args=(child, self.settings.solver_threads, os.getpid()),
                                 name=f"wastenet-worker-{slot.index}")
        proc.start()
        child.close()
        slot.proc, slot.conn = proc, parent
        slot.run_id = None

    def _kill(self, slot: _Slot, graceful: bool = False) -> None:
        proc, conn = slot.proc, slot.conn
        if conn is not None:
            if graceful and slot.run_id is None:
                with contextlib.suppress(OSError):
                    conn.send(None)
            conn.close()
        if proc is not None:
            if graceful and slot.run_id is None:
                proc.join(2.0)
            if proc.is_alive():
                proc.kill()
            proc.join(5.0)
        slot.proc = slot.conn = None
        slot.run_id = None
        slot.pending_progress = None
        slot.outcome = None

    # manager loop ------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("job manager tick failed; retrying")
                self._stop.wait(1.0)
            conns: list[Any] = [s.conn for s in self._slots if s.conn is not None]
            try:
                ready = wait([*conns, self._wake_r], timeout=self.settings.poll_interval_s)
            except OSError:
                ready = []
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()

    def _leases(self, now: float) -> None:
        """Every quarter of ``run_lease_s``: renew this instance's runs' leases, and take
        back the runs of instances whose leases ran out."""
        if now < self._next_lease:
            return
        self._next_lease = now + self.settings.run_lease_s / 4.0
        mine = [s.run_id for s in self._slots if s.run_id is not None]
        renewed = self.store.heartbeat(self.instance_id, mine)
        for slot in self._slots:
            if slot.run_id is not None and slot.run_id not in renewed:
                # taken back by another instance after this one's lease ran out: its
                # outcome would not be stored, so stop spending a worker on it
                log.warning("run %s is no longer this instance's (its lease ran out and "
                            "another instance took it back): stopping worker %s",
                            slot.run_id, slot.proc.pid if slot.proc is not None else None)
                self._kill(slot)
                self._spawn(slot)
        for run_id, status in self.store.recover_interrupted(
                self.settings.max_attempts, lease_s=self.settings.run_lease_s).items():
            log.warning("run %s: its instance stopped renewing its lease: now %s", run_id,
                        status)

    def _tick(self) -> None:
        if self._stop.is_set():
            return
        now = time.monotonic()
        for slot in self._slots:
            self._drain(slot)
        self._leases(now)
        cancel_ids: set[str] | None = None
        for slot in self._slots:
            if slot.proc is None:
                if not self._stop.is_set():
                    self._spawn(slot)
                continue
            if slot.outcome is not None and not self._store_outcome(slot):
                continue  # the run's outcome is not stored yet: no time limit, no cancel
            if not slot.proc.is_alive():
                self._drain(slot)
                self._on_death(slot)
                continue
            if slot.run_id is None:
                continue
            if now > slot.deadline:
                self._on_timeout(slot)
                continue
            if cancel_ids is None:
                cancel_ids = self.store.cancel_requested_ids()
            if slot.run_id in cancel_ids:
                self._on_cancel(slot)
                continue
            if slot.pending_progress is not None and now - slot.last_flush >= 0.5:
                self.store.update_progress(slot.run_id, slot.pending_progress,
                                           self.instance_id)
                slot.pending_progress = None
                slot.last_flush = now
        for slot in self._slots:
            idle = slot.run_id is None and slot.proc is not None and slot.proc.is_alive()
            if idle and not self._dispatch(slot):
                break

    def _drain(self, slot: _Slot) -> None:
        conn = slot.conn
        if conn is None:
            return
        try:
            while conn.poll():
                self._handle(slot, conn.recv())
        except (EOFError, OSError):
            pass  # the death check handles it

    def _handle(self, slot: _Slot, msg: tuple[Any, ...]) -> None:
        kind, run_id = msg[0], msg[1]
        if run_id != slot.run_id:
            return  # stale message of a run already dealt with
        if kind == "progress":
            slot.pending_progress = msg[2]
            return
        slot.outcome, slot.outcome_retry_at = msg, 0.0
        self._store_outcome(slot)

    def _store_outcome(self, slot: _Slot, force: bool = False) -> bool:
        """Store the run's held final message; True once it is stored (the slot is then
        free). On a database error (locked, unreachable) the outcome stays in the slot and
        is tried again a second later (``force``: at once)."""
        msg = slot.outcome
        if msg is None:
            return True
        now = time.monotonic()
        if not force and now < slot.outcome_retry_at:
            return False
        try:
            self._store_final(slot, msg)
        except OperationalError as exc:
            slot.outcome_retry_at = now + 1.0
            log.error("run %s: could not store its outcome (%s); trying again", msg[1],
                      exc.orig if exc.orig is not None else exc)
            return False
        slot.run_id = None
        slot.pending_progress = None
        slot.outcome = None
        return True

    def _store_final(self, slot: _Slot, msg: tuple[Any, ...]) -> None:
        kind, run_id = msg[0], msg[1]
        seconds = float(msg[3])
        me = self.instance_id
        if slot.pending_progress is not None:
            self.store.update_progress(run_id, slot.pending_progress, me)
            slot.pending_progress = None
        if kind == "done":
            try:
                if slot.kind == "siting":
                    stored = self.store.finish_siting(run_id, msg[2], seconds, me)
                elif slot.kind == "route_plan":
                    stored = self.store.finish_route_plan(run_id, msg[2], seconds,
                                                          me) is not None
                else:
                    stored = self.store.finish_other(run_id, "succeeded", None, seconds, me)
                status = "succeeded"
            except OperationalError:
                raise  # the database, not the output: kept and tried again
            except Exception as exc:  # an unstorable output fails the run, not the manager
                log.exception("run %s: could not store its output", run_id)
                stored = self.store.finish_other(
                    run_id, "failed", "internal error: could not store the output: "
                    f"{type(exc).__name__}: {exc}", seconds, me)
                status = "failed"
        else:
            stored = self.store.finish_other(run_id, "failed", str(msg[2]), seconds, me)
            status = "failed"
        if stored:
            log.info("run %s (%s) %s after %.1f s", run_id, slot.kind, status, seconds)
            self.metrics.observe_solve(slot.kind, status, seconds)
        else:
            log.warning("run %s (%s) ended here (%s) after %.1f s, but another instance took "
                        "it back after its lease ran out: its outcome is not stored",
                        run_id, slot.kind, status, seconds)

    def _on_death(self, slot: _Slot) -> None:
        code = slot.proc.exitcode if slot.proc is not None else None
        pid = slot.proc.pid if slot.proc is not None else None
        run_id = slot.run_id
        seconds = time.monotonic() - slot.started  # the run's time until its death was seen
        self._kill(slot)
        if self._stop.is_set():
            # killed by the service's own stop (a signal to its whole process group, a
            # stop timeout): not the run's fault, and no new worker is wanted
            if run_id is not None:
                self.store.requeue_unfinished([run_id], self.instance_id)
            log.warning("worker %s ended (exit code %s) while the service stops; run %s "
                        "re-queued", pid, code, run_id)
            return
        self.metrics.observe_worker_death()
        if run_id is not None:
            status = self.store.worker_died(
                run_id, f"worker process {pid} died (exit code {code})",
                self.settings.max_attempts, self.instance_id, seconds=seconds)
            log.warning("worker %s died (exit code %s) running %s: run now %s",
                        pid, code, run_id, status)
        else:
            log.warning("idle worker %s died (exit code %s); respawning", pid, code)
        self._spawn(slot)

    def _on_timeout(self, slot: _Slot) -> None:
        run_id, limit = slot.run_id, slot.extra.get("time_limit_s")
        seconds = time.monotonic() - slot.started
        self._kill(slot)
        if run_id is not None and self.store.finish_other(
                run_id, "failed",
                f"killed after {seconds:.0f} s: exceeded its time limit of {limit} s "
                f"by more than the {self.settings.kill_grace_s} s grace", seconds,
                self.instance_id):
            self.metrics.observe_solve(slot.kind, "failed", seconds)
        self._spawn(slot)

    def _on_cancel(self, slot: _Slot) -> None:
        run_id = slot.run_id
        seconds = time.monotonic() - slot.started
        self._kill(slot)
        if run_id is not None and self.store.finish_other(
                run_id, "cancelled", "cancelled while running", seconds, self.instance_id):
            log.info("run %s cancelled", run_id)
        self._spawn(slot)

    def _dispatch(self, slot: _Slot) -> bool:
        """Claim the oldest queued run for ``slot``; False when the queue is empty."""
        assert slot.proc is not None and slot.conn is not None
        run = self.store.claim_next(pid=slot.proc.pid, instance_id=self.instance_id)
        if run is None:
            return False
        try:
            task = self._task_for(run)
            limit = float(task.get("time_limit_s") or self.settings.run_time_limit_s)
        except InputError as exc:  # stored before the schema refused it: the 422's words
            reason = "; ".join(str(item["msg"]) for item in exc.items)
            log.warning("run %s failed before it started: %s", run.id, reason)
            self.store.finish_other(run.id, "failed", reason, None, self.instance_id)
            return True
        except Exception as exc:
            self.store.finish_other(run.id, "failed", f"could not prepare the run: {exc}", None,
                                    self.instance_id)
            return True
        slot.run_id, slot.kind = run.id, run.kind
        slot.started = slot.last_flush = time.monotonic()
        slot.deadline = slot.started + limit + self.settings.kill_grace_s
        slot.extra = {"time_limit_s": limit}
        with contextlib.suppress(OSError):  # a dead worker is seen and re-queued next tick
            slot.conn.send(task)
        log.info("run %s (%s) started on worker %s, attempt %d", run.id, run.kind,
                 slot.proc.pid, run.attempts)
        return True

    def _task_for(self, run: Any) -> dict[str, Any]:
        """The worker's task for ``run``. A siting or route-plan run's stored parameters
        and scenario are validated again by the current schema (a run queued before the
        schema refused them): :class:`~api.scenario_input.InputError`, whose messages
        are those of the 422 a new request would get, naming the field and value."""
        params = dict(run.params or {})
        task: dict[str, Any] = {"run_id": run.id, "kind": run.kind, "params": params,
                                "time_limit_s": params.get("time_limit_s"),
                                "seed": params.get("seed")}
        if run.kind in ("siting", "route_plan"):
            check_stored_params(run.kind, params)
            scenario = self.store.get_scenario(run.scenario_id)
            if scenario is None:
                raise LookupError(f"scenario {run.scenario_id} is gone")
            revalidate_stored(scenario.body, scenario.id)
            task["scenario"] = scenario.body
        if run.kind == "route_plan":
            result = self.store.get_result(str(run.parent_run_id))
            if result is None:
                raise LookupError(f"siting run {run.parent_run_id} has no result")
            task["siting"] = {"summary": result.summary, "facilities": result.facilities,
                              "assignments": result.assignments}
            task["county"], task["date"] = run.county, run.plan_date
            task["solution_limit"] = params.get("solution_limit")
        return task
