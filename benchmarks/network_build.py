"""Benchmark: build the full province network (villages, candidates, sparse neighbour
lists and the siting data) and record wall time and peak RSS.

Target (issue 2): under 10 s with a peak RSS under 1 GiB. Each repetition runs in a
fresh process so that the caches of one run do not help the next; the report quotes the
median of the repetitions.

    .venv/bin/python benchmarks/network_build.py [--repeat 3] [--scenario PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from wastenet.scenario.schema import load_scenario
from wastenet.scenario.network import build_network
from wastenet.siting.build import build_siting_data
t_import = time.perf_counter() - t0
t1 = time.perf_counter()
net = build_network(load_scenario(sys.argv[1]))
t_net = time.perf_counter() - t1
data = build_siting_data(net)
t_total = time.perf_counter() - t1
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"import_s": t_import, "network_s": t_net, "build_s": t_total,
                  "peak_rss_mib": rss, "villages": len(net.villages),
                  "transfer_candidates": len(net.transfer),
                  "incinerator_candidates": len(net.incinerator),
                  "collect_arcs": len(data.collect), "direct_arcs": len(data.direct),
                  "haul_arcs": len(data.haul)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "liaoning-2025.toml"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "network_build"))
    args = ap.parse_args()
    runs = []
    for _ in range(args.repeat):
        res = subprocess.run([sys.executable, "-c", CHILD, args.scenario], check=True,
                             capture_output=True, text=True, cwd=ROOT)
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r[k] for r in runs) for k in ("build_s", "network_s",
                                                              "peak_rss_mib", "import_s")}
    ok = med["build_s"] < 10.0 and med["peak_rss_mib"] < 1024.0
    report = {"scenario": args.scenario, "runs": runs, "median": med,
              "target": "build < 10 s and peak RSS < 1 GiB", "met": ok}
    Path(args.out + ".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    r0 = runs[0]
    md = [
        "# Province network build",
        "",
        f"Scenario `{Path(args.scenario).name}`: {r0['villages']:,} villages, "
        f"{r0['transfer_candidates']:,} transfer and {r0['incinerator_candidates']:,} "
        f"incinerator candidates; {r0['collect_arcs']:,} collect, {r0['direct_arcs']:,} direct "
        f"and {r0['haul_arcs']:,} haul arcs (sparse, no dense matrix).",
        "",
        f"Median of {len(runs)} fresh processes (shared 2-core machine; times are noisy):",
        "",
        "| measure | median | target |",
        "|---|---|---|",
        f"| build network + siting data (s) | {med['build_s']:.2f} | < 10 |",
        f"| of which network (s) | {med['network_s']:.2f} | |",
        f"| peak RSS (MiB), imports included | {med['peak_rss_mib']:.0f} | < 1024 |",
        f"| imports (s), not counted above | {med['import_s']:.2f} | |",
        "",
        f"Target met: **{'yes' if ok else 'no'}**.",
        "",
    ]
    Path(args.out + ".md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
