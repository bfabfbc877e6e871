"""End-to-end work units: scenario -> network -> problem data -> solver -> JSON-able output.

Each function is a self-contained unit of work with JSON-able inputs and outputs, so the
CLI, the HTTP service's worker processes (and later a Dask cluster) can run it anywhere:

* :func:`run_siting` returns ``{"summary", "facilities", "assignments"}``;
* :func:`run_route_plan` returns ``{"plan", "exports"}`` for one county-day;
* :func:`compare` contrasts two siting summaries (what does sharing save?).

Building the network (:func:`~wastenet.scenario.network.build_network`) is the costly
step a county-day shares with every other county-day of the scenario (about 0.3 s for
the province, much more with a road matrix, ``data.distance_matrix_file``):
:func:`route_plan_data` and :func:`run_route_plan` take it as ``network=`` so that a
caller planning many county-days (``wastenet plan-routes --week``,
:func:`wastenet.province.make_units`) builds it once; without it they build it. A
week of one county (``plan-routes --week``) also plans its visit days once
(:func:`route_plan_week`, passed as ``week=``).

A route plan is planned only from a siting output made for the scenario's villages:
:func:`check_provenance` (called by :func:`route_plan_week` and :func:`route_plan_data`,
so by every caller) compares the summary's ``data_seed`` and ``village_set_sha256`` with
the scenario's network (whose digest, ``Network.village_digest``, is computed once per
network). A siting output that cannot be checked (no summary, or one without these
fields) is warned about by the commands, once per run (``warn=True``), not per
county-day.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wastenet.bounds import is_finite_number
from wastenet.errors import ValidationError
from wastenet.scenario.names import bad_text_message
from wastenet.scenario.network import Network, build_network, villages_digest
from wastenet.scenario.schema import Scenario
from wastenet.siting.build import build_siting_data
from wastenet.siting.data import SitingData
from wastenet.siting.result import SitingResult

if TYPE_CHECKING:
    from wastenet.routing.build import CountyWeek
    from wastenet.routing.data import RoutingData

log = logging.getLogger("wastenet.pipeline")

ProgressCallback = Callable[[dict[str, Any]], None]
#: version of ``summary.json``. 2: the uncovered-village penalty is its own KPI
#: (``uncovered_penalty_yuan_per_year``), no longer inside any county's or prefecture's
#: cost or the cost per tonne, and ``existing_facilities_used`` counts only existing
#: facilities that receive waste. :func:`compare` says when two summaries differ in it.
SUMMARY_SCHEMA_VERSION = 2


def _r(x: float, nd: int = 2) -> float:
    return float(round(float(x), nd))


def facility_rows(data: SitingData, result: SitingResult) -> list[dict[str, Any]]:
    """One row per open facility: id, name, kind, size, capacity, inflow, counties served."""
    rows: list[dict[str, Any]] = []
    inflow_t = np.zeros(len(data.transfer))
    inflow_i = np.zeros(len(data.incinerator))
    served: dict[tuple[str, int], dict[str, float]] = {}
    for v, f, direct, frac in zip(result.flow_village, result.flow_facility, result.flow_direct,
                                  result.flow_fraction, strict=True):
        t = float(data.demand[v] * frac)
        key = ("incinerator" if direct else "transfer", int(f))
        (inflow_i if direct else inflow_t)[f] += t
        county = data.county_codes[int(data.village_county[v])]
        served.setdefault(key, {})
        served[key][county] = served[key].get(county, 0.0) + t
    for j, k, t in zip(result.haul_transfer, result.haul_incinerator, result.haul_t_per_day,
                       strict=True):
        inflow_i[k] += t
        for county, share in served.get(("transfer", int(j)), {}).items():
            frac = float(t) / max(inflow_t[j], 1e-12)
            served.setdefault(("incinerator", int(k)), {})
            d = served[("incinerator", int(k))]
            d[county] = d.get(county, 0.0) + share * frac
    for kind, sites, sizes, inflow in (("transfer", data.transfer, result.transfer_size,
                                        inflow_t),
                                       ("incinerator", data.incinerator,
                                        result.incinerator_size, inflow_i)):
        for s in np.flatnonzero(sizes != -1):
            sz = int(sizes[s])
            existing = sz == -2
            cap = float(sites.existing_capacity[s]) if existing else float(
                sites.size_capacity[s, sz])
            fixed = 0.0 if existing else float(sites.size_fixed_cost[s, sz])
            by_county = served.get((kind, int(s)), {})
            rows.append({
                "id": sites.ids[s], "name": sites.names[s], "kind": kind,
                "county": data.county_codes[int(sites.county[s])] if sites.county[s] >= 0
                else None,
                "lon": float(sites.lon[s]), "lat": float(sites.lat[s]),
                "size": "existing" if existing else sites.size_names[s][sz],
                "existing": existing, "capacity_t_per_day": cap,
                "fixed_cost_yuan_per_year": _r(fixed),
                "inflow_t_per_day": _r(inflow[s], 4),
                "utilisation": _r(inflow[s] / cap, 4) if cap > 0 else None,
                "counties_served": {c: _r(t, 4) for c, t in sorted(by_county.items())},
            })
    return rows


def assignment_rows(data: SitingData, result: SitingResult) -> list[dict[str, Any]]:
    """One row per village flow (the village's share sent to one facility)."""
    dist: dict[tuple[bool, int, int], float] = {}
    for arcs, direct in ((data.collect, False), (data.direct, True)):
        for a, b, d in zip(arcs.src.tolist(), arcs.dst.tolist(), arcs.distance_m.tolist(),
                           strict=True):
            dist[(direct, a, b)] = d
    rows = []
    for v, f, direct, frac in zip(result.flow_village.tolist(), result.flow_facility.tolist(),
                                  result.flow_direct.tolist(), result.flow_fraction.tolist(),
                                  strict=True):
        sites = data.incinerator if direct else data.transfer
        rows.append({
            "village_id": data.village_ids[v], "village_name": data.village_names[v],
            "county": data.county_codes[int(data.village_county[v])],
            "facility_id": sites.ids[f], "facility_name": sites.names[f],
            "facility_kind": "incinerator" if direct else "transfer",
            "distance_m": _r(dist.get((bool(direct), v, f), float("nan")), 1),
            "t_per_day": _r(data.demand[v] * frac, 5),
            "fraction": _r(frac, 6),
        })
    return rows


def facilities_geojson(rows: Sequence[Mapping[str, Any]], *, synthetic: bool,
                       data_seed: int | None, solver_seed: int | None = None
                       ) -> dict[str, Any]:
    """The facilities as a GeoJSON FeatureCollection (``facilities.geojson``), with the
    provenance in its top-level ``properties``: ``synthetic``, ``data_seed`` (the seed
    the villages were generated with; None for user data) and ``solver_seed`` (the
    seed of the solve), named as in ``summary.json`` and ``assignments.csv``."""
    feats = []
    for r in rows:
        props = {k: v for k, v in r.items() if k not in ("lon", "lat")}
        feats.append({"type": "Feature",
                      "geometry": {"type": "Point",
                                   "coordinates": [round(r["lon"], 6), round(r["lat"], 6)]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats,
            "properties": {"synthetic": synthetic, "data_seed": data_seed,
                           "solver_seed": solver_seed}}


def village_set_digest(data: SitingData) -> str:
    """A fingerprint of the villages a siting run plans for: the SHA-256 (hex) of one
    line ``id<TAB>lon<TAB>lat`` (degrees to 6 decimals) per village, sorted by id.
    ``summary.json`` carries it as ``village_set_sha256`` so that :func:`compare` can
    tell two runs of different villages apart even when their counts agree, and so
    that a route plan can tell a siting output of other villages
    (:func:`check_provenance`)."""
    return villages_digest(data.village_ids, data.village_lon, data.village_lat)


def _name_prefectures(table: object) -> object:
    """The ``cost_by_prefecture`` table with each row's prefecture ``name`` first (from
    the bundled Liaoning geography; None for a code it does not know), as the county
    rows carry theirs."""
    if not isinstance(table, Mapping):
        return table
    from wastenet.data.liaoning import load_prefectures

    names = {p.adcode: p.name for p in load_prefectures()}
    return {code: ({"name": row.get("name") or names.get(str(code)),
                    **{k: v for k, v in row.items() if k != "name"}}
                   if isinstance(row, Mapping) else row)
            for code, row in table.items()}


def summarise(network: Network, data: SitingData, result: SitingResult,
              facilities: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``summary.json`` of a siting run (the API returns the same).
    ``existing_facilities_used`` counts the existing facilities that receive waste (as
    the KPI of the same name). The seeds: ``solver_seed`` (also under its old key
    ``seed``) and ``data_seed`` (the villages' generator's; None for user data); the
    villages: ``villages`` (their number), ``waste_t_per_day`` and
    ``village_set_sha256`` (:func:`village_set_digest`)."""
    from wastenet.siting.kpis import kpis

    indicators = kpis(data, result)
    indicators["cost_by_prefecture"] = _name_prefectures(indicators.get("cost_by_prefecture"))
    new_t = sum(1 for f in facilities if f["kind"] == "transfer" and not f["existing"])
    new_i = sum(1 for f in facilities if f["kind"] == "incinerator" and not f["existing"])
    cap_t = sum(f["capacity_t_per_day"] for f in facilities if f["kind"] == "transfer")
    cap_i = sum(f["capacity_t_per_day"] for f in facilities if f["kind"] == "incinerator")
    sc = network.scenario
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "scenario": sc.name,
        "sharing": sc.policy.sharing,
        "status": result.status,
        "solver": result.solver,
        "total_cost_yuan_per_year": _r(result.total_cost),
        "lower_bound_yuan_per_year": _r(result.lower_bound),
        "gap": float(result.gap),
        "cost_breakdown_yuan_per_year": {k: _r(v) for k, v in result.cost.items()},
        "transfer_stations_opened": new_t,
        "incinerators_opened": new_i,
        "existing_facilities_used": indicators["existing_facilities_used"],
        "transfer_capacity_t_per_day": _r(cap_t, 3),
        "incinerator_capacity_t_per_day": _r(cap_i, 3),
        "waste_t_per_day": _r(data.total_demand, 3),
        "villages": data.n_villages,
        "village_set_sha256": village_set_digest(data),
        "kpis": indicators,
        "elapsed_s": _r(result.elapsed_s, 3),
        "seed": result.seed,  # the solver seed, under its old name (tests read it)
        "solver_seed": result.seed,
        "data_seed": network.seed,
        "synthetic": network.synthetic,
        "greenfield": bool(network.meta.get("greenfield", True)),
    }


def run_siting(scenario: Scenario, *, time_limit_s: float | None = None,
               seed: int | None = None, progress: ProgressCallback | None = None,
               max_iterations: int | None = None, threads: int | None = None
               ) -> dict[str, Any]:
    """Site facilities for ``scenario``; returns summary, facilities GeoJSON, assignments."""
    from wastenet.siting.solve import SiteParams, SiteProgress, solve

    def _progress(p: SiteProgress) -> None:
        if progress is not None:
            progress({"fraction": p.fraction, "incumbent": p.incumbent,
                      "lower_bound": p.lower_bound, "elapsed_s": p.elapsed_s,
                      "message": p.message})

    network = build_network(scenario)
    data = build_siting_data(network)
    params = SiteParams(
        time_limit_s=time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s,
        seed=seed if seed is not None else scenario.solver.seed,
        method=scenario.solver.method, max_iterations=max_iterations,
        threads=threads if threads is not None else scenario.solver.threads)
    log.info("siting %s: %d villages, %d + %d candidates", scenario.name, data.n_villages,
             len(data.transfer), len(data.incinerator))
    result = solve(data, params, _progress)
    facilities = facility_rows(data, result)
    return {
        "summary": summarise(network, data, result, facilities),
        "facilities": facilities_geojson(facilities, synthetic=network.synthetic,
                                         data_seed=network.seed, solver_seed=result.seed),
        "assignments": assignment_rows(data, result),
    }


#: where each part of a siting output comes from, for messages: the keys of the dict
#: :func:`run_siting` returns (the API sends it as JSON)
SITING_PARTS = {"summary": "siting.summary", "facilities": "siting.facilities",
                "assignments": "siting.assignments"}


def _sub(part: str, key: str) -> str:
    """The name of ``key`` inside ``part``: ``siting.assignments.village_id``, or for a
    file ``/path/assignments.csv:village_id``."""
    return f"{part}:{key}" if part.endswith((".csv", ".json", ".geojson")) else f"{part}.{key}"


def _text_id(x: object) -> bool:
    return isinstance(x, str | int) and not isinstance(x, bool) and str(x).strip() != ""


#: the id and name cells of an assignment row that :func:`check_siting` checks for
#: characters no name or id may hold
ASSIGNMENT_TEXT_KEYS = ("village_id", "village_name", "county", "facility_id",
                        "facility_name")


def _check_text(field: str, value: object, row: int | None = None) -> None:
    """Refuse a name or id read back from a siting output that holds a character no
    name or id may hold (:func:`wastenet.scenario.names.bad_text_message`: control
    characters, surrogates, U+FFFE/U+FFFF), naming the field and the value."""
    if isinstance(value, str):
        why = bad_text_message(value)
        if why is not None:
            raise ValidationError(field, value, why, row=row)


def check_siting(siting: object, parts: Mapping[str, str] = SITING_PARTS) -> None:
    """Check that a siting output (:func:`run_siting`'s dict, or a ``wastenet site``
    folder read back) holds what routing reads; raise :class:`ValidationError` naming
    the part (``parts`` maps ``summary``, ``facilities`` and ``assignments`` to the name
    used in messages, e.g. a file path), the field and the value.

    Routing reads: ``facilities`` a GeoJSON FeatureCollection whose features have a
    ``properties.id``, point ``geometry.coordinates`` ``[lon, lat]`` and an optional
    ``properties.capacity_t_per_day`` >= 0; ``assignments`` rows with ``village_id`` and
    ``facility_id`` (a facility of ``facilities``). ``summary``, when present, must be a
    JSON object. Ids and names (``properties.id`` and ``properties.name`` of the
    facilities, :data:`ASSIGNMENT_TEXT_KEYS` of the assignments) must not hold control
    characters (:func:`wastenet.scenario.names.bad_text_message`), which the scenario
    schema refuses in every name and id it reads.
    """
    if not isinstance(siting, Mapping):
        raise ValidationError("siting", type(siting).__name__, "must be a JSON object with "
                              "'facilities' and 'assignments'")
    summary = siting.get("summary")
    if summary is not None and not isinstance(summary, Mapping):
        raise ValidationError(parts["summary"], type(summary).__name__,
                              "must be a JSON object")
    fc = siting.get("facilities")
    fname = parts["facilities"]
    if not isinstance(fc, Mapping):
        raise ValidationError(fname, None if fc is None else type(fc).__name__,
                              "must be a GeoJSON FeatureCollection")
    feats = fc.get("features")
    if not isinstance(feats, list):
        raise ValidationError(_sub(fname, "features"), None if feats is None
                              else type(feats).__name__,
                              "is missing or not a list: not a GeoJSON FeatureCollection")
    ids: set[str] = set()
    for k, f in enumerate(feats):
        where = _sub(fname, f"features[{k}]")
        props = f.get("properties") if isinstance(f, Mapping) else None
        if not isinstance(props, Mapping):
            raise ValidationError(f"{where}.properties", None if props is None
                                  else type(props).__name__, "must be a JSON object")
        fid = props.get("id")
        if not _text_id(fid):
            raise ValidationError(f"{where}.properties.id", fid, "must be a non-empty id")
        _check_text(f"{where}.properties.id", fid)
        _check_text(f"{where}.properties.name", props.get("name"))
        geom = f.get("geometry")
        coords = geom.get("coordinates") if isinstance(geom, Mapping) else None
        if not (isinstance(coords, list | tuple) and len(coords) >= 2
                and all(is_finite_number(c) for c in coords[:2])):
            raise ValidationError(f"{where}.geometry.coordinates", coords,
                                  f"facility {fid}: must be [lon, lat] numbers")
        cap = props.get("capacity_t_per_day")
        if cap is not None and not (is_finite_number(cap) and cap >= 0):
            raise ValidationError(f"{where}.properties.capacity_t_per_day", cap,
                                  f"facility {fid}: must be a number >= 0 (t/day)")
        ids.add(str(fid))
    rows = siting.get("assignments")
    aname = parts["assignments"]
    if not isinstance(rows, list):
        raise ValidationError(aname, None if rows is None else type(rows).__name__,
                              "must be a list of rows")
    for k, a in enumerate(rows):
        if not isinstance(a, Mapping):
            raise ValidationError(aname, type(a).__name__, "must be a row of fields",
                                  row=k + 1)
        for key in ("village_id", "facility_id"):
            val = a.get(key)
            if not _text_id(val):
                what = "is missing" if key not in a else "must be a non-empty id"
                raise ValidationError(_sub(aname, key), val, what, row=k + 1)
        for key in ASSIGNMENT_TEXT_KEYS:
            _check_text(_sub(aname, key), a.get(key), row=k + 1)
        if str(a["facility_id"]) not in ids:
            raise ValidationError(_sub(aname, "facility_id"), a["facility_id"],
                                  f"village {a['village_id']} is assigned to a facility "
                                  f"that is not in {fname}", row=k + 1)


#: the provenance fields of a siting summary that :func:`check_provenance` compares
PROVENANCE_KEYS = ("data_seed", "village_set_sha256")


def provenance_of(siting: Mapping[str, Any]) -> dict[str, Any] | None:
    """The part of a siting output's summary that :func:`check_provenance` reads (the
    scenario's name and :data:`PROVENANCE_KEYS`), or None without a summary: what a
    work unit carries instead of the whole summary."""
    summary = siting.get("summary")
    if not isinstance(summary, Mapping):
        return None
    return {k: summary[k] for k in ("scenario", *PROVENANCE_KEYS) if k in summary}


def check_provenance(siting: Mapping[str, Any], network: Network,
                     parts: Mapping[str, str] = SITING_PARTS, *, warn: bool = False) -> None:
    """Refuse to route ``network``'s scenario from a siting output made for other
    villages: the summary's ``data_seed`` (the villages' generator seed, None for user
    data) and ``village_set_sha256`` (:func:`village_set_digest`) must be the network's
    (``network.seed``, ``network.village_digest``); a mismatch is a
    :class:`ValidationError` naming the field (in ``parts["summary"]``, as
    :func:`check_siting`), the summary's value, the scenario's, and what to do.

    A siting output without a summary, or whose summary lacks these fields (written
    before they existed), cannot be checked; with ``warn`` that is logged as a warning
    (the commands check once per run with it; the per county-day calls do not)."""
    summary = siting.get("summary")
    sc = network.scenario
    if not isinstance(summary, Mapping):
        if warn:
            log.warning("the siting output has no summary, so whether it was made for the "
                        "villages of scenario %r (data_seed, village_set_sha256) is not "
                        "checked", sc.name)
        return
    made_from = summary.get("scenario")
    theirs = f"the scenario it was made from ({made_from!r})" if made_from else \
        "the scenario it was made from"
    ours = {"data_seed": network.seed, "village_set_sha256": network.village_digest}
    what = {"data_seed": "its villages come from other data (another generator seed; "
                         "None is user data)",
            "village_set_sha256": "it was made for other villages (their ids or "
                                  "positions differ)"}
    for key in PROVENANCE_KEYS:
        if key in summary and summary[key] != ours[key]:
            raise ValidationError(
                _sub(parts["summary"], key), summary[key],
                f"the siting output does not match scenario {sc.name!r}: {what[key]} "
                f"({key} {summary[key]!r} in the siting output, {ours[key]!r} for this "
                f"scenario), so its facility assignments are not for this scenario's "
                f"villages", hint=f"site again with this scenario (wastenet site), or pass "
                f"{theirs}")
    missing = [k for k in PROVENANCE_KEYS if k not in summary]
    if missing and warn:
        log.warning("%s has no %s (written by an older wastenet?), so whether the siting "
                    "output was made for the villages of scenario %r is not checked",
                    parts["summary"], " or ".join(missing), sc.name)


def _same_scenario(network: Network, scenario: Scenario) -> None:
    """``network`` must have been built from ``scenario`` (a programming error
    otherwise: the plan would be of another scenario's villages)."""
    if network.scenario is not scenario and network.scenario != scenario:
        raise ValueError(f"the network was built from scenario {network.scenario.name!r}, "
                         f"not from the scenario {scenario.name!r} being planned")


def _facility_rows(siting: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The siting output's facilities as rows with ``lon`` and ``lat``."""
    return [dict(f["properties"], lon=f["geometry"]["coordinates"][0],
                 lat=f["geometry"]["coordinates"][1])
            for f in siting["facilities"]["features"]]


def route_plan_week(scenario: Scenario, siting: Mapping[str, Any], county: str, *,
                    network: Network) -> CountyWeek:
    """The week of ``county`` (:func:`wastenet.routing.build.plan_county_week`), which
    :func:`route_plan_data` takes as ``week=`` for each day of it, so that a week of
    county-days (``wastenet plan-routes --week``) plans the visit days once.
    ``network`` is the scenario's (as for :func:`route_plan_data`). The siting output
    must be the scenario's (:func:`check_provenance`)."""
    from wastenet.routing.build import plan_county_week

    check_siting(siting)
    _same_scenario(network, scenario)
    check_provenance(siting, network)
    return plan_county_week(network, siting["assignments"], _facility_rows(siting), county)


def route_plan_data(scenario: Scenario, siting: Mapping[str, Any], county: str,
                    date: str, *, network: Network | None = None,
                    week: CountyWeek | None = None) -> RoutingData:
    """The routing data of ``county`` on ``date`` from a siting output: what
    :func:`run_route_plan` solves, and what the route-plan checker checks its plan
    against. A malformed siting output raises :class:`ValidationError`
    (:func:`check_siting`), before the network is built; so does one made for other
    villages than the scenario's (:func:`check_provenance`, once the network is there).

    ``network``: ``build_network(scenario)`` when the caller has built it already (it
    must be that scenario's network; the data is then the same as without it), else it
    is built here. ``week``: :func:`route_plan_week` of the same arguments and network,
    when the caller has it (the data is then the same as without it; it needs
    ``network``)."""
    from wastenet.routing.build import build_day, build_routing_data

    check_siting(siting)
    if network is None:
        if week is not None:
            raise ValueError("week= needs the network it was planned on (network=)")
        network = build_network(scenario)
    else:
        _same_scenario(network, scenario)
    check_provenance(siting, network)
    if week is not None:
        if week.county != county:
            raise ValueError(f"the week is of county {week.county}, not of {county}")
        return build_day(network, week, date)
    return build_routing_data(network, siting["assignments"], _facility_rows(siting), county,
                              date)


def run_route_plan(scenario: Scenario, siting: Mapping[str, Any], county: str, date: str, *,
                   time_limit_s: float | None = None, seed: int | None = None,
                   progress: ProgressCallback | None = None, crs: str = "wgs84",
                   solution_limit: int | None = None,
                   data: RoutingData | None = None,
                   network: Network | None = None,
                   week: CountyWeek | None = None) -> dict[str, Any]:
    """Plan the collection routes of ``county`` on ``date`` from a siting output;
    ``data``, when the caller has it already, is :func:`route_plan_data` of the same
    arguments (nothing is built then); otherwise ``network`` and ``week``, when the
    caller has them already, are passed to :func:`route_plan_data`."""
    from wastenet.routing.exports import _check_crs, plan_to_dict, render_all
    from wastenet.routing.solve import RouteParams, solve

    # the settings first: a bad seed or time limit costs no network build
    params = RouteParams(
        time_limit_s=time_limit_s if time_limit_s is not None
        else scenario.solver.routing_time_limit_s,
        seed=seed if seed is not None else scenario.solver.seed, solution_limit=solution_limit)
    _check_crs(crs)
    if data is None:
        data = route_plan_data(scenario, siting, county, date, network=network, week=week)
    if progress is not None:
        progress({"fraction": 0.0, "elapsed_s": 0.0, "message":
                  f"routing {data.n_stops} stops", "incumbent": None, "lower_bound": None})
    plan = solve(data, params)
    blobs = render_all(data, plan, crs)
    exports = {k: (b.decode("utf-8") if isinstance(b, bytes) else b) for k, b in blobs.items()}
    if progress is not None:
        progress({"fraction": 1.0, "elapsed_s": plan.elapsed_s, "message": "done",
                  "incumbent": plan.cost_yuan, "lower_bound": None})
    return {"plan": plan_to_dict(data, plan, crs), "exports": exports}


_COMPARE_KEYS = (
    "total_cost_yuan_per_year", "transfer_stations_opened", "incinerators_opened",
    "transfer_capacity_t_per_day", "incinerator_capacity_t_per_day", "gap",
)


def _flat_kpis(summary: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in (summary.get("kpis") or {}).items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[k] = float(v)
    for k, v in (summary.get("cost_breakdown_yuan_per_year") or {}).items():
        out[f"cost.{k}"] = float(v)
    for k in _COMPARE_KEYS:
        if k in summary:
            out[k] = float(summary[k])
    return out


def _number(x: object) -> float:
    """``x`` as a float when it is a number (not a bool), else 0."""
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else 0.0


def _regional(summary: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    """The ``kpis[key]`` table (``cost_by_county`` or ``cost_by_prefecture``) of a
    summary: its rows that are objects, by region code."""
    table = (summary.get("kpis") or {}).get(key) or {}
    if not isinstance(table, Mapping):
        return {}
    return {str(code): row for code, row in table.items() if isinstance(row, Mapping)}


def _active(row: Mapping[str, Any]) -> bool:
    """Whether a region row receives waste (``t_per_day`` > 0) or is allocated a cost
    (``cost_yuan_per_year`` != 0, e.g. the fixed cost of a forced facility that
    receives nothing)."""
    return _number(row.get("t_per_day")) > 0 or _number(row.get("cost_yuan_per_year")) != 0


def _regional_diff(summary_a: Mapping[str, Any], summary_b: Mapping[str, Any],
                   key: str) -> dict[str, dict[str, Any]]:
    """Per region that receives waste or is allocated a cost in A or B: its allocated
    cost in each (yuan/yr, 0 where the run has no such row), ``diff`` = B - A, and the
    cost per tonne in each (None where it receives nothing); sorted by region code.
    Every region with a non-zero allocated cost in either run is listed, so the
    ``diff``s add up to the change of the allocated cost."""
    ra, rb = _regional(summary_a, key), _regional(summary_b, key)
    out: dict[str, dict[str, Any]] = {}
    for code in sorted(c for c in set(ra) | set(rb)
                       if _active(ra.get(c, {})) or _active(rb.get(c, {}))):
        a, b = ra.get(code, {}), rb.get(code, {})
        ca = _number(a.get("cost_yuan_per_year"))
        cb = _number(b.get("cost_yuan_per_year"))
        out[code] = {"name": a.get("name") or b.get("name"), "a": ca, "b": cb,
                     "diff": cb - ca,
                     "cost_per_tonne_a": a.get("cost_per_tonne_yuan"),
                     "cost_per_tonne_b": b.get("cost_per_tonne_yuan")}
    return out


#: an optimality gap above this (5 %) makes :func:`compare` warn that the run's cost is
#: known only loosely
GAP_WARN = 0.05


def _finite(x: object) -> float | None:
    """``x`` as a float when it is a finite number (not a bool), else None."""
    return float(x) if is_finite_number(x) else None


def saving_interval(summary_a: Mapping[str, Any], summary_b: Mapping[str, Any]
                    ) -> tuple[float, float] | None:
    """The interval certified by the two runs' bounds for the saving of B over A, had
    both been solved to optimality: ``[LB_A - UB_B, UB_A - LB_B]`` (yuan/yr), where UB
    is ``total_cost_yuan_per_year`` and LB ``lower_bound_yuan_per_year`` (a lower bound
    above the cost, rounding, counts as the cost). None when a summary lacks either."""
    ua, ub = _finite(summary_a.get("total_cost_yuan_per_year")), _finite(
        summary_b.get("total_cost_yuan_per_year"))
    la, lb = _finite(summary_a.get("lower_bound_yuan_per_year")), _finite(
        summary_b.get("lower_bound_yuan_per_year"))
    if ua is None or ub is None or la is None or lb is None:
        return None
    return min(la, ua) - ub, ua - min(lb, ub)


def _data_text(summary: Mapping[str, Any]) -> str:
    seed = summary.get("data_seed")
    return "user data (no data seed)" if seed is None else f"data seed {seed}"


def _problem_checks(sa: Mapping[str, Any], sb: Mapping[str, Any]
                    ) -> tuple[dict[str, bool | None], list[str]]:
    """Whether A and B solve the same problem, as far as their summaries tell: the same
    scenario name, data seed (and synthetic flag), total waste, village count and village
    set (``village_set_sha256``), and summary schema version. Returns the ``same_*``
    flags (None: not in both summaries) and the warnings."""
    warnings: list[str] = []
    missing: list[str] = []
    same: dict[str, bool | None] = {}

    def both(key: str) -> bool:
        if key in sa and key in sb:
            return True
        missing.append(key)
        return False

    same["same_scenario"] = None
    if both("scenario"):
        same["same_scenario"] = sa["scenario"] == sb["scenario"]
        if not same["same_scenario"]:
            warnings.append(f"A is scenario {sa['scenario']!r} and B is {sb['scenario']!r}: "
                            "make sure the two differ only in what is being compared")
    same["same_data"] = None
    if both("data_seed"):
        same["same_data"] = (sa["data_seed"] == sb["data_seed"]
                             and sa.get("synthetic") == sb.get("synthetic"))
        if not same["same_data"]:
            warnings.append(f"A's villages come from {_data_text(sa)} and B's from "
                            f"{_data_text(sb)}: the two runs plan different villages or "
                            "waste, so the saving compares different problems")
    same["same_waste"] = None
    if both("waste_t_per_day"):
        wa, wb = _finite(sa["waste_t_per_day"]), _finite(sb["waste_t_per_day"])
        same["same_waste"] = (wa is not None and wb is not None
                              and math.isclose(wa, wb, rel_tol=1e-9, abs_tol=1e-9))
        if not same["same_waste"]:
            warnings.append(f"A plans for {sa['waste_t_per_day']} t/day of waste and B for "
                            f"{sb['waste_t_per_day']} t/day: the saving compares "
                            "different problems")
    ka, kb = sa.get("kpis") or {}, sb.get("kpis") or {}
    va, vb = ka.get("villages"), kb.get("villages")
    same["same_village_count"] = va is not None and va == vb
    if va is None or vb is None:
        missing.append("kpis.villages")
    elif va != vb:
        warnings.append(f"A has {va} villages and B {vb}: the two runs plan different "
                        "areas, so the saving compares different problems")
    same["same_village_set"] = None
    if both("village_set_sha256"):
        same["same_village_set"] = sa["village_set_sha256"] == sb["village_set_sha256"]
        if not same["same_village_set"] and va == vb:
            warnings.append(f"A and B plan different villages (village_set_sha256 differs) "
                            f"although both have {va}: the saving compares different "
                            "problems")
    same["same_schema_version"] = sa.get("schema_version", 1) == sb.get("schema_version", 1)
    if not same["same_schema_version"]:
        warnings.append("the two summaries have different schema versions (written by "
                        "different Wastenet versions): their county and prefecture costs are "
                        "not defined alike (the uncovered-village penalty moved out of them "
                        "in version 2)")
    if missing:
        text = (f"not compared, as A's or B's summary lacks it: {', '.join(missing)}")
        if "village_set_sha256" in missing:
            text += ("; the village sets were compared only by what the summaries carry "
                     "(village count and total waste), not village by village")
        warnings.append(text)
    return same, warnings


def _bound_warnings(sa: Mapping[str, Any], sb: Mapping[str, Any],
                    interval: tuple[float, float] | None) -> list[str]:
    """Warnings about how well the solvers' bounds pin the saving down: a gap over
    :data:`GAP_WARN`, no lower bound, a certified interval holding 0."""
    warnings = []
    for tag, s in (("A", sa), ("B", sb)):
        gap = _finite(s.get("gap"))
        if gap is not None and gap > GAP_WARN:
            warnings.append(f"{tag}'s optimality gap is {100 * gap:.2f} % (over "
                            f"{100 * GAP_WARN:g} %): its cost may lie that far above the "
                            "optimum, so part of the difference is the solver's, not the "
                            "plans'")
    if interval is None:
        warnings.append("lower_bound_yuan_per_year is not in both summaries: the saving "
                        "is not certified by the solvers' bounds")
    else:
        lo, hi = interval
        if lo <= 0 <= hi and not lo == hi == 0:
            warnings.append(f"the certified interval of the saving, [{lo:,.0f}, {hi:,.0f}] "
                            "yuan/yr, contains 0: the solvers' bounds do not show which "
                            "run is cheaper")
    return warnings


def _side(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`compare` reports of one run."""
    return {"scenario": summary.get("scenario"), "sharing": summary.get("sharing"),
            "villages": (summary.get("kpis") or {}).get("villages"),
            "waste_t_per_day": summary.get("waste_t_per_day"),
            "data_seed": summary.get("data_seed"),
            "total_cost_yuan_per_year": summary.get("total_cost_yuan_per_year"),
            "lower_bound_yuan_per_year": summary.get("lower_bound_yuan_per_year"),
            "gap": summary.get("gap")}


def compare(summary_a: Mapping[str, Any], summary_b: Mapping[str, Any]) -> dict[str, Any]:
    """Differences ``b - a`` of cost and numeric KPIs, with relative changes; the cost
    allocated to each county and prefecture in both (``by_county``, ``by_prefecture``:
    who gains from sharing); the saving ``saving_yuan_per_year`` (A's cost - B's: negative
    when B costs more) and the interval its solvers' bounds certify
    (``saving_interval_yuan_per_year``, :func:`saving_interval`); and ``warnings``, each
    a sentence, when the saving may mislead:

    * the runs may solve different problems (``same_scenario``, ``same_data`` (data seed
      and synthetic flag), ``same_waste``, ``same_village_count``, ``same_village_set``
      (``village_set_sha256``), each None when not in both summaries, which is said
      too; ``same_schema_version``: when it is False the regional costs are not defined
      alike, see :data:`SUMMARY_SCHEMA_VERSION`);
    * a gap over :data:`GAP_WARN`, no lower bound, or a certified interval holding 0.

    ``by_county`` lists every county that receives waste or is allocated a cost in
    either run, so its ``diff``s plus the ``diff``s of the two cost lines allocated to no
    county (``metrics["unallocated_cost_yuan_per_year"]`` and
    ``metrics["uncovered_penalty_yuan_per_year"]``) add up to the change of the total
    cost, ``-saving_yuan_per_year`` (up to the summary's rounding of the total to 0.01
    yuan); likewise ``by_prefecture``."""
    fa, fb = _flat_kpis(summary_a), _flat_kpis(summary_b)
    rows = {}
    for k in sorted(set(fa) & set(fb)):
        a, b = fa[k], fb[k]
        rel = (b - a) / abs(a) if a != 0.0 else None
        rows[k] = {"a": a, "b": b, "diff": b - a,
                   "relative": rel if rel is not None and math.isfinite(rel) else None}
    ca = float(summary_a["total_cost_yuan_per_year"])
    cb = float(summary_b["total_cost_yuan_per_year"])
    same, warnings = _problem_checks(summary_a, summary_b)
    interval = saving_interval(summary_a, summary_b)
    warnings += _bound_warnings(summary_a, summary_b, interval)
    return {
        "a": _side(summary_a),
        "b": _side(summary_b),
        **same,
        "saving_yuan_per_year": ca - cb,
        "saving_fraction": (ca - cb) / ca if ca else None,
        "saving_interval_yuan_per_year": list(interval) if interval is not None else None,
        "warnings": warnings,
        "metrics": rows,
        "by_county": _regional_diff(summary_a, summary_b, "cost_by_county"),
        "by_prefecture": _regional_diff(summary_a, summary_b, "cost_by_prefecture"),
    }
