"""Classic facility-location benchmark suite of the siting engine (issue 3, Benchmarks).

Runs every instance of ``benchmarks/data/siting`` through the real command line
(``wastenet solve FILE --format F [--capacity N] --time-limit S --out OUT.json``, one
subprocess per instance), re-checks each OUT.json against the file with the independent
checker of :mod:`wastenet.formats.facility`, compares cost and lower bound with the
published optimum and writes ``benchmarks/results/siting_classic.{md,json}``.

Targets ("at the optimum" = within 1e-6 relative):

* cap41-cap134: at the optimum;
* capa/capb/capc at every capacity of ``optima.txt``: at the optimum within 60 s, proven
  (LB = cost) within 300 s; side by side, a plain MIP of the full formulation solved by
  scipy's HiGHS (``scipy.optimize.milp``), capped at ``--mip-cap`` seconds (600 by default);
* pmed1-pmed40 and Holmberg p1-p71: at the optimum within 60 s.

The HiGHS peer solves the strong formulation of the multi-source CFLP

    min  sum_k f_k y_k + sum_{i,k} c_ik x_ik
    s.t. sum_k x_ik = 1                    (every customer i)
         sum_i w_i x_ik <= s_k y_k         (every site k)
         x_ik <= y_k                       (every pair)
         y binary, 0 <= x <= 1

where c_ik is the file's cost of serving all of customer i's demand at site k.

Usage::

    python benchmarks/siting_classic.py [--subset PATTERN ...] [--time-limit S]
        [--prove-time-limit S] [--mip-cap S | --no-mip] [--merge]

``--subset`` takes group names (``orlib``, ``capabc``, ``pmed``, ``holmberg``) or shell
patterns on instance names (``cap4*``, ``pmed1?``, ``p[1-9]``). ``--merge`` keeps the
results of instances not run this time from an earlier JSON report.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from wastenet.formats.facility import (  # noqa: E402
    BenchmarkSolution,
    check_and_cost,
    read_facility_file,
)

DATA = HERE / "data" / "siting"
RESULTS = HERE / "results"
REL_TOL = 1e-6
log = logging.getLogger("wastenet.bench.siting_classic")


@dataclass(frozen=True)
class Instance:
    name: str  #: e.g. cap41, capa_8000, pmed7, p12
    group: str  #: orlib, capabc, pmed, holmberg
    fmt: str
    path: Path
    optimum: float
    capacity: float | None = None


@dataclass
class Record:
    name: str
    group: str
    optimum: float
    capacity: float | None
    time_limit_s: float
    cost: float | None = None
    lower_bound: float | None = None
    gap_to_opt: float | None = None  #: (cost - optimum) / optimum
    certified_gap: float | None = None  #: (cost - LB) / cost
    at_opt: bool = False
    proven: bool = False
    lb_valid: bool | None = None  #: LB <= optimum * (1 + 1e-6)
    time_s: float | None = None  #: read + solve, measured inside the command
    wall_s: float | None = None  #: whole subprocess, with interpreter start-up
    status: str = ""
    solver: str = ""
    error: str = ""
    prove_run: dict[str, Any] | None = None  #: capa/b/c second run at the proving limit
    mip: dict[str, Any] | None = None  #: HiGHS peer figures
    extra: dict[str, Any] = field(default_factory=dict)


def _read_optima(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                out[parts[0]] = float(parts[-1])
            except ValueError:
                continue  # header line
    return out


def _num_key(name: str) -> tuple[str, int]:
    m = re.match(r"([a-z]+?)(\d*)(?:_(\d+))?$", name)
    if not m:
        return (name, 0)
    return (m.group(1), int(m.group(2) or 0) * 100000 + int(m.group(3) or 0))


def all_instances() -> list[Instance]:
    """Every classic instance with its published optimum."""
    inst: list[Instance] = []
    for name, opt in _read_optima(DATA / "orlib-cap" / "optima.txt").items():
        if "_" in name:
            base, cap = name.split("_")
            inst.append(Instance(name, "capabc", "orlib-cap", DATA / "orlib-cap" / f"{base}.txt",
                                 opt, float(cap)))
        else:
            inst.append(Instance(name, "orlib", "orlib-cap", DATA / "orlib-cap" / f"{name}.txt",
                                 opt))
    for name, opt in _read_optima(DATA / "pmed" / "optima.txt").items():
        inst.append(Instance(name, "pmed", "pmed", DATA / "pmed" / f"{name}.txt", opt))
    raw = (DATA / "sscflp-holmberg" / "os").read_bytes().replace(b"\x00", b" ").split()
    for r, tok in enumerate(raw, start=1):
        inst.append(Instance(f"p{r}", "holmberg", "holmberg", DATA / "sscflp-holmberg" / f"p{r}",
                             float(tok)))
    order = {"orlib": 0, "capabc": 1, "pmed": 2, "holmberg": 3}
    return sorted(inst, key=lambda x: (order[x.group], _num_key(x.name)))


def select(instances: list[Instance], subset: list[str] | None) -> list[Instance]:
    if not subset:
        return instances
    keep = []
    for x in instances:
        if any(s == x.group or fnmatch.fnmatchcase(x.name, s) for s in subset):
            keep.append(x)
    return keep


def run_engine(x: Instance, time_limit_s: float, seed: int, tmp: Path) -> dict[str, Any]:
    """Solve one instance through ``wastenet solve``; check the OUT.json independently."""
    out = tmp / f"{x.name}.json"
    cmd = [sys.executable, "-m", "wastenet.cli", "solve", str(x.path), "--format", x.fmt,
           "--time-limit", f"{time_limit_s:g}", "--out", str(out), "--seed", str(seed)]
    if x.capacity is not None:
        cmd += ["--capacity", f"{x.capacity:g}"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env,
                              timeout=3 * time_limit_s + 120)
    except subprocess.TimeoutExpired:
        return {"error": f"killed after {3 * time_limit_s + 120:g} s (time limit ignored)",
                "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail), "wall_s": wall}
    doc = json.loads(out.read_text(encoding="utf-8"))
    data = read_facility_file(x.path, x.fmt, capacity=x.capacity)
    sol = BenchmarkSolution(tuple(doc["open"]), tuple((int(i), int(k), float(f))
                                                      for i, k, f in doc["flows"]))
    try:
        cost = check_and_cost(data, sol)
    except ValueError as exc:
        return {"error": f"checker rejected the solution: {exc}", "wall_s": wall}
    if abs(cost - doc["cost"]) > REL_TOL * cost:
        return {"error": f"reported cost {doc['cost']} != checked cost {cost}", "wall_s": wall}
    return {"cost": cost, "lower_bound": float(doc["lower_bound"]), "time_s": doc["elapsed_s"],
            "wall_s": wall, "status": doc.get("status", ""), "solver": doc.get("solver", ""),
            "n_open": len(doc["open"])}


def fill(rec: Record, res: dict[str, Any]) -> None:
    rec.wall_s = res.get("wall_s")
    if "error" in res:
        rec.error = res["error"]
        return
    rec.cost, rec.lower_bound = res["cost"], res["lower_bound"]
    rec.time_s, rec.status, rec.solver = res["time_s"], res["status"], res["solver"]
    rec.gap_to_opt = (rec.cost - rec.optimum) / rec.optimum
    rec.certified_gap = max(0.0, (rec.cost - rec.lower_bound) / rec.cost) if rec.cost else 0.0
    rec.at_opt = abs(rec.cost - rec.optimum) <= REL_TOL * rec.optimum
    rec.proven = rec.certified_gap <= REL_TOL
    rec.lb_valid = rec.lower_bound <= rec.optimum * (1 + REL_TOL)


# ------------------------------------------------------------------ HiGHS peer (capa/b/c)


def run_highs_peer(x: Instance, cap_s: float) -> dict[str, Any]:
    """Plain MIP of the full multi-source CFLP formulation, ``scipy.optimize.milp``."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    data = read_facility_file(x.path, x.fmt, capacity=x.capacity)
    n, m = data.n_villages, len(data.incinerator)
    src, dst = data.direct.src, data.direct.dst
    a = len(src)
    cost_x = data.direct.unit_cost * data.demand[src]  # the file's whole-demand costs
    fixed = data.incinerator.size_fixed_cost[:, 0]
    cap = data.incinerator.size_capacity[:, 0]
    c = np.concatenate([fixed, cost_x])
    arange = np.arange(a)
    # assignment: sum_k x_ik = 1
    assign = hstack([csr_matrix((n, m)), coo_matrix((np.ones(a), (src, arange)), shape=(n, a))])
    # capacity: sum_i w_i x_ik - s_k y_k <= 0
    capac = hstack([coo_matrix((-cap, (np.arange(m), np.arange(m))), shape=(m, m)),
                    coo_matrix((data.demand[src], (dst, arange)), shape=(m, a))])
    # strong linking: x_ik - y_k <= 0
    link = hstack([coo_matrix((-np.ones(a), (arange, dst)), shape=(a, m)),
                   coo_matrix((np.ones(a), (arange, arange)), shape=(a, a))])
    cons = [LinearConstraint(assign.tocsr(), 1.0, 1.0),
            LinearConstraint(vstack([capac, link]).tocsr(), -np.inf, 0.0)]
    integrality = np.concatenate([np.ones(m), np.zeros(a)])
    build_s = time.perf_counter() - t0
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0.0, 1.0),
               options={"time_limit": cap_s, "mip_rel_gap": REL_TOL, "disp": False})
    elapsed = time.perf_counter() - t0
    out: dict[str, Any] = {"load_avg_1min": round(load_start, 2),
                           "status": int(res.status), "message": str(res.message),
                           "time_s": elapsed, "build_s": build_s, "cap_s": cap_s}
    if res.x is not None:
        out["cost"] = float(res.fun)
        out["at_opt"] = abs(float(res.fun) - x.optimum) <= REL_TOL * x.optimum
    bound = getattr(res, "mip_dual_bound", None)
    if bound is not None and np.isfinite(bound):
        out["lower_bound"] = float(bound)
    out["proven"] = res.status == 0
    return out


