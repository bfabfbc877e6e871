"""``wastenet site SCENARIO --out DIR [--time-limit S] [--seed N]``: site facilities."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wastenet.scenario.schema import load_scenario

ASSIGNMENT_FIELDS = ("village_id", "village_name", "county", "facility_id", "facility_name",
                     "facility_kind", "distance_m", "t_per_day", "fraction",
                     "synthetic", "data_seed", "solver_seed")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("site", help="site transfer stations and incinerators",
                       description="Solve the two-echelon siting model of a scenario and "
                       "write summary.json, facilities.geojson and assignments.csv.")
    p.add_argument("scenario", help="scenario file (.toml or .json)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--time-limit", type=float, default=None, help="seconds (default: scenario)")
    p.add_argument("--seed", type=int, default=None, help="solver seed (default: scenario)")
    p.add_argument("--max-iterations", type=int, default=None,
                   help="deterministic work limit (for reproducible runs)")
    p.add_argument("--threads", type=positive_int("threads"), default=None,
                   help="sub-problems solved at a time (default: scenario, 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def positive_int(option: str) -> Callable[[str], int]:
    """An argparse ``type`` for an integer >= 1; errors name ``option`` and the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not an integer") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option}: {value} must be >= 1")
        return value
    return parse


def csv_cell(x: object) -> str:
    """A CSV cell: empty for None, ``true``/``false`` for booleans, else ``str``."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x)


def assignments_csv(rows: list[dict[str, Any]], *, synthetic: bool,
                    data_seed: int | None, solver_seed: int | None = None) -> str:
    """CSV text (the caller writes it with a UTF-8 BOM so Excel reads the Chinese names).

    Provenance is repeated on every row, so that any extract of the file still carries
    it: ``synthetic`` (``true``/``false``: the villages are generated, not surveyed),
    ``data_seed`` (the seed the villages were generated with; empty for user data) and
    ``solver_seed``."""
    prov = {"synthetic": csv_cell(bool(synthetic)), "data_seed": csv_cell(data_seed),
            "solver_seed": csv_cell(solver_seed)}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ASSIGNMENT_FIELDS, lineterminator="\n",
                       extrasaction="ignore")
    w.writeheader()
    w.writerows({**r, **prov} for r in rows)
    return buf.getvalue()


def write_outputs(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(result["summary"], ensure_ascii=False,
                                                 indent=2) + "\n", encoding="utf-8")
    (out / "facilities.geojson").write_text(json.dumps(result["facilities"],
                                                       ensure_ascii=False), encoding="utf-8")
    summary = result["summary"]
    (out / "assignments.csv").write_text(
        assignments_csv(result["assignments"], synthetic=bool(summary.get("synthetic")),
                        data_seed=summary.get("data_seed"), solver_seed=summary.get("seed")),
        encoding="utf-8-sig")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.pipeline import run_siting

    scenario = load_scenario(args.scenario)
    bar = None if args.no_progress else tqdm(total=1000, desc="siting", unit="‰",
                                             file=sys.stderr, leave=True)

    def progress(p: dict[str, Any]) -> None:
        if bar is None:
            return
        bar.n = int(1000 * p["fraction"])
        inc = p.get("incumbent")
        lb = p.get("lower_bound")
        bar.set_postfix_str(f"cost={inc:,.0f} lb={lb:,.0f}" if inc and lb else p["message"])
        bar.refresh()

    try:
        result = run_siting(scenario, time_limit_s=args.time_limit, seed=args.seed,
                            progress=progress, max_iterations=args.max_iterations,
                            threads=args.threads)
    finally:
        if bar is not None:
            bar.close()
    out = Path(args.out)
    write_outputs(out, result)
    s = result["summary"]
    print(f"{s['scenario']}: cost {s['total_cost_yuan_per_year']:,.0f} yuan/yr, "
          f"gap {100 * s['gap']:.3f} %, {s['transfer_stations_opened']} transfer stations, "
          f"{s['incinerators_opened']} incinerators -> {out}")
    return 0
