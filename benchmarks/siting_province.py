"""Benchmark: the province siting runs, with and without sharing between counties.

Solves ``scenarios/liaoning-2025.toml`` (adjacent-county sharing) and
``scenarios/liaoning-2025-no-sharing.toml`` with the engine's scalable path, each in a
fresh process so that its peak RSS is its own, and records cost, lower bound, gap,
counts, opened capacities, wall time and peak RSS, the independent checker's verdict,
and the saving from sharing.

Targets (issue 3): each run <= 10 min on 2 cores, gap <= 1 %, peak RSS <= 4 GiB.

    .venv/bin/python benchmarks/siting_province.py [--time-limit 600] [--seed 0] [--threads 2]
        [--repeat 3] [--only SCENARIO]

``--only SCENARIO`` re-measures one scenario after an engine change that touches only it;
the other scenario's runs, peer and engine commit are read back from the per-scenario JSON
files of an earlier invocation with the same settings, and the report names both engines.

``--repeat N`` runs each scenario N times with the same seed. Under a wall-clock limit the
search does not repeat exactly (how many sub-MIPs finish in time varies), and one run's gap
can differ from the next by a percentage point; the report then shows the run with the
median gap in its main table, every run in a table of its own, and says a target is met
only when every run meets it.

**The peer** (``--no-peer`` skips it): the same compiled model as one plain MIP, solved by
HiGHS through the engine's OR-Tools adapter (``wastenet.siting.mip.solve_mip``: the
documented formulation with strong linking, no start, no decomposition), with the same time
limit, once per scenario, in a fresh process of its own. OR-Tools runs HiGHS on one thread.
A solution it finds goes through the independent checker like the engine's. The report
gives the ratios engine/peer of cost and lower bound measured in the same invocation.

``--threads`` is the number of sub-MIPs the scalable path solves at a time (default 2: the
target is "on 2 cores"); BLAS is held to one thread (``OPENBLAS_NUM_THREADS=1``), because
its spinning second thread only takes a core from the solver.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("liaoning-2025", "liaoning-2025-no-sharing")

CHILD = r"""
import json, resource, sys, time
from wastenet.scenario.schema import load_scenario
from wastenet.scenario.network import build_network
from wastenet.siting.build import build_siting_data
from wastenet.siting.solve import SiteParams, solve
from wastenet.siting.checker import check
from wastenet.pipeline import facility_rows, summarise
from wastenet.siting.anatomy import gap_anatomy
from wastenet.siting.model import compile_model
path, limit, seed, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
threads = int(sys.argv[5])
t0 = time.perf_counter()
net = build_network(load_scenario(path))
data = build_siting_data(net)
t_build = time.perf_counter() - t0
res = solve(data, SiteParams(time_limit_s=limit, seed=seed, threads=threads))
wall = time.perf_counter() - t0
rep = check(data, res)
summary = summarise(net, data, res, facility_rows(data, res))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
summary.update({"wall_s": wall, "build_s": t_build, "peak_rss_mib": rss,
                "checker_ok": rep.ok, "checker_violations": rep.violations[:10],
                "checker_total_cost": rep.total_cost, "solver_log": list(res.log)})
parts = res.meta.get("bound_parts")
if parts is not None:
    summary["gap_anatomy"] = gap_anatomy(compile_model(data), res,
                                         transfer_bound=parts["transfer"],
                                         plant_bound=parts["plants"]).as_dict()
open(out, "w").write(json.dumps(summary, ensure_ascii=False, indent=2))
"""


PEER = r"""
import json, math, resource, sys, time
from wastenet.scenario.schema import load_scenario
from wastenet.scenario.network import build_network
from wastenet.siting.build import build_siting_data
from wastenet.siting.checker import check
from wastenet.siting.mip import MipOptions, solve_mip
from wastenet.siting.model import compile_model
from wastenet.siting.solve import to_result
path, limit, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
data = build_siting_data(build_network(load_scenario(path)))
model = compile_model(data)
t_build = time.perf_counter() - t0
sol = solve_mip(model, MipOptions(backend="HIGHS", time_limit_s=limit))
rec = {"backend": "HiGHS (OR-Tools, 1 thread)", "status": sol.status,
       "objective": sol.objective if math.isfinite(sol.objective) else None,
       "bound": sol.bound if math.isfinite(sol.bound) else None,
       "nodes": sol.nodes, "solve_s": sol.wall_s, "build_s": t_build,
       "checker_ok": None}