# ------------------------------------------------------------------ report


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "–" if v is None else format(v, spec)


def _yes(b: bool | None) -> str:
    return "–" if b is None else ("yes" if b else "**no**")


def render_md(records: list[Record], meta: dict[str, Any]) -> str:
    lines = ["# Classic facility-location benchmarks of the siting engine", ""]
    lines += [
        f"Generated by `benchmarks/siting_classic.py` on {meta['date']} "
        f"({meta['machine']}; {meta['note']}; engine: {meta.get('engine', 'unknown')}).",
        "",
        "Each instance is solved by the real command line, `wastenet solve FILE --format F "
        "[--capacity N] --time-limit S --out OUT.json` (one process per instance, seed 0); "
        "OUT.json is re-checked against the file by the independent checker "
        "(`wastenet.formats.facility.check_and_cost`: coverage, capacities, single sourcing, "
        "p, cost recomputed in the benchmark's own terms). *at opt*: cost within 1e-6 relative "
        "of the published optimum. *proven*: the engine's own lower bound is within 1e-6 of "
        "its cost. *LB valid*: LB ≤ optimum × (1 + 1e-6). *load*: the machine's 1-minute load average when the instance started (2 cores: a load "
        "of 8 means the engine got roughly a quarter of a core). *time*: reading + solving "
        "inside the command, wall-clock seconds (the subprocess adds ~1–2 s of interpreter and OR-Tools "
        "start-up). The machine has 2 cores shared with other jobs, so times are noisy.",
        "",
    ]
    groups = [("orlib", "OR-Library cap41–cap134 (multi-source CFLP) — target: at the optimum"),
              ("capabc", "OR-Library capa/capb/capc (1000 × 100) — target: at the optimum "
                         "within 60 s, proven within 300 s; HiGHS plain MIP side by side"),
              ("pmed", "OR-Library p-median pmed1–pmed40 — target: at the optimum within 60 s"),
              ("holmberg", "Holmberg et al. single-source CFLP p1–p71 — target: at the optimum "
                           "within 60 s")]
    summary = ["## Summary", "",
               "| set | run | at opt | proven | LB valid | errors | median time (s) | "
               "max time (s) | median gap to opt | max gap to opt |",
               "|---|---|---|---|---|---|---|---|---|---|"]
    body: list[str] = []
    for g, title in groups:
        rs = [r for r in records if r.group == g]
        if not rs:
            continue
        ok = [r for r in rs if not r.error]
        times = [r.time_s for r in ok if r.time_s is not None]
        gaps = [r.gap_to_opt for r in ok if r.gap_to_opt is not None]
        summary.append(
            f"| {g} | {len(rs)} | {sum(r.at_opt for r in rs)} | {sum(r.proven for r in rs)} | "
            f"{sum(bool(r.lb_valid) for r in rs)} | {sum(bool(r.error) for r in rs)} | "
            f"{_fmt(statistics.median(times) if times else None, '.2f')} | "
            f"{_fmt(max(times) if times else None, '.2f')} | "
            f"{_fmt(statistics.median(gaps) if gaps else None, '.2e')} | "
            f"{_fmt(max(gaps) if gaps else None, '.2e')} |")
        body += [f"## {title}", ""]
        if g == "capabc":
            body += ["The peer is a plain MIP of the full (strong) formulation — y binary, "
                     "0 ≤ x ≤ 1, assignment rows, capacity rows and the 100,000 linking rows "
                     "x_ik ≤ y_k — solved by `scipy.optimize.milp` (HiGHS) with "
                     "`mip_rel_gap=1e-6` and a wall-clock cap. *proving run*: when the 60 s "
                     "run is not proven, the engine is run again with a 300 s limit. "
                     "*HiGHS time / engine time*: the peer's time over the engine's time to "
                     "its final answer (≥ when the peer hit its cap). An engine rerun with "
                     "`--no-mip --merge` keeps the peer figures of the run that produced them "
                     "(the peer's own load average is shown next to its time).", ""]
            body += ["| instance | optimum | cost | LB | gap to opt | at opt | proven | "
                     "LB valid | time (s) | proving run (300 s): cost / LB / proven / time | "
                     "HiGHS MIP: cost / proven / time (s) | HiGHS time / engine time | load |",
                     "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        else:
            body += ["| instance | optimum | cost | LB | gap to opt | at opt | proven | "
                     "LB valid | time (s) | status / solver | load |",
                     "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            if r.error:
                err = r.error.split(" | ")[-1].replace("|", "/")
                cells = [r.name, _fmt(r.optimum), f"**failed** ({err[:160]})", "–", "–",
                         "**no**", "**no**", "–", f"{_fmt(r.wall_s, '.1f')} (wall)"]
            else:
                cells = [r.name, _fmt(r.optimum), _fmt(r.cost), _fmt(r.lower_bound),
                         _fmt(r.gap_to_opt, ".2e"), _yes(r.at_opt), _yes(r.proven),
                         _yes(r.lb_valid), _fmt(r.time_s, ".2f")]
            if g == "capabc":
                pr = r.prove_run
                if pr is None:
                    cells.append("not needed" if r.proven else "not run (skipped for time)")
                elif "error" in pr:
                    cells.append(f"**failed** ({pr['error'].split(' | ')[-1][:120]})")
                else:
                    cells.append(f"{pr['cost']:.3f} / {pr['lower_bound']:.3f} / "
                                 f"{_yes(pr['proven'])} / {pr['time_s']:.1f}")
                mp = r.mip
                if mp is None:
                    cells += ["not run (skipped for time)", "–"]
                else:
                    proven = "yes" if mp.get("proven") else f"**no** ({mp['message'][:40]})"
                    load = mp.get("load_avg_1min")
                    cells.append(f"{_fmt(mp.get('cost'))} / {proven} / {mp['time_s']:.1f}"
                                 + (f" (load {load:.1f})" if load is not None else ""))
                    eng = r.time_s
                    if not r.proven and r.prove_run and "time_s" in r.prove_run:
                        eng = r.prove_run["time_s"]
                    reached = r.at_opt or bool(r.prove_run and r.prove_run.get("at_opt"))
                    ratio = mp["time_s"] / eng if (eng and reached) else None
                    more = "≥ " if not mp.get("proven") else ""
                    cells.append(f"{more}{_fmt(ratio, '.1f')}×" if ratio
                                 else "– (engine not at the optimum)")
            else:
                cells.append(f"{r.status} / {r.solver}" if r.status else "–")
            cells.append(_fmt(r.extra.get("load_avg_1min"), ".1f"))
            body.append("| " + " | ".join(cells) + " |")
        body.append("")
    missed = ["## Targets not met in this report", ""]
    for r in records:
        if r.error:
            missed.append(f"* {r.name}: the engine failed — {r.error.split(' | ')[-1]}")
        elif not r.at_opt:
            missed.append(f"* {r.name}: cost {r.cost:.3f} is {100 * (r.gap_to_opt or 0):.3f}% "
                          f"above the optimum {r.optimum:.3f} after {_fmt(r.time_s, '.1f')} s "
                          f"(certified gap {100 * (r.certified_gap or 0):.3f}%)")
        elif r.group != "orlib" and r.time_s is not None and r.time_s > 60.0:
            missed.append(f"* {r.name}: at the optimum but after {r.time_s:.1f} s (> 60 s)")
        if r.lb_valid is False:
            missed.append(f"* {r.name}: **invalid lower bound** {r.lower_bound} > optimum "
                          f"{r.optimum}")
        if r.group == "capabc" and not r.proven and not (r.prove_run or {}).get("proven"):
            missed.append(f"* {r.name}: not proven optimal within "
                          f"{'300' if r.prove_run else '60'} s")
    not_run = [x.name for x in all_instances() if x.name not in {r.name for r in records}]
    if not_run:
        missed.append(f"* not run yet ({len(not_run)}): {', '.join(not_run)}")
    if len(missed) == 2:
        missed.append("None.")
    return "\n".join(lines + summary + [""] + missed + [""] + body)


def _engine_version() -> str:
    """Git commit of the checkout, flagged when the siting engine has uncommitted edits."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=REPO, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "wastenet/siting"],
                               capture_output=True, text=True, cwd=REPO, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted wastenet/siting edits' if dirty.strip() else ''}"


def collect(fresh: dict[str, Record], args: argparse.Namespace) -> dict[str, Record]:
    """Records to report: earlier ones (re-read from disk now, so that concurrent runs with
    ``--merge`` do not drop each other's results) overlaid with this run's records. A
    ``--mip-only`` record only replaces the peer figures; an engine run without the peer
    keeps earlier peer figures."""
    base: dict[str, dict[str, Any]] = {}
    json_path = args.out.with_suffix(".json")
    if args.merge and json_path.exists():
        base = {r["name"]: r for r in json.loads(json_path.read_text("utf-8"))["records"]}
    out = {k: Record(**v) for k, v in base.items()}
    for extra in args.merge_from:
        for r in json.loads(extra.read_text("utf-8"))["records"]:
            _overlay(out, Record(**r))
    for rec in fresh.values():
        _overlay(out, rec)
    return out


def _overlay(out: dict[str, Record], rec: Record) -> None:
    old = out.get(rec.name)
    if rec.extra.get("mip_only") or rec.error == "engine not run":
        if old is None:
            rec.error = "engine not run"
            out[rec.name] = rec
        else:
            old.mip = rec.mip
        return
    if rec.mip is None and old is not None and old.mip is not None:
        rec.mip = old.mip
    out[rec.name] = rec


def engines(records: list[Record]) -> str:
    """The engine versions the records were measured with (``extra["engine"]``), most
    used first with their counts when there are several; this checkout's version when no
    record says."""
    counts = Counter(str(r.extra["engine"]) for r in records if r.extra.get("engine"))
    if not counts:
        return _engine_version()
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{e} ({n} instances)"
                     for e, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def source_meta(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``meta`` of the report a render-only run re-reads (``<out>.json``, else the
    last ``--merge-from`` file), or None."""
    for path in [args.out.with_suffix(".json"), *reversed(args.merge_from)]:
        if path.exists():
            meta = json.loads(path.read_text("utf-8")).get("meta")
            return dict(meta) if isinstance(meta, dict) else None
    return None


def write_reports(records: dict[str, Record], args: argparse.Namespace) -> None:
    """Write the .json and .md reports of every record so far. The header names every
    engine version among the records; a render-only run keeps the date, machine and
    settings of the report it re-reads (they describe the measurements, not this run)."""
    order = {x.name: r for r, x in enumerate(all_instances())}
    ordered = sorted(records.values(), key=lambda r: order.get(r.name, 10**9))
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, Python "
                       f"{platform.python_version()}",
            "note": f"engine time limit {args.time_limit:g} s per instance, seed {args.seed}, "
                    f"HiGHS cap {args.mip_cap:g} s"}
    if args.render_only:
        meta.update({k: v for k, v in (source_meta(args) or {}).items()
                     if k in ("date", "machine", "note")})
    meta["engine"] = engines(ordered)
    json_path = args.out.with_suffix(".json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"meta": meta, "records": [asdict(r) for r in ordered]},
                                    indent=1), encoding="utf-8")
    args.out.with_suffix(".md").write_text(render_md(ordered, meta), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subset", nargs="*", default=None,
                    help="group names (orlib capabc pmed holmberg) or name patterns")
    ap.add_argument("--time-limit", type=float, default=60.0, help="engine limit per instance")
    ap.add_argument("--prove-time-limit", type=float, default=300.0,
                    help="capa/b/c: rerun unproven instances with this limit (0: never)")
    ap.add_argument("--mip-cap", type=float, default=600.0, help="HiGHS peer cap (s)")
    ap.add_argument("--no-mip", action="store_true", help="skip the HiGHS peer")
    ap.add_argument("--mip-only", action="store_true",
                    help="run only the HiGHS peer (capa/b/c); keep earlier engine figures")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--merge", action="store_true",
                    help="keep earlier results of instances not run now")
    ap.add_argument("--merge-from", type=Path, nargs="*", default=[],
                    help="also take the records of these JSON reports (later files win)")
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing; rewrite the report from the records of <out>.json "
                    "and --merge-from")
    ap.add_argument("--out", type=Path, default=RESULTS / "siting_classic",
                    help="report path without suffix (.md and .json are written)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    chosen = [] if args.render_only else select(all_instances(), args.subset)
    if not chosen and not args.render_only:
        print("no instance matches --subset", file=sys.stderr)
        return 2
    if args.render_only:
        args.merge = True  # re-render what <out>.json (and --merge-from) hold
        if not collect({}, args):
            print(f"--render-only: no records in {args.out.with_suffix('.json')} or "
                  "--merge-from; nothing written", file=sys.stderr)
            return 2
    json_path = args.out.with_suffix(".json")
    fresh: dict[str, Record] = {}
    with tempfile.TemporaryDirectory(prefix="siting_classic_") as td:
        tmp = Path(td)
        for x in chosen:
            rec = Record(x.name, x.group, x.optimum, x.capacity, args.time_limit)
            rec.extra["run_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            rec.extra["load_avg_1min"] = round(os.getloadavg()[0], 2)
            if args.mip_only:
                rec.extra["mip_only"] = True
            else:
                rec.extra["engine"] = _engine_version()
                fill(rec, run_engine(x, args.time_limit, args.seed, tmp))
                if x.group == "capabc" and not rec.proven and args.prove_time_limit > 0:
                    res = run_engine(x, args.prove_time_limit, args.seed, tmp)
                    if "error" not in res:
                        res["proven"] = (res["cost"] - res["lower_bound"]) <= REL_TOL * res["cost"]
                        res["at_opt"] = abs(res["cost"] - x.optimum) <= REL_TOL * x.optimum
                    rec.prove_run = res
            if x.group == "capabc" and not args.no_mip:
                rec.mip = run_highs_peer(x, args.mip_cap)
            fresh[x.name] = rec
            print(f"{x.name:>12}: cost {_fmt(rec.cost)} opt {x.optimum:.3f} "
                  f"LB {_fmt(rec.lower_bound)} at_opt={rec.at_opt} proven={rec.proven} "
                  f"t={_fmt(rec.time_s, '.2f')}s {rec.error}"
                  + (f" | prove {rec.prove_run}" if rec.prove_run else "")
                  + (f" | HiGHS {rec.mip['time_s']:.1f}s cost {rec.mip.get('cost')}"
                     if rec.mip else ""), flush=True)
            write_reports(collect(fresh, args), args)  # after every instance
    write_reports(collect(fresh, args), args)
    print(f"wrote {args.out.with_suffix('.md')} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
