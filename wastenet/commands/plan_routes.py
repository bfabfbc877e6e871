"""``wastenet plan-routes SCENARIO --siting DIR --county ADCODE --date YYYY-MM-DD --out DIR``.

With ``--week`` it plans the seven days from ``--date``, each into ``OUT/<date>/``; the
scenario's network is built once for the run and the county's visit days are planned
once (:func:`wastenet.pipeline.route_plan_week`), not once per day.

The siting folder must have been made for the scenario's villages: its ``summary.json``'s
``data_seed`` and ``village_set_sha256`` are compared with the scenario's
(:func:`wastenet.pipeline.check_provenance`) before any output is written; a folder
whose summary lacks them (an older one) is only warned about.

Repeatability: the search stops on ``--time-limit`` (wall clock) unless
``--solution-limit`` stops it first, so only a plan stopped by the solution limit (or
one whose search ended by itself) is the same on every run and machine with the same
seed; a day stopped by the clock is logged as a warning.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

from wastenet import atomicio
from wastenet.commands.args import output_dir, positive_int, seed, time_limit
from wastenet.errors import ValidationError
from wastenet.routing.exports import FILE_NAMES
from wastenet.scenario.schema import load_scenario

log = logging.getLogger("wastenet.plan_routes")

#: the files of a ``wastenet site`` output folder that routing reads, by part
SITING_FILES = {"summary": "summary.json", "facilities": "facilities.geojson",
                "assignments": "assignments.csv"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("plan-routes", help="plan a county's collection routes for a day",
                       description="Plan one county-day (or a week with --week) from a siting "
                       "output folder and write routes.csv, routes.geojson, routes.gpx, "
                       "sheets.html and plan.json.")
    p.add_argument("scenario")
    p.add_argument("--siting", required=True, help="a 'wastenet site --out' folder")
    p.add_argument("--county", required=True, help="county adcode, e.g. 210124")
    p.add_argument("--date", required=True, help="YYYY-MM-DD (with --week: the first day)")
    p.add_argument("--out", required=True)
    p.add_argument("--week", action="store_true", help="plan seven days from --date")
    p.add_argument("--time-limit", type=time_limit(), default=None,
                   help="seconds per day (default: scenario)")
    p.add_argument("--seed", type=seed(), default=None, help="solver seed (default: scenario)")
    p.add_argument("--solution-limit", type=positive_int("solution-limit"), default=None,
                   help="stop each day's search after this many improving solutions: with "
                   "--seed, a plan stopped by it is the same on every run (see the README)")
    p.add_argument("--crs", choices=("wgs84", "gcj02"), default="wgs84")
    p.set_defaults(func=run)


def siting_parts(d: str) -> dict[str, str]:
    """The paths of a siting output folder's files, by part: the names that
    :func:`wastenet.pipeline.check_siting` and :func:`~wastenet.pipeline.check_provenance`
    use in their messages."""
    return {part: str(Path(d) / name) for part, name in SITING_FILES.items()}


def load_siting_dir(d: str) -> dict[str, Any]:
    """Read a siting output folder back into the dict :func:`run_siting` returns.

    The free-text cells of ``assignments.csv`` (ids, names, county) lose the apostrophe
    that ``wastenet site``'s CSV-injection guard put in front
    (:func:`wastenet.formats.spreadsheet.unsafe_text`), so that an id such as ``-T1``
    reads back as ``-T1`` and matches ``facilities.geojson``.

    Raises :class:`ValidationError` naming the file and what is wrong in it (a missing
    or unreadable file, invalid JSON, a missing column or field, a facility named in
    ``assignments.csv`` but missing from ``facilities.geojson``): see
    :func:`wastenet.pipeline.check_siting`."""
    from wastenet.pipeline import check_siting

    base = Path(d)
    paths = {part: base / name for part, name in SITING_FILES.items()}
    if not base.is_dir():
        raise ValidationError("siting", d, "not a siting output folder (no such folder)")
    doc: dict[str, Any] = {}
    for part in ("summary", "facilities"):
        path = paths[part]
        try:
            doc[part] = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError("siting", str(path), "not a siting output folder "
                                  f"(cannot read {path.name}: {exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise ValidationError("siting", str(path), "is not UTF-8 text") from exc
        except json.JSONDecodeError as exc:
            raise ValidationError("siting", str(path), f"is not valid JSON ({exc.msg} at "
                                  f"line {exc.lineno} column {exc.colno})") from exc
    path = paths["assignments"]
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            doc["assignments"] = [_unguard_row(r) for r in csv.DictReader(fh)]
    except OSError as exc:
        raise ValidationError("siting", str(path), "not a siting output folder "
                              f"(cannot read {path.name}: {exc.strerror})") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValidationError("siting", str(path), f"is not a readable CSV file ({exc})"
                              ) from exc
    check_siting(doc, siting_parts(d))
    return doc


def _unguard_row(row: dict[str, Any]) -> dict[str, Any]:
    """An ``assignments.csv`` row with the CSV-injection guard of its free-text cells
    (:data:`wastenet.commands.site.TEXT_FIELDS`) undone."""
    from wastenet.commands.site import TEXT_FIELDS
    from wastenet.formats.spreadsheet import unsafe_text

    return {k: unsafe_text(v) if k in TEXT_FIELDS and isinstance(v, str) else v
            for k, v in row.items()}


def write_exports(target: Path, exports: dict[str, str]) -> None:
    """Write one county-day's exports into ``target`` (``FILE_NAMES``; the CSV with a
    UTF-8 BOM so that Excel reads the Chinese names). The texts are written as rendered,
    line ends untranslated (the CSV's are CRLF on every system), each file atomically."""
    target.mkdir(parents=True, exist_ok=True)
    for key, text in exports.items():
        enc = "utf-8-sig" if key == "csv" else "utf-8"
        atomicio.write_atomic(target / FILE_NAMES[key], text.lstrip("\ufeff"), enc,
                              newline="")


def clear_exports(target: Path) -> list[str]:
    """Remove the export files (``FILE_NAMES``) an earlier run left in ``target``, and the
    folder if that leaves it empty; other files are kept. Returns the names removed."""
    removed = []
    for name in FILE_NAMES.values():
        path = target / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    return removed


def plan_days(first_text: str, week: bool) -> list[dt.date]:
    """The day ``first_text`` (YYYY-MM-DD), or with ``week`` it and the six after it;
    :class:`ValidationError` naming ``date`` when it is malformed or the week would run
    past 9999-12-31."""
    try:
        first = dt.date.fromisoformat(first_text)
    except ValueError as exc:
        raise ValidationError("date", first_text, "must be YYYY-MM-DD") from exc
    n = 7 if week else 1
    if first > dt.date.max - dt.timedelta(days=n - 1):
        raise ValidationError("date", first_text, f"--week plans seven days from the date; "
                              f"the last would fall after {dt.date.max.isoformat()}")
    return [first + dt.timedelta(days=k) for k in range(n)]


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.pipeline import check_provenance, route_plan_week, run_route_plan
    from wastenet.province import stopped_by
    from wastenet.scenario.network import build_network

    days = plan_days(args.date, args.week)
    scenario = load_scenario(args.scenario)
    siting = load_siting_dir(args.siting)
    network = build_network(scenario)  # once, for every day
    # a siting folder made for other villages is refused naming its summary.json, and
    # one that cannot be checked is warned about once (the pipeline checks each day
    # again, without the warning)
    check_provenance(siting, network, siting_parts(args.siting), warn=True)
    # after the inputs (a bad scenario leaves no empty folder), before any routing
    out = output_dir(args.out)
    if args.week:
        # an earlier run's plan must never pass for this run's: a day this run finds
        # nothing to collect on, or does not reach because an earlier day fails, is empty
        for day in days:
            stale = clear_exports(out / day.isoformat())
            if stale:
                log.warning("%s: removed %s of an earlier run", out / day.isoformat(),
                            ", ".join(stale))
    week = route_plan_week(scenario, siting, args.county, network=network) \
        if args.week else None
    for day in tqdm(days, desc="routing", unit="day", file=sys.stderr, disable=len(days) == 1):
        try:
            res = run_route_plan(scenario, siting, args.county, day.isoformat(),
                                 time_limit_s=args.time_limit, seed=args.seed, crs=args.crs,
                                 solution_limit=args.solution_limit, network=network,
                                 week=week)
        except ValidationError as exc:
            if args.week and exc.field == "date":
                log.info("%s: nothing to collect", day)
                continue
            raise
        target = out / day.isoformat() if args.week else out
        write_exports(target, res["exports"])
        plan = res["plan"]
        if stopped_by(plan) == "time_limit":
            log.warning("%s %s: the search stopped on the time limit, so this plan depends "
                        "on the machine's speed; --solution-limit (with --seed) gives a "
                        "repeatable plan", args.county, day)
        totals = plan.get("totals", plan)
        print(f"{args.county} {day}: {totals.get('vehicles')} vehicles, "
              f"{totals.get('distance_m', 0) / 1000:.1f} km -> {target}")
    return 0