if sol.status in ("optimal", "feasible"):
    res = to_result(data, model, sol, lower_bound=sol.bound, status=sol.status,
                    solver="peer-highs", seed=0, elapsed_s=sol.wall_s)
    rep = check(data, res)
    rec.update(checker_ok=rep.ok, checker_total_cost=rep.total_cost,
               checker_violations=rep.violations[:10])
rec["wall_s"] = time.perf_counter() - t0
rec["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
open(out, "w").write(json.dumps(rec, indent=2))
"""


def run_peer(name: str, limit: float, out: Path) -> dict:
    """The plain-MIP peer on one scenario, in a fresh process (module docstring). A peer
    process that dies (out of memory, a solver crash) is recorded as such, with its exit
    code and wall time, instead of ending the benchmark."""
    t0 = time.time()
    if out.is_file():
        out.unlink()
    proc = subprocess.run([sys.executable, "-c", PEER,
                           str(ROOT / "scenarios" / f"{name}.toml"), str(limit), str(out)],
                          cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if proc.returncode != 0 or not out.is_file():
        rec: dict = {"backend": "HiGHS (OR-Tools, 1 thread)",
                     "status": f"crashed (exit code {proc.returncode})", "objective": None,
                     "bound": None, "checker_ok": None, "wall_s": time.time() - t0,
                     "peak_rss_mib": None}
        out.write_text(json.dumps(rec, indent=2), encoding="utf-8")
        return rec
    rec = json.loads(out.read_text(encoding="utf-8"))
    return rec


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is not positive."""
    if a is None or b is None or not b > 0:
        return None
    return a / b


def peer_lines(results: dict[str, dict], peers: dict[str, dict]) -> list[str]:
    """The report's peer table: the engine's median run beside the peer, with ratios."""

    def money(v: float | None) -> str:
        return "none" if v is None else f"{v:,.0f}"

    lines = ["**Peer, measured in the same invocation**: the same model as one plain MIP, "
             "HiGHS through the engine's OR-Tools adapter, no start, the same time limit, "
             "one thread (the engine: its median run).", "",
             "| scenario | engine cost | engine bound | peer status | peer cost | peer bound "
             "| peer wall (s) | peer peak RSS (MiB) | cost engine/peer | bound engine/peer |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in SCENARIOS:
        e, p = results[name], peers.get(name)
        if p is None:
            continue
        c_r = ratio(e["total_cost_yuan_per_year"], p.get("objective"))
        b_r = ratio(e["lower_bound_yuan_per_year"], p.get("bound"))
        lines.append(
            f"| {name} | {money(e['total_cost_yuan_per_year'])} | "
            f"{money(e['lower_bound_yuan_per_year'])} | {p['status']}"
            + ("" if p.get("checker_ok") is None else f" (checker ok: {p['checker_ok']})")
            + f" | {money(p.get('objective'))} | {money(p.get('bound'))} | "
            f"{p['wall_s']:.0f} | "
            f"{'-' if p.get('peak_rss_mib') is None else format(p['peak_rss_mib'], ',.0f')} | "
            f"{'-' if c_r is None else f'{c_r:.4f}'} | {'-' if b_r is None else f'{b_r:.4f}'} |")
    lines += ["", "A ratio is `-` where the peer has no solution or no finite bound.", ""]
    return lines


def headline(r: dict) -> dict:
    """The figures of one run that the table of runs shows."""
    return {k: r.get(k) for k in ("run", "total_cost_yuan_per_year",
                                  "lower_bound_yuan_per_year", "gap", "wall_s",
                                  "peak_rss_mib", "checker_ok")}


def median_run(done: list[dict]) -> dict:
    """The run with the median gap (the lower of the two middle ones for an even count)."""
    ranked = sorted(done, key=lambda r: (r["gap"], r.get("run", 0)))
    return ranked[(len(ranked) - 1) // 2]


def meets(r: dict) -> bool:
    """Issue 3's targets for one run: gap <= 1 %, <= 10 min (5 % slack for the process),
    peak RSS <= 4 GiB, and the checker's approval."""
    return bool(r["gap"] <= 0.01 and r["wall_s"] <= 600 * 1.05 and r["peak_rss_mib"] <= 4096
                and r["checker_ok"])


SETTINGS = ("time_limit_s", "seed", "threads")


def recorded_settings(args: argparse.Namespace) -> None:
    """For ``--report-only``: the time limit, seed and threads of the recorded runs (the
    per-scenario JSON's ``settings``, else the report JSON's), which the report's header
    must describe whatever this invocation's flags say; a flag that differs is noted."""
    found: dict[str, object] = {}
    first = Path(args.out + f".{SCENARIOS[0]}.json")
    summary = Path(args.out + ".json")
    for path, key in ((first, "settings"), (summary, None)):
        if path.is_file():
            doc = json.loads(path.read_text(encoding="utf-8"))
            src = doc.get(key) if key else doc
            if isinstance(src, dict):
                found = {k: src[k] for k in SETTINGS if k in src}
            if found:
                break
    for key, attr in zip(SETTINGS, ("time_limit", "seed", "threads"), strict=True):
        if key in found:
            if found[key] != getattr(args, attr):
                print(f"--report-only: the recorded runs used {key}={found[key]}, not "
                      f"{getattr(args, attr)}; the report says {found[key]}", file=sys.stderr)
            setattr(args, attr, found[key])


def settings_mismatch(name: str, result: dict, args: argparse.Namespace) -> str | None:
    """For ``--only``: why the recorded runs of ``name`` cannot share a report with this
    invocation's (another time limit, seed or number of threads), or ``None``."""
    had = {k: result.get("settings", {}).get(k) for k in SETTINGS}
    now = dict(zip(SETTINGS, (args.time_limit, args.seed, args.threads), strict=True))
    if had == now:
        return None
    return f"the earlier runs of {name} used {had}, not {now}"


def engines_phrase(engines: dict[str, str]) -> str:
    """The report header's engine: one commit, or each scenario's when they differ."""
    if len(set(engines.values())) == 1:
        return f"engine {next(iter(engines.values()))}"
    return "engines " + ", ".join(f"{engines[n]} (`{n}`)" for n in SCENARIOS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "siting_province"))
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per scenario (same seed); the report shows the median run")
    ap.add_argument("--no-peer", action="store_true", help="skip the plain-MIP peer")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report from the per-scenario JSON files of an earlier run")
    ap.add_argument("--only", choices=SCENARIOS,
                    help="run this scenario only; the other comes from the per-scenario JSON "
                         "files of an earlier run (with the same settings), and the report "
                         "names each scenario's engine")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or "unknown"
    if args.repeat < 1:
        ap.error(f"--repeat must be >= 1, got {args.repeat}")
    results: dict[str, dict] = {}
    runs: dict[str, list[dict]] = {}
    peers: dict[str, dict] = {}
    if args.report_only and args.only:
        ap.error("--only runs a scenario; --report-only runs none")
    if args.report_only:
        recorded_settings(args)
    engines: dict[str, str] = {}
    for name in SCENARIOS:
        tmp = Path(args.out + f".{name}.json")
        every = Path(args.out + f".{name}.runs.json")
        peer_file = Path(args.out + f".{name}.peer.json")
        if args.report_only or (args.only and name != args.only):
            if not tmp.is_file():
                ap.error(f"no earlier run of {name}: {tmp} is missing")
            results[name] = json.loads(tmp.read_text(encoding="utf-8"))
            wrong = None if args.report_only else settings_mismatch(name, results[name], args)
            if wrong:
                ap.error(wrong)
            runs[name] = (json.loads(every.read_text(encoding="utf-8")) if every.is_file()
                          else [headline(results[name])])
            if peer_file.is_file():
                peers[name] = json.loads(peer_file.read_text(encoding="utf-8"))
            engines[name] = results[name].get("engine_commit", commit)
            continue
        engines[name] = commit
        if not args.no_peer:
            t0 = time.time()
            peers[name] = run_peer(name, args.time_limit, peer_file)
            print(f"{name}: peer done in {time.time() - t0:.0f} s, {peers[name]['status']}",
                  file=sys.stderr)
        elif peer_file.is_file():
            peer_file.unlink()  # an earlier invocation's peer is not this one's
        done = []
        for r in range(args.repeat):
            t0 = time.time()
            subprocess.run([sys.executable, "-c", CHILD,
                            str(ROOT / "scenarios" / f"{name}.toml"), str(args.time_limit),
                            str(args.seed), str(tmp), str(args.threads)],
                           check=True, cwd=ROOT, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
            one = json.loads(tmp.read_text(encoding="utf-8"))
            one["process_wall_s"] = time.time() - t0
            one["engine_commit"] = commit
            one["run"] = r + 1
            one["settings"] = {"time_limit_s": args.time_limit, "seed": args.seed,
                               "threads": args.threads}
            done.append(one)
            print(f"{name}: run {r + 1} of {args.repeat} done in {time.time() - t0:.0f} s, "
                  f"gap {one['gap']:.2%}", file=sys.stderr)
        results[name] = median_run(done)
        runs[name] = [headline(one) for one in done]
        tmp.write_text(json.dumps(results[name], ensure_ascii=False, indent=2),
                       encoding="utf-8")
        every.write_text(json.dumps(runs[name], ensure_ascii=False, indent=2),
                         encoding="utf-8")
    share, alone = results[SCENARIOS[0]], results[SCENARIOS[1]]
    engine_text = engines_phrase(engines)
    saving = alone["total_cost_yuan_per_year"] - share["total_cost_yuan_per_year"]
    # A saving certified by the bounds: no-sharing LB minus sharing UB (may be negative).
    certified = alone["lower_bound_yuan_per_year"] - share["total_cost_yuan_per_year"]
    lines = [
        "# Province siting: Liaoning 2025, with and without sharing",
        "",
        f"Time limit {args.time_limit:.0f} s per run, seed {args.seed}, {args.threads} "
        f"threads (sub-MIPs at a time; BLAS 1 thread), {engine_text}, each "
        "run in a fresh process on the shared 2-core machine (times are noisy). Villages are "
        "synthetic (seeded); the scenarios are greenfield."
        + (f" Each scenario ran {len(runs[SCENARIOS[0]])} times with the same seed; the "
           "table shows the run with the median gap, and every run is listed below."
           if len(runs[SCENARIOS[0]]) > 1 else ""),
        "",
        "| measure | adjacent sharing | no sharing | target |",
        "|---|---|---|---|",
    ]

    def row(label: str, key: str, fmt: str, target: str = "") -> None:
        a, b = share.get(key), alone.get(key)
        fa = format(a, fmt) if isinstance(a, int | float) else str(a)
        fb = format(b, fmt) if isinstance(b, int | float) else str(b)
        lines.append(f"| {label} | {fa} | {fb} | {target} |")

    row("total cost (yuan/yr)", "total_cost_yuan_per_year", ",.0f")
    row("lower bound (yuan/yr)", "lower_bound_yuan_per_year", ",.0f")
    row("gap", "gap", ".4%", "<= 1 %")
    row("new transfer stations", "transfer_stations_opened", "d", "1,880")
    row("new incinerators", "incinerators_opened", "d", "126")
    row("transfer capacity opened (t/d)", "transfer_capacity_t_per_day", ",.1f")
    row("incinerator capacity opened (t/d)", "incinerator_capacity_t_per_day", ",.1f")
    row("wall time incl. build (s)", "wall_s", ".0f", "<= 600")
    row("peak RSS (MiB)", "peak_rss_mib", ",.0f", "<= 4096")
    row("checker ok", "checker_ok", "")
    row("solver path", "solver", "")
    for k in ("mean_collection_distance_m", "max_collection_distance_m", "tonne_km_per_day",
              "cost_per_tonne_yuan"):
        a, b = share["kpis"].get(k), alone["kpis"].get(k)
        lines.append(f"| {k} | {a:,.1f} | {b:,.1f} | |")
    for k in share.get("cost_breakdown_yuan_per_year", {}):
        a = share["cost_breakdown_yuan_per_year"][k]
        b = alone.get("cost_breakdown_yuan_per_year", {}).get(k, float("nan"))
        lines.append(f"| cost: {k} (yuan/yr) | {a:,.0f} | {b:,.0f} | |")
    lines += [
        "",
        f"**Saving from sharing** (no-sharing cost minus sharing cost): {saving:,.0f} yuan/yr "
        f"({100 * saving / alone['total_cost_yuan_per_year']:.2f} %). Certified by the bounds "
        f"(no-sharing lower bound minus sharing cost): {certified:,.0f} yuan/yr.",
        "",
    ]
    anat = [results[name].get("gap_anatomy") for name in SCENARIOS]
    if all(anat):
        lines += [
            "**Where the gap lives** (`wastenet.siting.anatomy`; yuan/yr, and as a share of "
            "the cost): the first two rows are gap that no plant-side bound can close.",
            "",
            "| part | adjacent sharing | no sharing |",
            "|---|---|---|",
        ]
        for key, label in (("station_fixed", "station fixed cost above the station bound"),
                           ("station_paths", "paths through the open stations, above the "
                                             "cheapest paths"),
                           ("plants", "plant part above its bound")):
            cells = [f"{a[key]:,.0f} ({a[key] / a['upper']:.2%})" for a in anat if a]
            lines.append(f"| {label} | {' | '.join(cells)} |")
        lines.append("")
    if peers:
        lines += peer_lines(results, peers)
    if any(len(v) > 1 for v in runs.values()):
        lines += ["**Every run** (same seed; the spread comes from the wall-clock limit):", "",
                  "| scenario | run | cost (yuan/yr) | lower bound | gap | wall (s) | "
                  "peak RSS (MiB) | checker |", "|---|---|---|---|---|---|---|---|"]
        for name in SCENARIOS:
            for h in runs[name]:
                lines.append(f"| {name} | {h['run']} | {h['total_cost_yuan_per_year']:,.0f} | "
                             f"{h['lower_bound_yuan_per_year']:,.0f} | {h['gap']:.2%} | "
                             f"{h['wall_s']:.0f} | {h['peak_rss_mib']:,.0f} | "
                             f"{h['checker_ok']} |")
        best_ub = min(h["total_cost_yuan_per_year"] for h in runs[SCENARIOS[0]])
        best_lb = max(h["lower_bound_yuan_per_year"] for h in runs[SCENARIOS[1]])
        gaps = {name: sorted(h["gap"] for h in runs[name]) for name in SCENARIOS}
        lines += ["", "Gap over the runs, min / median / max: " + "; ".join(
            f"`{name}` {g[0]:.2%} / {g[(len(g) - 1) // 2]:.2%} / {g[-1]:.2%}"
            for name, g in gaps.items()) + ". Every run's bound is valid and every run's "
            "solution is feasible, so across the runs sharing saves at least "
            f"{best_lb - best_ub:,.0f} yuan/yr (the best no-sharing bound minus the best "
            "sharing cost).", ""]
    for name in SCENARIOS:
        log_lines = results[name].get("solver_log")
        if log_lines:
            lines += [f"Solver steps, `{name}` (the median run):" if len(runs[name]) > 1
                      else f"Solver steps, `{name}`:", "", "```", *log_lines, "```", ""]
    met = all(meets(h) for v in runs.values() for h in v)
    lines.append(f"All targets met: **{'yes' if met else 'no'}**.")
    lines.append("")
    Path(args.out + ".md").write_text("\n".join(lines), encoding="utf-8")
    Path(args.out + ".json").write_text(json.dumps({"time_limit_s": args.time_limit,
                                                    "seed": args.seed,
                                                    "threads": args.threads, "results": results,
                                                    "runs": runs, "peers": peers,
                                                    "saving_yuan_per_year": saving,
                                                    "certified_saving_yuan_per_year": certified,
                                                    "met": met}, ensure_ascii=False, indent=2),
                                        encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
