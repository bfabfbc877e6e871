"""``wastenet site SCENARIO --out DIR [--time-limit S] [--seed N]``: site facilities."""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from wastenet import atomicio
from wastenet.bounds import MAX_THREADS
from wastenet.commands.args import (
    missing_folders,
    output_dir,
    positive_int,
    remove_empty_folders,
    seed,
    time_limit,
)
from wastenet.errors import ValidationError
from wastenet.formats.spreadsheet import safe_text
from wastenet.scenario.schema import Scenario, load_scenario

log = logging.getLogger("wastenet.site")

#: the files of a siting output folder, written together (:func:`write_outputs`)
OUTPUT_FILES = ("summary.json", "facilities.geojson", "assignments.csv")

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
    p.add_argument("--threads", type=positive_int("threads", MAX_THREADS), default=None,
                   help=f"sub-problems solved at a time, at most {MAX_THREADS} "
                   "(default: scenario, 1)")
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


def check_targets(out: Path) -> None:
    """Refuse, before anything is written (and, from :func:`run`, before the solve), an
    output file name that something other than a file holds in ``out`` (a folder named
    ``facilities.geojson``): :class:`ValidationError` naming ``out`` and the file."""
    for name in OUTPUT_FILES:
        path = out / name
        if path.is_symlink() or not path.exists() or path.is_file():
            continue
        what = "a folder" if path.is_dir() else "not a regular file"
        raise ValidationError("out", str(out), f"{name} exists and is {what}: remove it or "
                              "choose another --out")


def _render(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(file name, text, encoding)`` of each output file."""
    summary = result["summary"]
    solver_seed = summary.get("solver_seed", summary.get("seed"))
    return [
        ("summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8"),
        ("facilities.geojson", json.dumps(result["facilities"], ensure_ascii=False), "utf-8"),
        ("assignments.csv",
         assignments_csv(result["assignments"], synthetic=bool(summary.get("synthetic")),
                         data_seed=summary.get("data_seed"), solver_seed=solver_seed),
         "utf-8-sig"),
    ]


def _write_error(out: Path, name: str, exc: OSError) -> ValidationError:
    return ValidationError("out", str(out), f"cannot write {name} ({exc.strerror or exc}); "
                           "the folder's files were left as they were")


def _discard(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: could not remove a temporary file (%s)", path,
                        exc.strerror or exc)


def write_outputs(out: Path, result: dict[str, Any]) -> None:
    """Write summary.json, facilities.geojson and assignments.csv into ``out`` (created
    if missing) as one set: afterwards the folder holds the three files of this run or,
    when the write fails, the three it held before, never a mix of two runs.

    The targets are checked first (:func:`check_targets`); each file is then written
    under a temporary name (:func:`wastenet.atomicio.write_atomic`), the files already
    there are kept under a second name (a hard link, or a copy where links are not
    supported), and only when all of that succeeded are the new files renamed onto
    their names. A failed rename puts the earlier files back. So an error leaves the
    folder as it was, without temporary files; it is a :class:`ValidationError`
    naming ``out`` and the file (disk full, permissions, a name taken by a folder).
    What remains possible: a reader during the three renames (microseconds), or a crash
    between them, sees a mix; a killed process leaves its hidden ``.<name>.<pid>-<hex>``
    temporary files behind."""
    files = _render(result)
    output_dir(str(out))
    check_targets(out)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    staged: list[tuple[Path, Path]] = []
    backups: dict[Path, Path | None] = {}  # target -> its earlier file's second name
    try:
        for name, text, encoding in files:
            stage = out / f".{name}.{token}.new"
            try:
                atomicio.write_atomic(stage, text, encoding)
            except OSError as exc:
                raise _write_error(out, name, exc) from exc
            staged.append((stage, out / name))
        for _, target in staged:
            backups[target] = _keep_old(out, target, token)
        _commit(out, staged, backups)
    finally:
        _discard([stage for stage, _ in staged])
        _discard([b for b in backups.values() if b is not None])


def _keep_old(out: Path, target: Path, token: str) -> Path | None:
    """A second name for the file at ``target`` (None when there is none), so that a
    failed commit can put it back."""
    if not os.path.lexists(target):
        return None
    backup = out / f".{target.name}.{token}.old"
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:
        try:
            shutil.copy2(target, backup, follow_symlinks=False)
        except OSError as exc:
            raise _write_error(out, target.name, exc) from exc
    return backup


def _commit(out: Path, staged: list[tuple[Path, Path]],
            backups: dict[Path, Path | None]) -> None:
    """Rename each staged file onto its target; on any error (or an interrupt) undo the
    renames already made, from ``backups``, and raise."""
    done: list[Path] = []
    try:
        for stage, target in staged:
            try:
                os.replace(stage, target)
            except OSError as exc:
                raise _write_error(out, target.name, exc) from exc
            done.append(target)
    except BaseException:
        for target in reversed(done):
            backup = backups.get(target)
            try:
                if backup is None:
                    target.unlink()
                else:
                    os.replace(backup, target)
            except OSError as exc:
                log.error("%s: could not restore the earlier file (%s): the folder now "
                          "mixes two runs", target, exc.strerror or exc)
        raise


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    created = missing_folders(args.out)
    try:
        # the folder is checked (created, probed) and so are the file names in it, before
        # the solve, not after
        out = output_dir(args.out)
        check_targets(out)
        result = _solve(args, scenario)
        write_outputs(out, result)
    except BaseException:
        remove_empty_folders(created)  # a folder this run made, if it wrote nothing
        raise
    s = result["summary"]
    print(f"{s['scenario']}: cost {s['total_cost_yuan_per_year']:,.0f} yuan/yr, "
          f"gap {100 * s['gap']:.3f} %, {s['transfer_stations_opened']} transfer stations, "
          f"{s['incinerators_opened']} incinerators -> {out}")
    return 0


def _solve(args: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    """The siting result of ``scenario`` with the command line's settings, with a
    progress bar unless ``--no-progress``."""
    from tqdm import tqdm

    from wastenet.pipeline import run_siting

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
        return run_siting(scenario, time_limit_s=args.time_limit, seed=args.seed,
                          progress=progress, max_iterations=args.max_iterations,
                          threads=args.threads)
    finally:
        if bar is not None:
            bar.close()
