"""``wastenet plan-province SCENARIO --siting DIR --date YYYY-MM-DD --out DIR``.

Plans every county's collection routes for one day, one county-day per work unit
(:mod:`wastenet.province`), on a local process pool (``--scheduler local``, the default)
or on a Dask cluster (``--scheduler tcp://host:8786``; needs ``pip install
'wastenet[dask]'``). Writes each county's exports to ``OUT/<adcode>/`` under the names
``plan-routes`` uses, and ``OUT/province.json`` / ``OUT/province.csv`` with one row per
county and the province totals. Exits with 1 when a county failed (or the route-plan
checker rejects its plan), after writing everything else.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

from wastenet.commands.args import output_dir, positive_int, seed, time_limit
from wastenet.commands.site import csv_cell
from wastenet.errors import ValidationError

log = logging.getLogger("wastenet.province")

#: seconds to wait for a Dask scheduler to answer before giving up
DASK_CONNECT_TIMEOUT_S = 10.0
PROVINCE_FORMAT = "wastenet.province-plan"
PROVINCE_FORMAT_VERSION = 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan-province", help="plan every county's routes for a day, "
                       "in parallel",
                       description="Plan the collection routes of many counties for one "
                       "day, one county per work unit, on a local process pool or a Dask "
                       "cluster; write OUT/<adcode>/ (the plan-routes exports) and "
                       "OUT/province.json and OUT/province.csv (per county and totals).")
    p.add_argument("scenario")
    p.add_argument("--siting", required=True, help="a 'wastenet site --out' folder")
    p.add_argument("--date", required=True, help="YYYY-MM-DD")
    p.add_argument("--out", required=True)
    p.add_argument("--counties", default=None,
                   help="comma-separated adcodes (default: every county with villages "
                   "assigned in the siting output)")
    p.add_argument("--scheduler", default="local",
                   help="'local' (a process pool, default) or a Dask scheduler address, "
                   "e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=positive_int("workers"), default=None,
                   help="local pool processes (default: the number of CPUs)")
    p.add_argument("--time-limit", type=time_limit(), default=None,
                   help="seconds per county (default: scenario)")
    p.add_argument("--seed", type=seed(), default=None, help="solver seed (default: scenario)")
    p.add_argument("--solution-limit", type=positive_int("solution-limit"), default=None,
                   help="stop each county after this many improving solutions "
                   "(a work limit: reproducible plans)")
    p.add_argument("--crs", choices=("wgs84", "gcj02"), default="wgs84")
    p.set_defaults(func=run)


def parse_counties(text: str) -> list[str]:
    """``"A,B,..."`` as a list of known Liaoning adcodes (order kept, repeats dropped)."""
    from wastenet.data import liaoning

    known = liaoning.county_index()
    out: list[str] = []
    for code in (c.strip() for c in text.split(",")):
        if not code:
            continue
        if not re.fullmatch(r"\d{6}", code) or code not in known:
            raise ValidationError("counties", code, "unknown county adcode",
                                  hint="six digits, e.g. 210124")
        if code not in out:
            out.append(code)
    if not out:
        raise ValidationError("counties", text, "names no county")
    return out


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """The ``concurrent.futures`` executor of a Dask cluster at ``address``; the client
    is closed on exit (the cluster keeps running)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ValidationError("scheduler", address, "a Dask scheduler needs the "
                              "'distributed' package: pip install 'wastenet[dask]'"
                              ) from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError) as exc:
        raise ValidationError("scheduler", address,
                              f"cannot reach the Dask scheduler ({exc})") from exc
    try:
        log.info("Dask scheduler %s: %d workers", address,
                 len(client.scheduler_info().get("workers", {})))
        yield client.get_executor()
    finally:
        client.close()


@contextlib.contextmanager
def open_executor(scheduler: str, workers: int | None, n_units: int) -> Iterator[Executor]:
    """A local process pool (``scheduler == "local"``) or a Dask cluster's executor."""
    from wastenet.province import local_executor

    if scheduler == "local":
        n = min(workers or os.cpu_count() or 1, max(n_units, 1))
        pool = local_executor(n)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    if workers is not None:
        log.warning("--workers is ignored with a Dask scheduler (its workers are set "
                    "where they are started)")
    with dask_executor(scheduler) as ex:
        yield ex


