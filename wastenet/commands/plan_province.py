"""``wastenet plan-province SCENARIO --siting DIR --date YYYY-MM-DD --out DIR``.

Plans every county's collection routes for one day, one county-day per work unit
(:mod:`wastenet.province`), on a local process pool (``--scheduler local``, the default)
or on a Dask cluster (``--scheduler tcp://host:8786``; needs ``pip install
'wastenet[dask]'``). Writes each county's exports to ``OUT/<adcode>/`` under the names
``plan-routes`` uses, and ``OUT/province.json`` / ``OUT/province.csv`` with one row per
county and the province totals. Exits with 1 when a county failed or the route-plan
checker rejects its plan, after writing everything else.

Before any county is planned, the run refuses (exit code 2, an error naming the field
and value): a ``--scheduler`` that is neither ``local`` nor ``tcp://HOST:PORT``, a Dask
scheduler that cannot be reached within ``DASK_CONNECT_TIMEOUT_S`` or that has no worker
within ``DASK_WORKER_WAIT_S``, a ``county`` cell of the siting's ``assignments.csv`` that
is no Liaoning county adcode (the output folders are named after them), counties the
scenario has no villages in (``--counties``, or the ``county`` cells of
``assignments.csv`` by default; one error naming every such adcode), and output paths
that cannot be written (``OUT/<adcode>`` or an export in it that is not a file/folder as
it should be, ``OUT`` or an existing ``OUT/<adcode>`` that no file can be created in
(tried by creating one, not asked of :func:`os.access`), ``OUT/province.csv`` or
``.json`` that is a folder).

The scenario's network is built once, here; each county's routing data is compiled
from it here too, and each county is sent to the workers as soon as its data is
compiled (:func:`wastenet.province.compile_units`), so the workers plan the first
counties while the others are compiled, and no worker builds the network or reads the
scenario's files. The counties with the most villages are compiled and sent first
(:func:`wastenet.province.largest_first`), so that their long plans do not finish the
run alone; the rows of ``province.csv`` / ``.json`` keep the counties' order.

The province files of an earlier run are removed when the planning starts and written
again (through a temporary file, then renamed) when it ends, so that a run that dies
leaves no summary that would pass for it. A plan the checker rejects is not written:
its county's exports of an earlier run are removed as for a failure, and
``province.csv`` / ``.json`` give its status ``rejected`` and the first violations. A
county whose exports cannot be written fails alone; the others go on.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from wastenet import atomicio
from wastenet.commands.args import output_dir, positive_int, probe_writable, seed, time_limit
from wastenet.commands.site import csv_cell
from wastenet.errors import ValidationError
from wastenet.formats.spreadsheet import safe_text

log = logging.getLogger("wastenet.province")

#: seconds to wait for a Dask scheduler to answer before giving up
DASK_CONNECT_TIMEOUT_S = 5.0
#: seconds to wait for a Dask scheduler to have at least one worker before giving up
DASK_WORKER_WAIT_S = 30.0
#: the Dask scheduler addresses accepted: ``tcp://HOST:PORT`` (a name, an IPv4 address
#: or an IPv6 address in brackets)
SCHEDULER_ADDRESS = re.compile(
    r"tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r":(?P<port>\d{1,5})")
PROVINCE_FILES = ("province.json", "province.csv")
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
                   help="'local' (a process pool, default) or a Dask scheduler address "
                   "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (waits up to "
                   f"{DASK_WORKER_WAIT_S:g} s for a worker)")
    p.add_argument("--workers", type=positive_int("workers"), default=None,
                   help="local pool processes (default: the number of CPUs)")
    p.add_argument("--time-limit", type=time_limit(), default=None,
                   help="seconds per county (default: scenario)")
    p.add_argument("--seed", type=seed(), default=None, help="solver seed (default: scenario)")
    p.add_argument("--solution-limit", type=positive_int("solution-limit"), default=None,
                   help="stop each county after this many improving solutions (a work "
                   "limit: reproducible plans, as long as the time limit does not stop "
                   "the search first; province.csv's stopped_by column tells)")
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
        if code not in known:  # the known adcodes are six digits
            raise ValidationError("counties", code, "unknown county adcode",
                                  hint="six digits, e.g. 210124")
        if code not in out:
            out.append(code)
    if not out:
        raise ValidationError("counties", text, "names no county")
    return out


def check_scheduler(text: str) -> str:
    """``text`` when it is ``"local"`` or a ``tcp://HOST:PORT`` address (port 1-65535);
    otherwise :class:`ValidationError` naming ``scheduler`` (nothing is contacted)."""
    if text == "local":
        return text
    m = SCHEDULER_ADDRESS.fullmatch(text)
    if m is not None and 1 <= int(m["port"]) <= 65535:
        return text
    hint = "e.g. tcp://10.0.0.5:8786"
    if text.strip().lower() == "local":
        hint = "write 'local' in lower case"
    elif "://" in text and not text.startswith("tcp://"):
        hint = (f"only tcp:// addresses are supported, not {text.split('://')[0]}:// "
                "(tls:// would need security settings wastenet does not pass); "
                "e.g. tcp://10.0.0.5:8786")
    raise ValidationError("scheduler", text, "must be 'local' or a Dask scheduler "
                          "address tcp://HOST:PORT", hint=hint)


def _half_built_client(exc: BaseException, client_type: type) -> Any:
    """The client whose constructor raised ``exc`` (found in its traceback), if any."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, client_type):
            found = candidate
        tb = tb.tb_next
    return found


