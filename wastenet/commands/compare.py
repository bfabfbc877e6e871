"""``wastenet compare DIR_A DIR_B``: cost and KPI differences of two siting outputs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wastenet.errors import ValidationError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("compare", help="compare two siting output folders",
                       description="Report cost and KPI differences (B - A) of two "
                       "'wastenet site --out' folders, e.g. with and without sharing.")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _summary(d: str) -> dict[str, Any]:
    p = Path(d) / "summary.json"
    try:
        return dict(json.loads(p.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ValidationError("dir", d, f"no readable summary.json ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ValidationError("dir", d, f"summary.json is not JSON ({exc.msg})") from exc


def run(args: argparse.Namespace) -> int:
    from wastenet.pipeline import compare

    res = compare(_summary(args.dir_a), _summary(args.dir_b))
    if args.json:
        json.dump(res, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    a, b = res["a"], res["b"]
    print(f"A = {a['scenario']} (sharing {a['sharing']}),  B = {b['scenario']} "
          f"(sharing {b['sharing']})")
    sav = res["saving_yuan_per_year"]
    frac = res["saving_fraction"]
    print(f"B saves {sav:,.0f} yuan/yr over A ({100 * frac:.2f} %)" if frac is not None
          else f"B saves {sav:,.0f} yuan/yr over A")
    print(f"{'metric':44} {'A':>18} {'B':>18} {'B-A':>16} {'rel':>8}")
    for k, r in res["metrics"].items():
        rel = f"{100 * r['relative']:+.2f}%" if r["relative"] is not None else ""
        print(f"{k:44} {r['a']:>18,.2f} {r['b']:>18,.2f} {r['diff']:>+16,.2f} {rel:>8}")
    return 0