def province_csv(summary: dict[str, Any]) -> str:
    """CSV text: one row per county, then a ``total`` row (caller adds the UTF-8 BOM)."""
    from wastenet.province import ROW_FIELDS, SUM_FIELDS

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROW_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in summary["counties"]:
        w.writerow({k: csv_cell(r[k]) for k in ROW_FIELDS})
    t = summary["totals"]
    total = {k: "" for k in ROW_FIELDS}
    total.update({"county": "total", "county_name": "全省合计",
                  "date": ",".join(summary["dates"]),
                  "status": f"ok {t['counties_ok']}, idle {t['counties_idle']}, "
                            f"failed {t['counties_failed']}"})
    total.update({k: csv_cell(t[k]) for k in SUM_FIELDS})
    w.writerow(total)
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.commands.plan_routes import clear_exports, load_siting_dir, write_exports
    from wastenet.province import (
        CountyOutcome,
        assigned_counties,
        make_units,
        plan_province,
        province_summary,
    )
    from wastenet.scenario.schema import load_scenario

    try:
        date = dt.date.fromisoformat(args.date).isoformat()
    except ValueError as exc:
        raise ValidationError("date", args.date, "must be YYYY-MM-DD") from exc
    counties = parse_counties(args.counties) if args.counties is not None else None
    scenario = load_scenario(args.scenario)
    # a broken siting folder is one error for the whole run, before any county starts
    siting = load_siting_dir(args.siting)
    # after the inputs (a bad scenario leaves no empty folder), before any routing
    out = output_dir(args.out)
    if counties is None:
        counties = assigned_counties(siting)
        if not counties:
            raise ValidationError("siting", args.siting, "no village is assigned to a "
                                  "facility in this siting output")
    units = make_units(scenario, siting, counties, date, time_limit_s=args.time_limit,
                       seed=args.seed, solution_limit=args.solution_limit, crs=args.crs)
    bar = tqdm(total=len(units), desc="routing", unit="county", file=sys.stderr,
               disable=len(units) <= 1)

    def progress(o: CountyOutcome) -> None:
        if o.status == "ok":  # written as they arrive: a crash later loses nothing
            write_exports(out / o.county, o.exports)
        else:  # an earlier run's files must not pass for this day's plan
            stale = clear_exports(out / o.county)
            if stale:
                log.warning("%s: removed %s of an earlier run (this run: %s)", o.county,
                            ", ".join(stale), o.status)
        bar.set_postfix_str(f"{o.county} {o.status}")
        bar.update(1)

    try:
        with open_executor(args.scheduler, args.workers, len(units)) as executor:
            outcomes = plan_province(units, executor=executor, progress=progress)
    finally:
        bar.close()

    summary = province_summary(outcomes)
    doc = {"format": PROVINCE_FORMAT, "version": PROVINCE_FORMAT_VERSION,
           "scenario": scenario.name, "date": date, "scheduler": args.scheduler,
           **summary}
    (out / "province.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1)
                                       + "\n", encoding="utf-8")
    (out / "province.csv").write_text(province_csv(summary), encoding="utf-8-sig")

    t = summary["totals"]
    bad = [o for o in outcomes if o.status == "failed" or o.check_ok is False]
    if bad:
        log.error("%d of %d counties failed or were rejected by the route-plan checker: "
                  "%s (see %s)", len(bad), len(outcomes),
                  ", ".join(o.county for o in bad), out / "province.csv")
    print(f"{date}: {t['counties_ok']} of {t['counties']} counties planned "
          f"({t['counties_idle']} idle, {t['counties_failed']} failed), "
          f"{t['vehicles']} vehicles, {t['distance_km']:.1f} km, "
          f"{t['cost_yuan']:,.0f} yuan -> {out}")
    return 1 if bad else 0