def _close_client(client: Any, timeout: float) -> None:
    """Close a Dask client within about ``timeout`` seconds, also one that never
    connected; it is then marked closed, so that its finaliser does not try again
    (and wait, then print a TimeoutError, at exit)."""
    try:
        client.close(timeout=timeout)
    except Exception as exc:  # a half-built client may not close cleanly
        log.debug("closing the Dask client: %s", exc)
    if getattr(client, "status", "closed") != "closed":
        client.status = "closed"
        with contextlib.suppress(Exception):
            client._loop_runner.stop()


@contextlib.contextmanager
def dask_executor(address: str) -> Iterator[Executor]:
    """The ``concurrent.futures`` executor of a Dask cluster at ``address`` (checked by
    :func:`check_scheduler`); the client is closed on exit (the cluster keeps running).

    Raises :class:`ValidationError` naming ``scheduler`` when the address is malformed,
    the scheduler does not answer within ``DASK_CONNECT_TIMEOUT_S`` or refuses the
    connection, or no worker joins it within ``DASK_WORKER_WAIT_S``."""
    check_scheduler(address)
    try:
        from distributed import Client
    except ImportError as exc:
        raise ValidationError("scheduler", address, "a Dask scheduler needs the "
                              "'distributed' package: pip install 'wastenet[dask]'"
                              ) from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError, TypeError, TimeoutError) as exc:
        half = _half_built_client(exc, Client)
        if half is not None:
            _close_client(half, timeout=1.0)
        raise ValidationError("scheduler", address,
                              f"cannot reach the Dask scheduler ({exc})") from None
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        if workers == 0:
            log.info("Dask scheduler %s has no worker yet: waiting up to %g s for one",
                     address, DASK_WORKER_WAIT_S)
            try:
                client.wait_for_workers(1, timeout=DASK_WORKER_WAIT_S)
            except (OSError, TimeoutError) as exc:
                raise ValidationError(
                    "scheduler", address, f"no Dask worker joined the scheduler within "
                    f"{DASK_WORKER_WAIT_S:g} s", hint="start workers with: dask worker "
                    f"{address}") from exc
            workers = len(client.scheduler_info().get("workers", {}))
        log.info("Dask scheduler %s: %d workers", address, workers)
        yield client.get_executor()
    finally:
        _close_client(client, timeout=2 * DASK_CONNECT_TIMEOUT_S)


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
    """CSV text: one row per county, then a ``total`` row (caller adds the UTF-8 BOM).
    Text cells go through the formula guard (:func:`~wastenet.formats.spreadsheet.safe_text`)
    so that a spreadsheet never runs one."""
    from wastenet.province import ROW_FIELDS, STATUSES, SUM_FIELDS, TEXT_FIELDS

    def cell(key: str, value: object) -> str:
        return safe_text(value) if key in TEXT_FIELDS else csv_cell(value)

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ROW_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in summary["counties"]:
        w.writerow({k: cell(k, r[k]) for k in ROW_FIELDS})
    t = summary["totals"]
    total = {k: "" for k in ROW_FIELDS}
    total.update({"county": "total", "county_name": "全省合计",
                  "date": ",".join(summary["dates"]),
                  "status": ", ".join(f"{s} {t[f'counties_{s}']}" for s in STATUSES)})
    total = {k: cell(k, v) for k, v in total.items()}
    total.update({k: csv_cell(t[k]) for k in SUM_FIELDS})
    w.writerow(total)
    return buf.getvalue()


