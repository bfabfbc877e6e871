"""Province-wide route planning: one county-day per work unit, on any executor.

Planning the collection routes of Liaoning's rural counties is embarrassingly parallel:
every county-day is an independent routing problem (its own depot, fleet, villages and
assigned facilities). This module cuts the province into such work units and runs them
on whatever :class:`concurrent.futures.Executor` the caller hands in.

Design
------
* :class:`CountyDay` is a frozen, picklable work unit holding everything a worker needs
  and nothing global: the validated :class:`~wastenet.scenario.schema.Scenario` (a frozen
  pydantic model, which pickles as it is), the part of the siting output that county
  needs (:func:`county_siting`: its villages' assignment rows and the facilities they
  name), the county adcode, the date, the solver settings (time limit, seed, solution
  limit) and export coordinate system, and the county-day's compiled routing data
  (:class:`~wastenet.routing.data.RoutingData`, or the domain error compiling it
  raised, as a :class:`UnitFailure`).
* :func:`compile_units` compiles that data in the caller's process, one county after
  the other as :func:`plan_province` reads them (:func:`make_units`: all of them at
  once), from the scenario's network built once for all the units: building it
  (:func:`~wastenet.scenario.network.build_network`) costs about 0.3 s for the province,
  and with a road matrix (``data.distance_matrix_file``) as much as loading the whole
  matrix (about 11 s and 6 GB for a 1.9 GB province matrix), which no worker then
  repeats. A worker reads nothing from files or module state: the county's distances
  and travel times travel in its unit. The price is the size of a unit, whose data
  holds the county-day's dense distance and time matrices (about 1.2 MB pickled on
  average for the province's counties, 10 MB for the largest), and the weekly planner
  (:mod:`wastenet.routing.frequency`, whose exact repair runs CP-SAT) running in the
  caller's process, one county after the other: under a second for the province with
  daily collection, about half a minute with collection twice a week. That time
  overlaps the planning: each unit is submitted as soon as its data is compiled, so
  the workers plan the first counties while the caller compiles the next ones.
  A :class:`CountyDay` made without data is compiled by the worker, which then builds
  the network itself, reading the files the scenario names (``data.villages_file``,
  ``data.distance_matrix_file``: absolute paths after
  :func:`~wastenet.scenario.schema.load_scenario`, which must then exist at the same
  path on every machine of a cluster).
* :func:`plan_unit` is a pure top-level function (so process pools and Dask workers can
  import it by name) that calls :func:`wastenet.pipeline.run_route_plan` on the unit's
  data and returns a :class:`CountyOutcome`: plain data (strings, numbers, the JSON-able
  plan dict and the export texts), so it pickles back to the parent whatever happened.
  Domain errors (:class:`~wastenet.errors.WastenetError` subclasses), compiling the data
  or solving, become ``status="failed"`` with their message; they are turned into
  strings where they are raised (:class:`UnitFailure`), because the domain exceptions'
  keyword-carrying constructors do not survive unpickling. Anything else is a bug and
  propagates. A county with no village due that day (low collection frequencies) is
  ``status="idle"``, not a failure. The plan is then checked by the independent
  route-plan checker (:func:`wastenet.routing.checker.check`) against the county-day
  data it was solved on, and the KPIs are read from the plan dict.
* :func:`plan_province` submits every unit to the executor as it comes (from a list
  or from :func:`compile_units`) and collects the results as they arrive (so a
  progress callback sees each county as it finishes), but returns them in the units'
  order: the output never depends on which worker finished first. ``executor=None``
  runs the units here, one after the other.
  A Dask cluster is reached through ``distributed.Client(address).get_executor()``, which
  *is* a ``concurrent.futures.Executor``; this module therefore never imports Dask.
* A plan the independent checker rejects keeps ``status="ok"`` (the worker did make a
  plan) but its :attr:`CountyOutcome.verdict` is ``"rejected"``: its row says so, with
  the first violations as the message, and it is left out of the totals like a failure.
* :func:`province_summary` turns the outcomes into per-county rows and province totals
  (the totals are sums of the rounded row values, so a CSV of the rows adds up).

County codes: every county code a unit carries is six digits (:class:`CountyDay`), and
:func:`assigned_counties` refuses a siting output whose ``county`` cells are not known
Liaoning county adcodes, because callers name folders after them.
:func:`check_counties` refuses counties the scenario has no villages in (the command
line calls it before making the units; :func:`make_units` itself gives such a county a
unit that fails, as any county-day whose data cannot be compiled).

Determinism: each unit carries its own seed. OR-Tools under a time limit stops wherever
the clock says, so a plan is reproducible across runs, machines and executors only when
the search stopped on ``solution_limit`` (a work limit), or ended by itself, before the
time limit. A solution limit alone does not guarantee that: when the time limit comes
first, the plan depends on the machine's speed and load. :func:`stopped_by` tells, per
plan, which limit stopped the search (recorded in every row as ``stopped_by``): what
the solver recorded in the plan's ``meta.stopped_by``, or for a plan without that
record a guess from the clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wastenet.bounds import is_finite_number
from wastenet.errors import ValidationError, WastenetError
from wastenet.scenario.schema import Scenario

if TYPE_CHECKING:
    from wastenet.routing.data import RoutingData
    from wastenet.scenario.network import Network

log = logging.getLogger("wastenet.province")

#: the verdicts of a county-day (:attr:`CountyOutcome.verdict`, the rows' ``status``)
STATUSES = ("ok", "idle", "failed", "rejected")
CRS_CHOICES = ("wgs84", "gcj02")
#: checker violations quoted in the message of a rejected plan
REJECTED_SHOWN = 3
#: a search that ran for at least this share of its time budget counts as stopped by
#: the time limit, in a plan that does not record what stopped it
#: (:func:`stopped_by_clock`)
TIME_LIMIT_SHARE = 0.95
#: what stopped a plan's search (:func:`stopped_by`; "" when nothing was searched)
STOPPED_BY = ("time_limit", "solution_limit", "search_end", "")
#: the key of a plan's ``meta`` in which the solver records what stopped its search
RECORDED_KEY = "stopped_by"

#: columns of a per-county row (:func:`province_summary`, ``province.csv``)
ROW_FIELDS = ("county", "county_name", "date", "status", "stops", "vehicles",
              "distance_km", "duration_h", "tonnes", "tonne_km", "cost_yuan",
              "stopped_by", "solver_status", "check_ok", "message")
#: free-text columns of a row (``province.csv`` writes them through the formula guard)
TEXT_FIELDS = ("county", "county_name", "date", "status", "stopped_by", "solver_status",
               "message")
#: numeric columns summed into the province totals, with their rounding (decimals)
SUM_FIELDS: dict[str, int] = {"stops": 0, "vehicles": 0, "distance_km": 3,
                              "duration_h": 3, "tonnes": 3, "tonne_km": 3,
                              "cost_yuan": 2}

ProgressCallback = Callable[["CountyOutcome"], None]


# ---------------------------------------------------------------------------------------
# work unit
# ---------------------------------------------------------------------------------------

def assigned_counties(siting: Mapping[str, Any], source: str = "assignments.csv"
                      ) -> list[str]:
    """Adcodes of the counties with villages assigned in a siting output, sorted.

    Every non-empty ``county`` cell must be a known Liaoning county adcode (six digits,
    :func:`wastenet.data.liaoning.county_index`): callers name output folders after
    these codes, so a cell such as ``../x`` or ``/tmp/x`` must never get that far.
    Otherwise :class:`ValidationError` naming ``<source>:county``, the value and its row
    (1-based, as :func:`wastenet.pipeline.check_siting` counts them).
    """
    from wastenet.data import liaoning

    known = liaoning.county_index()
    found: set[str] = set()
    for k, a in enumerate(siting.get("assignments", ())):
        value = a.get("county") if isinstance(a, Mapping) else None
        if value is None or value == "":
            continue
        code = str(value)
        if code not in known:  # the known adcodes are six digits
            raise ValidationError(f"{source}:county", value, "not a Liaoning county "
                                  "adcode", row=k + 1, hint="six digits, e.g. 210124")
        found.add(code)
    return sorted(found)


def county_siting(siting: Mapping[str, Any], county: str) -> dict[str, Any]:
    """The part of a siting output (:func:`~wastenet.pipeline.run_siting` or
    ``load_siting_dir``) that routing ``county`` reads: the assignment rows of its
    villages, in their order, and the facilities those rows name.

    Rows without a ``county`` column are kept (they might belong to it), so the
    restriction never changes a plan; it only keeps the work unit small. Of the summary
    only what :func:`~wastenet.pipeline.check_provenance` reads is passed on, so that
    each unit's routing data is checked against the villages it was sited for.
    """
    from wastenet.pipeline import provenance_of

    rows = [a for a in siting.get("assignments", ())
            if not a.get("county") or str(a["county"]) == county]
    used = {str(a["facility_id"]) for a in rows}
    feats = [f for f in siting.get("facilities", {}).get("features", ())
             if str(f.get("properties", {}).get("id")) in used]
    return {"facilities": {"type": "FeatureCollection", "features": feats},
            "assignments": rows, "summary": provenance_of(siting)}


def check_counties(network: Network, counties: Sequence[str], field: str = "counties"
                   ) -> None:
    """Refuse the ``counties`` the network's scenario has no villages in (none of its
    villages lies in them): one :class:`ValidationError` naming ``field`` and every such
    adcode (comma-separated, in the given order), with the counties it has villages in
    as the hint."""
    have = set(network.counties)
    missing = [c for c in counties if c not in have]
    if not missing:
        return
    which = "this county" if len(missing) == 1 else f"these {len(missing)} counties"
    shown = ", ".join(network.counties[:10])
    more = f" and {len(network.counties) - 10} more" if len(network.counties) > 10 else ""
    raise ValidationError(field, ",".join(missing), f"scenario {network.scenario.name!r} "
                          f"has no villages in {which}",
                          hint=f"its villages lie in {shown}{more}")


@dataclass(frozen=True)
class UnitFailure:
    """A domain error (:class:`~wastenet.errors.WastenetError`) of a county-day, as plain
    strings (the exceptions do not survive unpickling): its type name, its text and
    whether it means that no village is due that day (``idle``: a ``date`` error, as
    the unit's date itself is valid)."""

    error_type: str
    message: str
    idle: bool = False

    @classmethod
    def of(cls, exc: WastenetError) -> UnitFailure:
        return cls(type(exc).__name__, str(exc),
                   isinstance(exc, ValidationError) and exc.field == "date")


@dataclass(frozen=True)
class CountyDay:
    """One county-day to plan: everything a worker needs, nothing global.

    ``siting`` is a siting output dict (``facilities`` GeoJSON and ``assignments``
    rows), ideally restricted with :func:`county_siting` (see :func:`make_units`).
    ``time_limit_s`` / ``seed`` of ``None`` mean the scenario's values.

    ``data`` is the county-day's routing data (:func:`wastenet.pipeline.route_plan_data`
    of the scenario, ``siting``, county and date), or ``failure`` the domain error that
    compiling it raised (at most one of them; :func:`make_units` sets one). With
    neither, the worker compiles the data itself, building the network.
    """

    scenario: Scenario
    siting: Mapping[str, Any]
    county: str
    date: str
    time_limit_s: float | None = None
    seed: int | None = None
    solution_limit: int | None = None
    crs: str = "wgs84"
    data: RoutingData | None = None
    failure: UnitFailure | None = None

    def __post_init__(self) -> None:
        try:
            dt.date.fromisoformat(self.date)
        except (TypeError, ValueError) as exc:
            raise ValidationError("date", self.date, "must be YYYY-MM-DD") from exc
        if not (isinstance(self.county, str) and re.fullmatch(r"\d{6}", self.county)):
            raise ValidationError("county", self.county, "must be a six-digit adcode",
                                  hint="e.g. 210124")
        if self.crs not in CRS_CHOICES:
            raise ValidationError("crs", self.crs, f"must be one of {', '.join(CRS_CHOICES)}")
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise ValidationError("time_limit_s", self.time_limit_s, "must be > 0")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValidationError("solution_limit", self.solution_limit, "must be >= 1")
        if self.data is not None:
            if self.failure is not None:
                raise ValueError("a county-day has routing data or a failure, not both")
            meta = self.data.meta
            if (meta.get("county"), meta.get("date")) != (self.county, self.date):
                raise ValueError(f"the routing data is of county {meta.get('county')} on "
                                 f"{meta.get('date')}, not of the unit's county "
                                 f"{self.county} on {self.date}")


def compile_units(scenario: Scenario, siting: Mapping[str, Any], counties: Sequence[str],
                  date: str, *, time_limit_s: float | None = None, seed: int | None = None,
                  solution_limit: int | None = None, crs: str = "wgs84",
                  network: Network | None = None) -> Iterator[CountyDay]:
    """One :class:`CountyDay` per county (in the given order), each carrying only its
    county's part of ``siting`` and its compiled routing data, compiled one at a time
    as the iterator is read: :func:`plan_province` submits each unit as soon as it is
    compiled, so the workers plan the first counties while this process compiles the
    next ones.

    Checked now, before the iterator is returned: the settings (:class:`CountyDay`) and
    the network, ``network`` (``build_network(scenario)``, when the caller has built it
    already) or else one built here, once (a scenario whose network cannot be built
    raises here). Every county's data is compiled from that one network, which the
    iterator holds until it is exhausted. A county whose data cannot be compiled (a
    domain error: an unknown adcode, a county without villages, villages without an
    assigned facility, nothing due that day...) gets a unit carrying that error
    (:class:`UnitFailure`), which :func:`plan_unit` reports as it would have raised it.
    """
    units = [CountyDay(scenario=scenario, siting=county_siting(siting, c), county=c,
                       date=date, time_limit_s=time_limit_s, seed=seed,
                       solution_limit=solution_limit, crs=crs)
             for c in counties]
    if units and network is None:
        from wastenet.scenario.network import build_network

        network = build_network(scenario)
    return _compiled(units, network)


def _compiled(units: list[CountyDay], network: Network | None) -> Iterator[CountyDay]:
    """``units`` with their data compiled from ``network``, one at a time
    (:func:`compile_units`)."""
    from wastenet.pipeline import route_plan_data

    for k, unit in enumerate(units):
        t0 = time.perf_counter()
        try:
            data = route_plan_data(unit.scenario, unit.siting, unit.county, unit.date,
                                   network=network)
        except WastenetError as exc:
            compiled = replace(unit, failure=UnitFailure.of(exc))
        else:
            compiled = replace(unit, data=data)
        log.debug("county %s on %s compiled (%d of %d) in %.2f s%s", unit.county,
                  unit.date, k + 1, len(units), time.perf_counter() - t0,
                  "" if compiled.failure is None else f": {compiled.failure.message}")
        yield compiled


def largest_first(network: Network, counties: Sequence[str]) -> list[str]:
    """``counties`` ordered by their number of villages in ``network``, most first (ties
    keep the given order): the order in which to compile and submit them, so that the
    longest plans start first and the short ones fill in around them rather than a large
    county, compiled last, finishing the run alone."""
    size = Counter(network.villages.county)
    return sorted(counties, key=lambda c: -size[c])


def make_units(scenario: Scenario, siting: Mapping[str, Any], counties: Sequence[str],
               date: str, *, time_limit_s: float | None = None, seed: int | None = None,
               solution_limit: int | None = None, crs: str = "wgs84",
               network: Network | None = None) -> list[CountyDay]:
    """The units of :func:`compile_units` (same arguments), every one compiled before
    this returns."""
    return list(compile_units(scenario, siting, counties, date, time_limit_s=time_limit_s,
                              seed=seed, solution_limit=solution_limit, crs=crs,
                              network=network))


# ---------------------------------------------------------------------------------------
# outcome
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountyOutcome:
    """What a worker sends back for one :class:`CountyDay` (plain, picklable data).

    ``status`` is what the worker got: ``"ok"`` (``plan`` and ``exports`` set),
    ``"idle"`` (no village due that day) or ``"failed"`` (``message`` says why, naming
    the county). KPIs are read from the plan: ``duration_s`` is the sum of the routes'
    paid shifts, ``tonnes`` the waste collected (first load dimension). ``check_ok``
    says whether the independent route-plan checker accepts the plan (``None`` when
    there is no plan); ``violations`` lists the first of its complaints, and
    :attr:`verdict` is ``"rejected"`` when it does not accept it. ``solver_status`` is
    the plan's solver status and ``stopped_by`` what stopped its search
    (:func:`stopped_by`). ``elapsed_s`` is the unit's wall time in the worker (not
    reproducible; leave it out of comparisons).
    """

    county: str
    date: str
    status: str
    county_name: str = ""
    message: str | None = None
    error_type: str | None = None
    plan: dict[str, Any] | None = None
    exports: dict[str, str] = field(default_factory=dict)
    stops: int = 0
    vehicles: int = 0
    distance_m: float = 0.0
    duration_s: float = 0.0
    tonnes: float = 0.0
    tonne_km: float = 0.0
    cost_yuan: float = 0.0
    check_ok: bool | None = None
    violations: tuple[str, ...] = ()
    solver_status: str = ""
    stopped_by: str = ""
    elapsed_s: float = 0.0

    @property
    def verdict(self) -> str:
        """``status``, except ``"rejected"`` for a plan the route-plan checker does not
        accept: such a plan is not a valid plan of the day (:data:`STATUSES`)."""
        if self.status == "ok" and self.check_ok is False:
            return "rejected"
        return self.status

    @property
    def summary_message(self) -> str:
        """``message``; for a rejected plan, the checker's first violations."""
        if self.verdict != "rejected":
            return self.message or ""
        shown = list(self.violations[:REJECTED_SHOWN])
        more = len(self.violations) - len(shown)
        text = (f"county {self.county} on {self.date}: the route-plan checker rejects "
                f"the plan: {'; '.join(shown) or 'no violation given'}")
        return text + (f"; and {more} more" if more > 0 else "")

    def row(self) -> dict[str, Any]:
        """The per-county row of :func:`province_summary` (``ROW_FIELDS``); ``status`` is
        the :attr:`verdict`, and the numeric columns are ``None`` for a failed county
        (unknown, not zero) and for a rejected plan (not valid)."""
        values = {"stops": self.stops, "vehicles": self.vehicles,
                  "distance_km": self.distance_m / 1000.0,
                  "duration_h": self.duration_s / 3600.0, "tonnes": self.tonnes,
                  "tonne_km": self.tonne_km, "cost_yuan": self.cost_yuan}
        blank = self.verdict in ("failed", "rejected")
        return {
            "county": self.county, "county_name": self.county_name, "date": self.date,
            "status": self.verdict,
            **{k: None if blank else round(values[k], nd) if nd else int(values[k])
               for k, nd in SUM_FIELDS.items()},
            "stopped_by": self.stopped_by, "solver_status": self.solver_status,
            "check_ok": self.check_ok, "message": self.summary_message,
        }


def _county_name(county: str) -> str:
    from wastenet.data import liaoning

    if county in liaoning.county_index():
        return liaoning.get_county(county).name
    return ""


def _tonnes(plan: Mapping[str, Any]) -> float:
    dims = list(plan.get("load_dims") or ["t"])
    k = dims.index("t") if "t" in dims else 0
    return float(sum(float(r["load_total"][k] or 0.0) for r in plan.get("routes", ())
                     if len(r.get("load_total", ())) > k))


def _number(x: object) -> float | None:
    return float(x) if is_finite_number(x) else None


def stopped_by(plan: Mapping[str, Any]) -> str:
    """What stopped the search of a plan dict (:func:`wastenet.routing.exports` form):
    ``"time_limit"``, ``"solution_limit"``, ``"search_end"`` (it ended by itself, no
    limit reached) or ``""`` (nothing was searched: no stop to visit).

    The solver's own record comes first: ``meta.stopped_by`` (``RECORDED_KEY``), what
    the routing adapter saw stop the search itself
    (:attr:`wastenet.routing.ortools_adapter.RawSolution.stopped_by`), when it is one
    of the non-empty values above. A plan without such a record is judged by the
    clock (:func:`stopped_by_clock`), a guess: the plan's wall time also counts the
    model building, the decoding and, for a decomposed plan, every part, so a plan
    whose searches all ended on the solution limit may be called ``"time_limit"``.
    """
    status = str(plan.get("status") or "")
    if not status or status == "EMPTY":
        return ""
    raw_meta = plan.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    recorded = meta.get(RECORDED_KEY)
    if isinstance(recorded, str) and recorded and recorded in STOPPED_BY:
        return recorded
    if recorded not in (None, ""):
        log.debug("plan %s: unknown %s %r; judging by the clock", plan.get("name"),
                  RECORDED_KEY, recorded)
    return stopped_by_clock(status, plan.get("elapsed_s"), meta)


def stopped_by_clock(status: str, elapsed_s: object, meta: Mapping[str, Any]) -> str:
    """The clock's guess of what stopped a search whose plan does not record it
    (:func:`stopped_by`), from its status, wall time and meta.

    OR-Tools' status says only *whether* a limit stopped the search
    (``ROUTING_PARTIAL_SUCCESS``), not which one, so the clock decides: a search that
    ran for at least ``TIME_LIMIT_SHARE`` of its time budget counts as stopped by the
    time limit. The budget is the plan's ``meta.time_limit_s``, divided by
    ``meta.parts`` for a decomposed plan (each part gets a share of the time; a part
    cut short by the clock shows up as at least about that share). The rule errs on the
    side of ``"time_limit"``: it may name the clock for a slow search that the solution
    limit would have stopped anyway, never the other way round for a plain search.
    Without a solution limit every search that hit a limit hit the time limit.
    """
    limit = _number(meta.get("time_limit_s"))
    elapsed = _number(elapsed_s)
    parts = _number(meta.get("parts")) or 1.0
    if limit is not None and elapsed is not None and \
            elapsed >= TIME_LIMIT_SHARE * limit / max(parts, 1.0):
        return "time_limit"
    if "PARTIAL" in status or "TIMEOUT" in status:
        return "solution_limit" if meta.get("solution_limit") is not None else "time_limit"
    return "search_end"


def _failed(unit: CountyDay, name: str, failure: UnitFailure, t0: float) -> CountyOutcome:
    """The outcome of a county-day that a domain error stopped ("idle" when nothing is
    due that day)."""
    return CountyOutcome(
        county=unit.county, date=unit.date, status="idle" if failure.idle else "failed",
        county_name=name, message=f"county {unit.county} on {unit.date}: {failure.message}",
        error_type=failure.error_type, elapsed_s=time.perf_counter() - t0)


def plan_unit(unit: CountyDay) -> CountyOutcome:
    """Plan one county-day (in whatever process runs it) and check the plan.

    Domain errors give ``status="failed"`` (or ``"idle"`` when no village is due that
    day), also one that compiling the unit's data raised earlier
    (:attr:`CountyDay.failure`); other exceptions propagate.
    """
    from wastenet.pipeline import route_plan_data, run_route_plan
    from wastenet.routing.checker import check
    from wastenet.routing.exports import plan_from_dict

    t0 = time.perf_counter()
    name = _county_name(unit.county)
    if unit.failure is not None:
        return _failed(unit, name, unit.failure, t0)
    try:
        data = unit.data
        if data is None:  # a unit made without its data: compile it here
            data = route_plan_data(unit.scenario, unit.siting, unit.county, unit.date)
        res = run_route_plan(unit.scenario, unit.siting, unit.county, unit.date,
                             time_limit_s=unit.time_limit_s, seed=unit.seed, crs=unit.crs,
                             solution_limit=unit.solution_limit, data=data)
        plan = res["plan"]
        # the independent checker, on the plan as sent back (its dict form)
        report = check(data, plan_from_dict(plan))
        check_ok, violations = report.ok, tuple(report.violations[:20])
    except WastenetError as exc:
        return _failed(unit, name, UnitFailure.of(exc), t0)
    return CountyOutcome(
        county=unit.county, date=unit.date, status="ok", county_name=name, plan=plan,
        exports=dict(res["exports"]), stops=int(plan["data"]["n_stops"]),
        vehicles=int(plan["vehicles"]), distance_m=float(plan["distance_m"] or 0.0),
        duration_s=float(plan["duration_s"] or 0.0), tonnes=_tonnes(plan),
        tonne_km=float(plan["tonne_km"] or 0.0), cost_yuan=float(plan["cost_yuan"] or 0.0),
        check_ok=check_ok, violations=violations,
        solver_status=str(plan.get("status") or ""), stopped_by=stopped_by(plan),
        elapsed_s=time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------
# running and summing
# ---------------------------------------------------------------------------------------

def local_executor(max_workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers start fresh ("forkserver", else "spawn"), never forked
    from a parent that may hold OR-Tools or BLAS threads."""
    if max_workers < 1:
        raise ValidationError("workers", max_workers, "must be >= 1")
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=ctx)


def _note(outcome: CountyOutcome, progress: ProgressCallback | None) -> None:
    if outcome.verdict in ("failed", "rejected"):
        log.warning("%s", outcome.summary_message)
    else:
        log.debug("county %s on %s: %s", outcome.county, outcome.date, outcome.status)
    if progress is not None:
        progress(outcome)


def plan_province(units: Iterable[CountyDay], *, executor: Executor | None = None,
                  progress: ProgressCallback | None = None) -> list[CountyOutcome]:
    """Plan every unit; results in the units' order, whatever the completion order.

    ``units``: a sequence, or an iterator such as :func:`compile_units`, whose units
    are each submitted as soon as it yields them (the outcomes that arrive meanwhile are
    collected between two units), so that the workers start on the first units while
    the iterator makes the next ones.

    ``executor``: any :class:`concurrent.futures.Executor` (a process pool from
    :func:`local_executor`, ``distributed.Client(address).get_executor()``...); ``None``
    plans the units here, one after the other. ``progress`` is called with each outcome
    as it arrives (completion order). Failures are logged as warnings on
    ``wastenet.province``. If a unit raises a non-domain exception (or the iterator
    does), the units not yet started are cancelled and the exception propagates.
    """
    if executor is None:
        out = []
        for unit in units:
            outcome = plan_unit(unit)
            _note(outcome, progress)
            out.append(outcome)
        return out
    results: dict[int, CountyOutcome] = {}
    futures: dict[Future[CountyOutcome], int] = {}
    pending: list[Future[CountyOutcome]] = []

    def collect(fut: Future[CountyOutcome]) -> None:
        outcome = fut.result()
        results[futures[fut]] = outcome
        _note(outcome, progress)

    try:
        for i, unit in enumerate(units):
            fut = executor.submit(plan_unit, unit)
            futures[fut] = i
            pending.append(fut)
            done = [f for f in pending if f.done()]  # ended while this unit was made
            if done:
                ended = set(done)
                pending = [f for f in pending if f not in ended]
                for f in done:
                    collect(f)
        for fut in as_completed(pending):
            collect(fut)
    finally:
        for fut in futures:
            fut.cancel()
    return [results[i] for i in range(len(futures))]


def province_summary(outcomes: Sequence[CountyOutcome]) -> dict[str, Any]:
    """Per-county rows (``ROW_FIELDS``, in the outcomes' order) and province totals.

    ``totals`` holds the sums of the rows' rounded numeric columns (``SUM_FIELDS``; idle
    counties count zero, failed counties and rejected plans are left out), the number of
    counties by verdict (``counties_ok``, ``counties_idle``, ``counties_failed``,
    ``counties_rejected``; a rejected plan is not ``ok``), of plans the checker rejects
    and of plans whose search the time limit stopped (``stopped_by_time_limit``);
    ``failed`` lists ``{county, message}`` of the failed counties and ``rejected``
    ``{county, message, violations}`` of the rejected plans.
    """
    rows = [o.row() for o in outcomes]
    totals: dict[str, Any] = {}
    for k, nd in SUM_FIELDS.items():
        total = sum(r[k] for r in rows if r[k] is not None)
        totals[k] = round(total, nd) if nd else int(total)
    totals["counties"] = len(rows)
    for status in STATUSES:
        totals[f"counties_{status}"] = sum(1 for o in outcomes if o.verdict == status)
    totals["plans_rejected_by_checker"] = sum(1 for o in outcomes if o.check_ok is False)
    totals["stopped_by_time_limit"] = sum(1 for o in outcomes
                                          if o.stopped_by == "time_limit")
    return {
        "dates": sorted({o.date for o in outcomes}),
        "counties": rows,
        "totals": totals,
        "failed": [{"county": o.county, "message": o.message} for o in outcomes
                   if o.verdict == "failed"],
        "rejected": [{"county": o.county, "message": o.summary_message,
                      "violations": list(o.violations)} for o in outcomes
                     if o.verdict == "rejected"],
    }
