"""Storage layer: every read and write of the service goes through :class:`Store`.

The store is safe to use from several threads (each call opens its own session) and
holds no state besides the session factory. Rows it returns are detached snapshots.

Run life cycle (the re-queue rule)
----------------------------------
``queued -> running`` when a worker claims the run (``attempts += 1``); then
``succeeded`` / ``failed`` / ``cancelled``. When the worker dies, the run goes back to
``queued`` with ``last_error`` set while ``attempts < max_attempts``; otherwise it
becomes ``failed`` with the reason, and records as ``solve_seconds`` the time it is known
to have run (:meth:`Store.worker_died`).

Several service instances on one database (leases)
--------------------------------------------------
A claim records the claiming instance (``instance_id``) and a lease time
(``heartbeat_at``), which that instance renews while the run is in one of its workers
(:meth:`Store.heartbeat`). Every state change an instance makes to a run it claimed
(progress, finishing, a worker death, a re-queue at shutdown) is conditional on the run
still being its own and running, so an instance that lost a run (its lease ran out while it
was stalled, and another instance took the run back) cannot overwrite what came after.
:meth:`Store.recover_interrupted` takes back the runs whose lease ran out, and, for an
instance starting under an id it had before, every run of that id at once: none of them can
still be running. Lease times are read from the database server's clock
(:func:`db_now`), never from an instance's own: instances on hosts whose clocks differ
then agree on when a lease ran out (a clock ten minutes slow used to make its live runs
look abandoned to the others).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Engine,
    LargeBinary,
    Text,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from api.db.models import (
    RESULT_SCHEMA_VERSION,
    ROUTE_PLAN_SCHEMA_VERSION,
    RUN_STATUSES,
    ApiKeyRow,
    IdempotencyKeyRow,
    ResultRow,
    RoutePlanExportRow,
    RoutePlanRow,
    RunRow,
    ScenarioRow,
    utcnow,
)

ROLES = ("engineer", "county", "admin")
#: The members of a siting summary that :meth:`Store.result_headlines` reads by default.
HEADLINE_KEYS = ("total_cost_yuan_per_year", "gap")
KEY_PREFIX = "wn"


def new_id() -> str:
    """A fresh random identifier (32 hex digits)."""
    return uuid.uuid4().hex


def json_safe(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by ``None`` and tuples made lists, so that
    every database (PostgreSQL's ``json`` rejects NaN) stores it."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return json_safe(obj.item())
    return obj


def as_utc(ts: datetime | None) -> datetime | None:
    """A stored timestamp in UTC. SQLite hands back naive datetimes: they are UTC;
    PostgreSQL hands back aware ones in its session's ``TimeZone``: converted."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def db_now(s: Session) -> datetime:
    """The database server's time, in UTC (``CURRENT_TIMESTAMP``; SQLite's is UTC to the
    second, PostgreSQL's the transaction's start): the one clock of the leases."""
    value = s.execute(select(func.current_timestamp())).scalar_one()
    if isinstance(value, str):  # SQLite, should a driver hand back the text
        value = datetime.fromisoformat(value)
    out = as_utc(value)
    assert out is not None
    return out


def _impossible_id(*values: str | None) -> bool:
    """True when a client-supplied id holds a NUL character: no stored id does, and
    PostgreSQL refuses NUL in text parameters (an error, not a miss), so look-ups answer
    "not found" without asking the database."""
    return any(v is not None and "\x00" in v for v in values)


def hash_secret(secret: str) -> str:
    """SHA-256 of a key's secret. The secret carries 256 random bits, so a plain
    cryptographic hash is enough (no stretching needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class IdempotencyConflict(Exception):
    """An Idempotency-Key already names a run made from a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different request")


@dataclass(frozen=True)
class NewKey:
    """A key just created: ``token`` is shown once and never stored."""

    key_id: str
    token: str
    role: str
    counties: tuple[str, ...]