def check_out_paths(out: Path, counties: Sequence[str]) -> None:
    """Refuse, before any county is planned, output paths this run could not write:
    ``OUT/province.csv`` / ``.json`` that are not files, ``OUT/<adcode>`` that is not a
    writable folder (tried by creating a file in it, :func:`probe_writable`, not with
    :func:`os.access`, which answers yes for root on a read-only target), an export
    name in it that is not a file. :class:`ValidationError` naming ``out`` and the
    path."""
    from wastenet.routing.exports import FILE_NAMES

    for name in PROVINCE_FILES:
        path = out / name
        if path.exists() and not path.is_file():
            raise ValidationError("out", str(path), "exists and is not a file (the "
                                  "province summary is written there)")
    for county in counties:
        folder = out / county
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise ValidationError("out", str(folder), f"exists and is not a folder "
                                  f"(county {county}'s exports are written there)")
        # a file is created to find out: os.access answers yes for root even where the
        # file system refuses (a read-only mount, /sys), and the county would then fail
        # only after its plan
        probe_writable(folder, "out", str(folder), f"county {county}'s export folder")
        for name in FILE_NAMES.values():
            path = folder / name
            if path.exists() and not path.is_file():
                raise ValidationError("out", str(path), f"exists and is not a file "
                                      f"(county {county}'s {name} is written there)")


def remove_province_files(out: Path) -> list[str]:
    """Remove an earlier run's province files (so that a run that dies leaves none that
    would pass for it); the names removed. :class:`ValidationError` naming ``out`` when
    one cannot be removed."""
    removed = []
    for name in PROVINCE_FILES:
        path = out / name
        try:
            if path.is_file():
                path.unlink()
                removed.append(name)
        except OSError as exc:
            raise ValidationError("out", str(path), "cannot remove the file of an earlier "
                                  f"run ({exc.strerror or exc})") from exc
    return removed


