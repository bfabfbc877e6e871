"""``wastenet plan-routes SCENARIO --siting DIR --county ADCODE --date YYYY-MM-DD --out DIR``."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from wastenet.errors import ValidationError
from wastenet.routing.exports import FILE_NAMES
from wastenet.scenario.schema import load_scenario


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
    p.add_argument("--time-limit", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--crs", choices=("wgs84", "gcj02"), default="wgs84")
    p.set_defaults(func=run)


def load_siting_dir(d: str) -> dict[str, Any]:
    """Read a siting output folder back into the dict :func:`run_siting` returns."""
    base = Path(d)
    try:
        summary = json.loads((base / "summary.json").read_text(encoding="utf-8"))
        facilities = json.loads((base / "facilities.geojson").read_text(encoding="utf-8"))
        with (base / "assignments.csv").open(encoding="utf-8-sig", newline="") as fh:
            assignments = list(csv.DictReader(fh))
    except OSError as exc:
        raise ValidationError("siting", d, f"not a siting output folder ({exc})") from exc
    return {"summary": summary, "facilities": facilities, "assignments": assignments}


def write_exports(target: Path, exports: dict[str, str]) -> None:
    """Write one county-day's exports into ``target`` (``FILE_NAMES``; the CSV with a
    UTF-8 BOM so that Excel reads the Chinese names)."""
    target.mkdir(parents=True, exist_ok=True)
    for key, text in exports.items():
        enc = "utf-8-sig" if key == "csv" else "utf-8"
        (target / FILE_NAMES[key]).write_text(text.lstrip("\ufeff"), encoding=enc)


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


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.pipeline import run_route_plan

    scenario = load_scenario(args.scenario)
    siting = load_siting_dir(args.siting)
    try:
        first = dt.date.fromisoformat(args.date)
    except ValueError as exc:
        raise ValidationError("date", args.date, "must be YYYY-MM-DD") from exc
    days = [first + dt.timedelta(days=k) for k in range(7 if args.week else 1)]
    out = Path(args.out)
    for day in tqdm(days, desc="routing", unit="day", file=sys.stderr, disable=len(days) == 1):
        try:
            res = run_route_plan(scenario, siting, args.county, day.isoformat(),
                                 time_limit_s=args.time_limit, seed=args.seed, crs=args.crs)
        except ValidationError as exc:
            if args.week and exc.field == "date":
                print(f"{day}: nothing to collect", file=sys.stderr)
                continue
            raise
        target = out / day.isoformat() if args.week else out
        write_exports(target, res["exports"])
        plan = res["plan"]
        totals = plan.get("totals", plan)
        print(f"{args.county} {day}: {totals.get('vehicles')} vehicles, "
              f"{totals.get('distance_m', 0) / 1000:.1f} km -> {target}")
    return 0