class Store:
    """Repository over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def session(self) -> Session:
        """A new session (use as a context manager)."""
        return self._sessions()

    def ping(self) -> bool:
        """True when the database answers ``SELECT 1``."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    # ------------------------------------------------------------------ scenarios
    def create_scenario(self, *, name: str, source_format: str, body: dict[str, Any],
                        raw_text: str, owner_key_id: str | None) -> ScenarioRow:
        row = ScenarioRow(id=new_id(), name=name[:200], source_format=source_format,
                          body=json_safe(body), raw_text=raw_text, owner_key_id=owner_key_id,
                          created_at=utcnow())
        with self.session() as s, s.begin():
            s.add(row)
        return row

    def get_scenario(self, scenario_id: str) -> ScenarioRow | None:
        if _impossible_id(scenario_id):
            return None
        with self.session() as s:
            return s.get(ScenarioRow, scenario_id)

    def list_scenarios(self, *, limit: int, offset: int) -> tuple[list[ScenarioRow], int]:
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(ScenarioRow)) or 0
            rows = s.scalars(
                select(ScenarioRow).order_by(ScenarioRow.created_at, ScenarioRow.id)
                .limit(limit).offset(offset)
            ).all()
            return list(rows), int(total)

    # ----------------------------------------------------------------------- runs
    def create_run(self, *, kind: str, scenario_id: str, params: dict[str, Any],
                   owner_key_id: str | None = None, parent_run_id: str | None = None,
                   county: str | None = None, plan_date: str | None = None,
                   idempotency: tuple[str, str, str] | None = None) -> tuple[RunRow, bool]:
        """Queue a run. With ``idempotency=(key, principal, request_hash)`` an earlier run
        made under the same key is returned instead (second value False), also when
        concurrent requests race on the key: the loser's transaction (its run included)
        rolls back on the key's primary key and it returns the winner's run. When the
        earlier run was made from a different request (another ``request_hash``),
        :class:`IdempotencyConflict` is raised instead, in the race as well."""
        try:
            return self._create_run(kind=kind, scenario_id=scenario_id, params=params,
                                    owner_key_id=owner_key_id, parent_run_id=parent_run_id,
                                    county=county, plan_date=plan_date,
                                    idempotency=idempotency)
        except IntegrityError:
            if idempotency is None:
                raise
            with self.session() as s:
                prev = s.get(IdempotencyKeyRow, (idempotency[0], idempotency[1]))
                run = s.get(RunRow, prev.run_id) if prev is not None else None
            if run is None or prev is None:
                raise
            if prev.request_hash != idempotency[2]:
                raise IdempotencyConflict() from None
            return run, False

    def _create_run(self, *, kind: str, scenario_id: str, params: dict[str, Any],
                    owner_key_id: str | None, parent_run_id: str | None, county: str | None,
                    plan_date: str | None,
                    idempotency: tuple[str, str, str] | None) -> tuple[RunRow, bool]:
        with self.session() as s, s.begin():
            if idempotency is not None:
                key, principal, _ = idempotency
                prev = s.get(IdempotencyKeyRow, (key, principal))
                if prev is not None and prev.request_hash != idempotency[2]:
                    raise IdempotencyConflict()
                if prev is not None:
                    run = s.get(RunRow, prev.run_id)
                    if run is not None:
                        return run, False
            row = RunRow(id=new_id(), kind=kind, scenario_id=scenario_id,
                         parent_run_id=parent_run_id, county=county, plan_date=plan_date,
                         status="queued", attempts=0, params=json_safe(params), progress={},
                         cancel_requested=False, owner_key_id=owner_key_id,
                         created_at=utcnow())
            s.add(row)
            if idempotency is not None:
                key, principal, req_hash = idempotency
                s.add(IdempotencyKeyRow(key=key, principal=principal, scenario_id=scenario_id,
                                        request_hash=req_hash, run_id=row.id,
                                        created_at=utcnow()))
        return row, True

    def get_run(self, run_id: str) -> RunRow | None:
        if _impossible_id(run_id):
            return None
        with self.session() as s:
            return s.get(RunRow, run_id)

    def list_runs(self, *, scenario_id: str | None = None, status: str | None = None,
                  kind: str | None = None, counties: Collection[str] | None = None,
                  limit: int = 50, offset: int = 0, before: RunRow | None = None
                  ) -> tuple[list[RunRow], int]:
        """One page of runs, newest first (ties broken by id), and how many match.

        ``scenario_id``, ``status`` and ``kind`` filter by equality. ``counties`` is a
        county key's scope: only route-plan runs of those counties match (none when it is
        empty), as :func:`api.routes.common.check_run_access` allows one by one.
        ``before`` (keyset paging): only runs after that run in this order, so that
        pages neither repeat nor skip runs while new ones are created; ``offset`` then
        counts from there. ``total`` counts every match, ``before`` aside."""
        if _impossible_id(scenario_id, status, kind):
            return [], 0
        conds: list[ColumnElement[bool]] = []
        if scenario_id is not None:
            conds.append(RunRow.scenario_id == scenario_id)
        if status is not None:
            conds.append(RunRow.status == status)
        if kind is not None:
            conds.append(RunRow.kind == kind)
        if counties is not None:
            conds.append(RunRow.kind == "route_plan")
            conds.append(RunRow.county.in_(sorted(counties)))
        page = list(conds)
        if before is not None:
            page.append(or_(RunRow.created_at < before.created_at,
                            and_(RunRow.created_at == before.created_at,
                                 RunRow.id < before.id)))
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(RunRow).where(*conds)) or 0
            rows = s.scalars(select(RunRow).where(*page)
                             .order_by(RunRow.created_at.desc(), RunRow.id.desc())
                             .limit(limit).offset(offset)).all()
            return list(rows), int(total)

    def scenario_names(self, scenario_ids: Collection[str]) -> dict[str, str]:
        """``{scenario id: name}`` of the given scenarios (unknown ids are left out)."""
        ids = sorted(set(scenario_ids))
        if not ids:
            return {}
        with self.session() as s:
            return {str(i): str(n) for i, n in s.execute(
                select(ScenarioRow.id, ScenarioRow.name).where(ScenarioRow.id.in_(ids))).all()}

    def result_headlines(self, run_ids: Collection[str],
                         keys: Sequence[str] = HEADLINE_KEYS) -> dict[str, dict[str, Any]]:
        """``{run id: {key: value}}``: the members ``keys`` of the stored summaries of the
        given runs, read inside the database: neither the whole summary nor the facilities
        and assignments are loaded. A member the summary lacks comes back as None.

        Each member is read with the ``->`` operator (SQLite 3.38+ and PostgreSQL alike),
        which returns the member's JSON text as stored, parsed here: a number comes back
        as the very float stored (SQLAlchemy's JSON index operator would go through
        SQLite's ``json_extract``, a REAL re-printed with 15 significant digits)."""
        ids = sorted(set(run_ids))
        if not ids or not keys:
            return {}
        cols = [ResultRow.summary.op("->", return_type=JSON)(literal(k, Text)) for k in keys]
        with self.session() as s:
            return {str(row[0]): dict(zip(keys, row[1:], strict=True)) for row in s.execute(
                select(ResultRow.run_id, *cols).where(ResultRow.run_id.in_(ids))).all()}

    def runs_with_status(self, status: str) -> list[RunRow]:
        with self.session() as s:
            return list(s.scalars(select(RunRow).where(RunRow.status == status)
                                  .order_by(RunRow.created_at)).all())

    def count_runs_by_status(self) -> dict[str, int]:
        with self.session() as s:
            out = dict.fromkeys(RUN_STATUSES, 0)
            for status, n in s.execute(select(RunRow.status, func.count())
                                       .group_by(RunRow.status)).all():
                out[str(status)] = int(n)
            return out

    def claim_next(self, pid: int | None = None, instance_id: str | None = None
                   ) -> RunRow | None:
        """Move the oldest queued run to ``running`` (``attempts += 1``) for the service
        instance ``instance_id``, with a fresh lease, and return it. The conditional
        update makes the claim atomic between competing claimers. A queued run whose
        cancellation was requested while it was running (then re-queued) is cancelled
        instead of claimed."""
        with self.session() as s, s.begin():
            for run_id, cancel in s.execute(
                    select(RunRow.id, RunRow.cancel_requested).where(RunRow.status == "queued")
                    .order_by(RunRow.created_at, RunRow.id).limit(5)).all():
                now = utcnow()
                if cancel:
                    s.execute(update(RunRow)
                              .where(RunRow.id == run_id, RunRow.status == "queued")
                              .values(status="cancelled", finished_at=now, worker_pid=None,
                                      last_error="cancelled while running"))
                    continue
                res = s.execute(
                    update(RunRow).where(RunRow.id == run_id, RunRow.status == "queued")
                    .values(status="running", attempts=RunRow.attempts + 1,
                            started_at=now, worker_pid=pid, progress={},
                            instance_id=instance_id, heartbeat_at=db_now(s))
                )
                if res.rowcount == 1:  # type: ignore[attr-defined]
                    return s.get(RunRow, run_id)
        return None

    def set_worker_pid(self, run_id: str, pid: int | None) -> None:
        with self.session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(worker_pid=pid))

    def heartbeat(self, instance_id: str, run_ids: Collection[str]) -> set[str]:
        """Renew the lease of the given runs that are still running for ``instance_id``;
        returns the ids renewed (the others are no longer the caller's)."""
        if not run_ids:
            return set()
        mine = [RunRow.id.in_(sorted(run_ids)), RunRow.status == "running",
                RunRow.instance_id == instance_id]
        with self.session() as s, s.begin():
            s.execute(update(RunRow).where(*mine).values(heartbeat_at=db_now(s)))
            return set(s.scalars(select(RunRow.id).where(*mine)).all())

    def update_progress(self, run_id: str, progress: dict[str, Any],
                        instance_id: str | None = None) -> None:
        """Store a running run's progress (only while ``instance_id``'s, when given)."""
        conds = [RunRow.id == run_id, RunRow.status == "running"]
        if instance_id is not None:
            conds.append(RunRow.instance_id == instance_id)
        with self.session() as s, s.begin():
            s.execute(update(RunRow).where(*conds).values(progress=json_safe(progress)))

    def request_cancel(self, run_id: str) -> RunRow | None:
        """Cancel a queued run at once; flag a running one for the job manager."""
        with self.session() as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id, RunRow.status == "queued")
                      .values(status="cancelled", finished_at=utcnow(),
                              last_error="cancelled before it started"))
            s.execute(update(RunRow).where(RunRow.id == run_id, RunRow.status == "running")
                      .values(cancel_requested=True))
            return s.get(RunRow, run_id)

    def cancel_requested_ids(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(RunRow.id).where(
                RunRow.status == "running", RunRow.cancel_requested.is_(True))).all())

    @staticmethod
    def _mine(s: Session, run_id: str, instance_id: str | None) -> RunRow | None:
        """The run, locked for this transaction (PostgreSQL), when it exists and, with
        ``instance_id``, is still running for that instance; else ``None``."""
        run = s.get(RunRow, run_id, with_for_update=instance_id is not None)
        if run is None or (instance_id is not None and (
                run.status != "running" or run.instance_id != instance_id)):
            return None
        return run

    def _finish(self, s: Session, run_id: str, status: str, *, error: str | None,
                seconds: float | None) -> None:
        run = s.get(RunRow, run_id)
        if run is None:
            return
        run.status, run.finished_at = status, utcnow()
        if status != "succeeded":  # a success keeps the error of an earlier attempt
            run.last_error = error
        run.solve_seconds, run.worker_pid = seconds, None
        if status == "succeeded":
            run.progress = {**(run.progress or {}), "fraction": 1.0}

    def finish_siting(self, run_id: str, result: dict[str, Any], seconds: float,
                      instance_id: str | None = None) -> bool:
        """Store a siting result and mark the run succeeded, in one transaction; with
        ``instance_id``, only while the run is still running for it (else ``False``)."""
        with self.session() as s, s.begin():
            if self._mine(s, run_id, instance_id) is None:
                return False
            s.merge(ResultRow(run_id=run_id, schema_version=RESULT_SCHEMA_VERSION,
                              summary=json_safe(result.get("summary", {})),
                              facilities=json_safe(result.get("facilities", {})),
                              assignments=json_safe(result.get("assignments", [])),
                              created_at=utcnow()))
            self._finish(s, run_id, "succeeded", error=None, seconds=seconds)
            return True

    def finish_route_plan(self, run_id: str, output: dict[str, Any], seconds: float,
                          instance_id: str | None = None) -> str | None:
        """Store a route plan, mark the run succeeded and publish the plan for its
        county-day, unless the plan published there comes from a later request (a run
        created later, or at the same time with a greater id: runs of several workers
        finish in any order); then it is stored unpublished, readable by run id. Returns
        the plan id. With ``instance_id``, only while the run is still running for it
        (else ``None``, and nothing is stored)."""
        with self.session() as s, s.begin():
            run = s.get(RunRow, run_id) if instance_id is None else self._mine(
                s, run_id, instance_id)
            if run is None:
                if instance_id is not None:
                    return None
                raise KeyError(run_id)
            county, day = str(run.county), str(run.plan_date)
            if self.engine.dialect.name == "postgresql":
                # one finish per county-day at a time (instances sharing the database):
                # the check below and the publication are one step
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                          {"k": f"wastenet route plan {county} {day}"})
            later = (RunRow.created_at > run.created_at) | (
                (RunRow.created_at == run.created_at) & (RunRow.id > run.id))
            newer = s.scalar(select(RoutePlanRow.id)
                             .join(RunRow, RunRow.id == RoutePlanRow.run_id)
                             .where(RoutePlanRow.county == county,
                                    RoutePlanRow.plan_date == day,
                                    RoutePlanRow.published.is_(True), later).limit(1))
            publish = newer is None
            if publish:
                s.execute(update(RoutePlanRow)
                          .where(RoutePlanRow.county == county, RoutePlanRow.plan_date == day)
                          .values(published=False))
            plan_id = new_id()
            s.add(RoutePlanRow(id=plan_id, run_id=run_id,
                               siting_run_id=str(run.parent_run_id), county=county,
                               plan_date=day, schema_version=ROUTE_PLAN_SCHEMA_VERSION,
                               plan=json_safe(output.get("plan", {})), published=publish,
                               created_at=utcnow()))
            s.flush()
            for fmt, content in (output.get("exports") or {}).items():
                text_ = content.decode("utf-8") if isinstance(content, bytes) else str(content)
                s.add(RoutePlanExportRow(plan_id=plan_id, format=str(fmt), content=text_))
            self._finish(s, run_id, "succeeded", error=None, seconds=seconds)
            return plan_id

    def finish_other(self, run_id: str, status: str, error: str | None,
                     seconds: float | None, instance_id: str | None = None) -> bool:
        """Mark a run ``failed``, ``cancelled`` or (for kinds without output) succeeded;
        with ``instance_id``, only while it is still running for it (else ``False``)."""
        with self.session() as s, s.begin():
            if instance_id is not None and self._mine(s, run_id, instance_id) is None:
                return False
            self._finish(s, run_id, status, error=error, seconds=seconds)
            return True

    @staticmethod
    def _seconds_alive(run: RunRow, seconds: float | None) -> float | None:
        """How long the run whose worker died is known to have run: ``seconds`` (its
        instance saw the death: the time from the dispatch until then), else the time
        from its start to its last lease renewal (its instance is gone: the last moment
        it vouched for the run; the moment the run is taken back may come much later, a
        restart after hours); never less than its last progress report's ``elapsed_s``.
        None when nothing is known."""
        if seconds is None:
            start, beat = as_utc(run.started_at), as_utc(run.heartbeat_at)
            if start is not None and beat is not None:
                seconds = max((beat - start).total_seconds(), 0.0)
        reported = (run.progress or {}).get("elapsed_s")
        if isinstance(reported, int | float) and not isinstance(reported, bool) \
                and math.isfinite(reported):
            seconds = float(reported) if seconds is None else max(seconds, float(reported))
        return None if seconds is None else round(seconds, 3)

    def worker_died(self, run_id: str, reason: str, max_attempts: int,
                    instance_id: str | None = None, *, stale_before: datetime | None = None,
                    or_instance: str | None = None, seconds: float | None = None) -> str:
        """Apply the re-queue rule to a run whose worker died; return its new status.

        With ``instance_id``, only to a run still running for that instance. With
        ``stale_before`` (a lease take-back), only when the run's lease was last renewed
        before it, or never, or the run belongs to ``or_instance``; checked under a row
        lock on PostgreSQL, so that of two instances taking a run back only one does.
        A run ended here (failed, or cancelled as requested) records as its
        ``solve_seconds`` the time it is known to have run (:meth:`_seconds_alive`;
        ``seconds``: measured by the instance that saw the death)."""
        with self.session() as s, s.begin():
            locked = instance_id is not None or stale_before is not None
            run = s.get(RunRow, run_id, with_for_update=locked)
            if run is None or run.status != "running":
                return run.status if run is not None else "missing"
            if instance_id is not None and run.instance_id != instance_id:
                return "taken over"
            if stale_before is not None:
                beat = as_utc(run.heartbeat_at)
                if not (beat is None or beat < stale_before
                        or (or_instance is not None and run.instance_id == or_instance)):
                    return "running"
            if run.cancel_requested:
                self._finish(s, run_id, "cancelled", error="cancelled while running",
                             seconds=self._seconds_alive(run, seconds))
                return "cancelled"
            if run.attempts >= max_attempts:
                msg = f"{reason}; attempt {run.attempts} of {max_attempts}, giving up"
                self._finish(s, run_id, "failed", error=msg,
                             seconds=self._seconds_alive(run, seconds))
                return "failed"
            run.status = "queued"
            run.last_error = f"{reason}; attempt {run.attempts} of {max_attempts}, re-queued"
            run.progress = {}
            run.worker_pid = None
            run.started_at = None
            run.instance_id = run.heartbeat_at = None
            return "queued"

    def recover_interrupted(self, max_attempts: int, *, instance_id: str | None = None,
                            lease_s: float | None = None) -> dict[str, str]:
        """Runs left ``running`` by a service that is gone count as a worker death.

        Without ``lease_s`` (one instance per database): every running run. With it: the
        runs whose lease was last renewed more than ``lease_s`` ago (or never), and every
        run of ``instance_id``, the caller starting again under its old id. Returns
        ``{run id: new status}`` of the runs taken back."""
        out: dict[str, str] = {}
        if lease_s is None:
            cutoff = None
        else:
            with self.session() as s:
                cutoff = db_now(s) - timedelta(seconds=lease_s)
        for run in self.runs_with_status("running"):
            beat = as_utc(run.heartbeat_at)
            if cutoff is not None and not (beat is None or beat < cutoff or (
                    instance_id is not None and run.instance_id == instance_id)):
                continue
            why = ("the service stopped while this run was running" if cutoff is None
                   or run.instance_id is None or run.instance_id == instance_id else
                   f"its service instance {run.instance_id!r} stopped renewing its lease "
                   f"(last {utc_iso(beat) or 'never'})")
            status = self.worker_died(run.id, why, max_attempts, stale_before=cutoff,
                                      or_instance=instance_id)
            if status != "running":
                out[run.id] = status
        return out

    def requeue_unfinished(self, run_ids: Sequence[str],
                           instance_id: str | None = None) -> None:
        """On a graceful shutdown: put running runs back without charging an attempt
        (with ``instance_id``, only those still running for it); a run whose cancellation
        was requested is cancelled instead."""
        with self.session() as s, s.begin():
            for run_id in run_ids:
                run = s.get(RunRow, run_id, with_for_update=instance_id is not None)
                if run is None or run.status != "running" or (
                        instance_id is not None and run.instance_id != instance_id):
                    continue
                if run.cancel_requested:
                    self._finish(s, run_id, "cancelled", error="cancelled while running",
                                 seconds=None)
                    continue
                run.status = "queued"
                run.progress = {}
                run.attempts = max(run.attempts - 1, 0)
                run.worker_pid = None
                run.started_at = None
                run.instance_id = run.heartbeat_at = None
                run.last_error = "interrupted by a service shutdown; re-queued"

    # -------------------------------------------------------------------- results
    def get_result(self, run_id: str) -> ResultRow | None:
        if _impossible_id(run_id):
            return None
        with self.session() as s:
            return s.get(ResultRow, run_id)

    @staticmethod
    def _route_plan_query(county: str, plan_date: str, run_id: str | None) -> Any:
        """The id of the plan a county-day's download serves: the published plan, or with
        ``run_id`` the plan of that route-plan run, or of the newest request (the
        route-plan run created last; at the same moment, the greater id) among the plans
        made from that siting run: the order :meth:`finish_route_plan` publishes by, not
        the order the plans finished in."""
        q = (select(RoutePlanRow.id).join(RunRow, RunRow.id == RoutePlanRow.run_id)
             .where(RoutePlanRow.county == county, RoutePlanRow.plan_date == plan_date))
        if run_id is None:
            q = q.where(RoutePlanRow.published.is_(True))
        else:
            q = q.where((RoutePlanRow.run_id == run_id) | (RoutePlanRow.siting_run_id == run_id))
        return q.order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(1)

    def get_route_plan(self, county: str, plan_date: str,
                       run_id: str | None = None) -> RoutePlanRow | None:
        """The published plan of a county-day, or with ``run_id`` the plan made by that
        route-plan run, or the newest request's plan made from that siting run (see
        :meth:`_route_plan_query`)."""
        if _impossible_id(county, plan_date, run_id):
            return None
        with self.session() as s:
            plan_id = s.scalar(self._route_plan_query(county, plan_date, run_id))
            return s.get(RoutePlanRow, plan_id) if plan_id is not None else None

    def newest_route_plan_request(self, siting_run_id: str, county: str,
                                  plan_date: str) -> RunRow | None:
        """The newest route-plan run requested from siting run ``siting_run_id`` for a
        county-day (created last; at the same moment, the greater id), whatever its
        status: why a download with ``?run=<siting run>`` finds no plan."""
        if _impossible_id(siting_run_id, county, plan_date):
            return None
        q = (select(RunRow).where(RunRow.kind == "route_plan",
                                  RunRow.parent_run_id == siting_run_id,
                                  RunRow.county == county, RunRow.plan_date == plan_date)
             .order_by(RunRow.created_at.desc(), RunRow.id.desc()).limit(1))
        with self.session() as s:
            return s.scalars(q).first()

    def get_route_plan_by_id(self, plan_id: str) -> RoutePlanRow | None:
        """One stored route plan by its own id."""
        if _impossible_id(plan_id):
            return None
        with self.session() as s:
            return s.get(RoutePlanRow, plan_id)

    def find_route_plan_export(self, county: str, plan_date: str, fmt: str,
                               run_id: str | None = None) -> tuple[str | None, str | None]:
        """(the id of the plan :meth:`get_route_plan` finds or None, its ``fmt`` export or
        None), reading only that export."""
        if _impossible_id(county, plan_date, fmt, run_id):
            return None, None
        with self.session() as s:
            plan_id = s.scalar(self._route_plan_query(county, plan_date, run_id))
            if plan_id is None:
                return None, None
            content = s.scalar(select(RoutePlanExportRow.content).where(
                RoutePlanExportRow.plan_id == plan_id, RoutePlanExportRow.format == fmt))
            return str(plan_id), content

    def get_route_plan_export(self, county: str, plan_date: str, fmt: str,
                              run_id: str | None = None) -> tuple[bool, str | None]:
        """(a plan exists, its ``fmt`` export or None), reading only that export."""
        plan_id, content = self.find_route_plan_export(county, plan_date, fmt, run_id)
        return plan_id is not None, content

    def route_plan_export_size(self, county: str, plan_date: str, fmt: str,
                               run_id: str | None = None) -> tuple[str | None, int | None]:
        """(the id of the plan :meth:`get_route_plan` finds or None, the size in bytes of
        its ``fmt`` export as UTF-8, or None without one): the export's length is
        computed by the database, its text is not fetched (HEAD of a download)."""
        if _impossible_id(county, plan_date, fmt, run_id):
            return None, None
        size = self._utf8_length(RoutePlanExportRow.content)
        with self.session() as s:
            plan_id = s.scalar(self._route_plan_query(county, plan_date, run_id))
            if plan_id is None:
                return None, None
            n = s.scalar(select(size).where(RoutePlanExportRow.plan_id == plan_id,
                                            RoutePlanExportRow.format == fmt))
            return str(plan_id), None if n is None else int(n)

    def _utf8_length(self, text: ColumnElement[Any] | InstrumentedAttribute[Any]
                     ) -> ColumnElement[Any]:
        """The length in bytes of ``text`` encoded as UTF-8, computed by the database."""
        if self.engine.dialect.name == "postgresql":  # whatever the database's encoding
            return func.octet_length(func.convert_to(text, "UTF8"))
        return func.length(cast(text, LargeBinary))  # SQLite text is UTF-8; a BLOB's bytes

    # A plan stored without its JSON export (before the exports had their own table):
    # ``format=json`` serves the plan's JSON text as the database holds it, so that HEAD
    # can send its length, computed by the database, without fetching or serialising the
    # plan (as :meth:`route_plan_export_size` does for an export). The text is the JSON
    # the plan was stored as, the same document, with its non-ASCII characters written
    # as JSON escapes (a backslash, u and four hex digits).
    def stored_plan_text(self, plan_id: str) -> str | None:
        """The stored JSON text of plan ``plan_id`` (None when there is no such plan)."""
        with self.session() as s:
            stored = s.scalar(select(cast(RoutePlanRow.plan, Text))
                            .where(RoutePlanRow.id == plan_id))
        return None if stored is None else str(stored)

    def stored_plan_size(self, plan_id: str) -> int | None:
        """The length in bytes (UTF-8) of :meth:`stored_plan_text`, computed by the
        database; None when there is no such plan."""
        with self.session() as s:
            n = s.scalar(select(self._utf8_length(cast(RoutePlanRow.plan, Text)))
                         .where(RoutePlanRow.id == plan_id))
        return None if n is None else int(n)

    def route_plan_exports(self, plan_id: str) -> dict[str, str]:
        with self.session() as s:
            return {f: c for f, c in s.execute(
                select(RoutePlanExportRow.format, RoutePlanExportRow.content)
                .where(RoutePlanExportRow.plan_id == plan_id)).all()}

    # ------------------------------------------------------------------- API keys
    def create_key(self, role: str, counties: Sequence[str] = (), label: str = "") -> NewKey:
        """Create a key; only its hash is stored. The token is ``wn_<key id>_<secret>``."""
        if role not in ROLES:
            raise ValueError(f"role={role!r}: must be one of {', '.join(ROLES)}")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        with self.session() as s, s.begin():
            s.add(ApiKeyRow(id=key_id, secret_hash=hash_secret(secret), role=role,
                            counties=list(counties), label=label[:200], created_at=utcnow()))
        return NewKey(key_id, f"{KEY_PREFIX}_{key_id}_{secret}", role, tuple(counties))

    def verify_key(self, token: str) -> ApiKeyRow | None:
        """The live key matching ``token``, compared in constant time, or None."""
        parts = token.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
            return None
        with self.session() as s:
            row = s.get(ApiKeyRow, parts[1][:32])
        if row is None or row.revoked_at is not None:
            hmac.compare_digest(hash_secret(parts[2]), hash_secret("x"))  # same work
            return None
        if not hmac.compare_digest(row.secret_hash, hash_secret(parts[2])):
            return None
        return row

    def has_keys(self) -> bool:
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(ApiKeyRow)
                            .where(ApiKeyRow.revoked_at.is_(None))) != 0

    def has_admin_key(self) -> bool:
        """Whether a live (unrevoked) ``admin`` key exists: a listener that is not
        loopback-only may not start without one."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(ApiKeyRow)
                            .where(ApiKeyRow.revoked_at.is_(None),
                                   ApiKeyRow.role == "admin")) != 0

    def list_keys(self) -> list[ApiKeyRow]:
        with self.session() as s:
            return list(s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)).all())

    def revoke_key(self, key_id: str) -> bool:
        with self.session() as s, s.begin():
            res = s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id,
                                                    ApiKeyRow.revoked_at.is_(None))
                            .values(revoked_at=utcnow()))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def delete_all(self) -> None:  # pragma: no cover - maintenance helper for tests
        with self.session() as s, s.begin():
            for model in (IdempotencyKeyRow, RoutePlanExportRow, RoutePlanRow, ResultRow, RunRow, ScenarioRow,
                          ApiKeyRow):
                s.execute(delete(model))


def utc_iso(ts: datetime | None) -> str | None:
    """ISO 8601 text of a stored timestamp (UTC)."""
    t = as_utc(ts)
    return t.isoformat() if t is not None else None

