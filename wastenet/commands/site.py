"""``wastenet site SCENARIO --out DIR [--time-limit S] [--seed N]``: site facilities."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from wastenet.commands.args import output_dir, positive_int, seed, time_limit
from wastenet.errors import ValidationError
from wastenet.formats.spreadsheet import safe_text
from wastenet.scenario.schema import load_scenario

#: free-text columns of assignments.csv (ids and names come from user data): written
#: through ``safe_text``, read back through ``unsafe_text``
TEXT_FIELDS = ("village_id", "village_name", "county", "facility_id", "facility_name",
               "facility_kind")

ASSIGNMENT_FIELDS = ("village_id", "village_name", "county", "facility_id", "facility_name",
                     "facility_kind", "distance_m", "t_per_day", "fraction",
                     "synthetic", "data_seed", "solver_seed")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("site", help="site transfer stations and incinerators",
                       description="Solve the two-echelon siting model of a scenario and "
                       "write summary.json, facilities.geojson and assignments.csv.")
    p.add_argument("scenario", help="scenario file (.toml or .json)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--time-limit", type=time_limit(), default=None,
                   help="seconds, at most 86400 (default: scenario)")
    p.add_argument("--seed", type=seed(), default=None,
                   help="solver seed in [0, 2**31 - 1] (default: scenario)")
    p.add_argument("--max-iterations", type=positive_int("max-iterations"), default=None,
                   help="deterministic work limit (for reproducible runs)")
    p.add_argument("--threads", type=positive_int("threads"), default=None,
                   help="sub-problems solved at a time (default: scenario, 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


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
    ``solver_seed``. Free-text cells (:data:`TEXT_FIELDS`) go through
    :func:`~wastenet.formats.spreadsheet.safe_text`, so that a spreadsheet never runs a
    name or id as a formula; the guard is reversible, and
    :func:`wastenet.commands.plan_routes.load_siting_dir` undoes it
    (:func:`~wastenet.formats.spreadsheet.unsafe_text`) so that the ids read back match
    ``facilities.geojson``."""
    prov = {"synthetic": csv_cell(bool(synthetic)), "data_seed": csv_cell(data_seed),
            "solver_seed": csv_cell(solver_seed)}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ASSIGNMENT_FIELDS, lineterminator="\n",
                       extrasaction="ignore")
    w.writeheader()
    for r in rows:
        row = {**r, **prov}
        for k in TEXT_FIELDS:
            if k in row:
                row[k] = safe_text(row[k])
        w.writerow(row)
    return buf.getvalue()


def write_outputs(out: Path, result: dict[str, Any]) -> None:
    """Write summary.json, facilities.geojson and assignments.csv into ``out``; an
    OSError (disk full, permissions, a name taken by a folder) becomes a
    :class:`ValidationError` naming ``out`` and the file."""
    summary = result["summary"]
    files = (
        ("summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8"),
        ("facilities.geojson", json.dumps(result["facilities"], ensure_ascii=False), "utf-8"),
        ("assignments.csv",
         assignments_csv(result["assignments"], synthetic=bool(summary.get("synthetic")),
                         data_seed=summary.get("data_seed"), solver_seed=summary.get("seed")),
         "utf-8-sig"),
    )
    output_dir(str(out))
    for name, text, encoding in files:
        try:
            (out / name).write_text(text, encoding=encoding)
        except OSError as exc:
            raise ValidationError("out", str(out),
                                  f"cannot write {name} ({exc.strerror or exc})") from exc


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.pipeline import run_siting

    scenario = load_scenario(args.scenario)
    out = output_dir(args.out)  # checked (and created) before the solve, not after
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
    write_outputs(out, result)
    s = result["summary"]
    print(f"{s['scenario']}: cost {s['total_cost_yuan_per_year']:,.0f} yuan/yr, "
          f"gap {100 * s['gap']:.3f} %, {s['transfer_stations_opened']} transfer stations, "
          f"{s['incinerators_opened']} incinerators -> {out}")
    return 0