def write_atomic(path: Path, text: str, encoding: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, then rename it over ``path``
    (readers see the old file or the whole new one, never a part).
    :class:`ValidationError` naming ``out`` when it cannot be written."""
    try:
        atomicio.write_atomic(path, text, encoding,
                              temp_path=path.with_name(f".{path.name}.{os.getpid()}.tmp"))
    except OSError as exc:
        raise ValidationError("out", str(path), f"cannot write the file "
                              f"({exc.strerror or exc})") from exc


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wastenet.commands.plan_routes import (
        clear_exports,
        load_siting_dir,
        siting_parts,
        write_exports,
    )
    from wastenet.pipeline import check_provenance
    from wastenet.province import (
        CountyOutcome,
        assigned_counties,
        check_counties,
        compile_units,
        largest_first,
        plan_province,
        province_summary,
    )
    from wastenet.scenario.network import build_network
    from wastenet.scenario.schema import load_scenario

    try:
        date = dt.date.fromisoformat(args.date).isoformat()
    except ValueError as exc:
        raise ValidationError("date", args.date, "must be YYYY-MM-DD") from exc
    counties = parse_counties(args.counties) if args.counties is not None else None
    check_scheduler(args.scheduler)
    scenario = load_scenario(args.scenario)
    # a broken siting folder is one error for the whole run, before any county starts
    siting = load_siting_dir(args.siting)
    # the output folders are named after these codes: every cell is checked, always
    source = str(Path(args.siting) / "assignments.csv")
    sited = assigned_counties(siting, source=source)
    field = "counties"
    if counties is None:
        counties, field = sited, f"{source}:county"
        if not counties:
            raise ValidationError("siting", args.siting, "no village is assigned to a "
                                  "facility in this siting output")
    network = build_network(scenario)  # once for the whole run
    check_counties(network, counties, field)
    # a siting folder made for other villages: one error for the run, not one per county
    check_provenance(siting, network, siting_parts(args.siting), warn=True)
    # after the inputs (a bad scenario leaves no empty folder), before any routing
    out = output_dir(args.out)
    check_out_paths(out, counties)
    # compiled one county at a time while the workers plan those before it, the largest
    # first (the rows keep the counties' order)
    units = compile_units(scenario, siting, largest_first(network, counties), date,
                          time_limit_s=args.time_limit, seed=args.seed,
                          solution_limit=args.solution_limit, crs=args.crs,
                          network=network)
    del network  # held by the units' iterator until the last county is compiled
    bar = tqdm(total=len(counties), desc="routing", unit="county", file=sys.stderr,
               disable=len(counties) <= 1)
    unwritten: dict[str, str] = {}

    def progress(o: CountyOutcome) -> None:
        target = out / o.county
        try:
            if o.verdict == "ok":  # written as they arrive: a crash later loses nothing
                write_exports(target, o.exports)
            else:  # an earlier run's files must not pass for this day's plan
                stale = clear_exports(target)
                if stale:
                    log.warning("%s: removed %s of an earlier run (this run: %s)",
                                o.county, ", ".join(stale), o.verdict)
        except OSError as exc:  # this county fails; the others go on
            unwritten[o.county] = (f"county {o.county} on {o.date}: cannot write its "
                                   f"exports to {target} ({exc.strerror or exc})")
            log.warning("%s", unwritten[o.county])
            with contextlib.suppress(OSError):  # no partial set may pass for a plan
                clear_exports(target)
        bar.set_postfix_str(f"{o.county} {o.verdict}")
        bar.update(1)

    try:
        with open_executor(args.scheduler, args.workers, len(counties)) as executor:
            # only now (the executor is there): a refused scheduler leaves them alone
            removed = remove_province_files(out)
            if removed:
                log.debug("removed %s of an earlier run", ", ".join(removed))
            outcomes = plan_province(units, executor=executor, progress=progress)
    finally:
        bar.close()
    rank = {c: k for k, c in enumerate(counties)}
    outcomes = [dataclasses.replace(o, status="failed", message=unwritten[o.county],
                                    error_type="OSError")
                if o.county in unwritten else o
                for o in sorted(outcomes, key=lambda o: rank[o.county])]

    summary = province_summary(outcomes)
    doc = {"format": PROVINCE_FORMAT, "version": PROVINCE_FORMAT_VERSION,
           "scenario": scenario.name, "date": date, "scheduler": args.scheduler,
           "solution_limit": args.solution_limit, "time_limit_s": args.time_limit,
           **summary}
    write_atomic(out / "province.json", json.dumps(doc, ensure_ascii=False, indent=1)
                 + "\n", "utf-8")
    write_atomic(out / "province.csv", province_csv(summary), "utf-8-sig")

    t = summary["totals"]
    timed = [o.county for o in outcomes if o.stopped_by == "time_limit"]
    if timed and args.solution_limit is not None:
        log.warning("%d of %d counties stopped on the time limit before reaching "
                    "--solution-limit %d (%s): their plans depend on the machine's speed "
                    "and load and may differ between runs; raise --time-limit (or lower "
                    "--solution-limit) for reproducible plans", len(timed), len(outcomes),
                    args.solution_limit, ", ".join(timed))
    bad = [o for o in outcomes if o.verdict in ("failed", "rejected")]
    if bad:
        log.error("%d of %d counties failed or were rejected by the route-plan checker: "
                  "%s (see %s)", len(bad), len(outcomes),
                  ", ".join(f"{o.county} ({o.verdict})" for o in bad),
                  out / "province.csv")
    print(f"{date}: {t['counties_ok']} of {t['counties']} counties planned "
          f"({t['counties_idle']} idle, {t['counties_failed']} failed, "
          f"{t['counties_rejected']} rejected), "
          f"{t['vehicles']} vehicles, {t['distance_km']:.1f} km, "
          f"{t['cost_yuan']:,.0f} yuan -> {out}")
    return 1 if bad else 0
