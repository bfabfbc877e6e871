"""``wastenet compare DIR_A DIR_B``: cost and KPI differences of two siting outputs."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

from wastenet.bounds import is_finite_number
from wastenet.errors import ValidationError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("compare", help="compare two siting output folders",
                       description="Report cost and KPI differences (B - A) of two "
                       "'wastenet site --out' folders, e.g. with and without sharing.")
    p.add_argument("dir_a")
    p.add_argument("dir_b")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


#: top-level numeric fields of summary.json that the comparison reads
NUMBER_FIELDS = ("total_cost_yuan_per_year", "transfer_stations_opened", "incinerators_opened",
                 "transfer_capacity_t_per_day", "incinerator_capacity_t_per_day", "gap")


def _shown(v: object) -> object:
    """A value short enough to quote in an error message."""
    if isinstance(v, dict):
        return f"<JSON object of {len(v)} key(s)>"
    if isinstance(v, list):
        return f"<JSON array of {len(v)} item(s)>"
    return v


def _json_type(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return "a number"


def check_summary(doc: object, d: str) -> dict[str, Any]:
    """``doc`` (the parsed summary.json of folder ``d``) as a dict, once every field the
    comparison reads is checked: an object, with a finite ``total_cost_yuan_per_year``,
    finite numbers in the other numeric fields it holds and in
    ``cost_breakdown_yuan_per_year``, an object for ``kpis``, and objects with finite
    ``t_per_day`` and ``cost_yuan_per_year`` in its county and prefecture tables. A
    :class:`ValidationError` names the folder, the field and the value."""
    where = f"{Path(d) / 'summary.json'}"
    if not isinstance(doc, dict):
        raise ValidationError("dir", d, f"{where} holds {_json_type(doc)}, not a JSON object "
                              "(is this a 'wastenet site' output folder?)")
    if "total_cost_yuan_per_year" not in doc:
        raise ValidationError("dir", d, f"{where} has no total_cost_yuan_per_year field "
                              "(is this a 'wastenet site' output folder?)")
    for key in NUMBER_FIELDS:
        if key in doc and not is_finite_number(doc[key]):
            raise ValidationError(key, _shown(doc[key]), f"{where}: must be a finite number, "
                                  f"not {_json_type(doc[key])}")
    for key in ("cost_breakdown_yuan_per_year", "kpis"):
        sub = doc.get(key)
        if sub is not None and not isinstance(sub, dict):
            raise ValidationError(key, _shown(sub),
                                  f"{where}: must be an object, not {_json_type(sub)}")
    for k, v in (doc.get("cost_breakdown_yuan_per_year") or {}).items():
        if not is_finite_number(v):
            raise ValidationError(f"cost_breakdown_yuan_per_year.{k}", _shown(v),
                                  f"{where}: must be a finite number, not {_json_type(v)}")
    kpis = doc.get("kpis") or {}
    for table in ("cost_by_county", "cost_by_prefecture"):
        rows = kpis.get(table)
        if rows is None:
            continue
        if not isinstance(rows, dict):
            raise ValidationError(f"kpis.{table}", _shown(rows),
                                  f"{where}: must be an object, not {_json_type(rows)}")
        for code, row in rows.items():
            field = f"kpis.{table}.{code}"
            if not isinstance(row, dict):
                raise ValidationError(field, _shown(row),
                                      f"{where}: must be an object, not {_json_type(row)}")
            for k in ("t_per_day", "cost_yuan_per_year"):
                if k in row and not is_finite_number(row[k]):
                    raise ValidationError(f"{field}.{k}", _shown(row[k]),
                                          f"{where}: must be a finite number, not "
                                          f"{_json_type(row[k])}")
    return doc


def _summary(d: str) -> dict[str, Any]:
    p = Path(d) / "summary.json"
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ValidationError("dir", d, f"no readable summary.json ({exc.strerror})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("dir", d, "summary.json is not UTF-8 text (bad byte at offset "
                              f"{exc.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("dir", d, f"summary.json is not JSON ({exc.msg}, line "
                              f"{exc.lineno})") from exc
    except RecursionError:
        raise ValidationError("dir", d, "summary.json is nested too deeply") from None
    return check_summary(doc, d)


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
    if not res["same_village_count"]:
        print(f"warning: A has {a['villages']} villages and B {b['villages']}: the two "
              "runs plan different areas, so the saving compares different problems")
    if not res["same_schema_version"]:
        print("warning: the two summaries have different schema versions (written by "
              "different Wastenet versions): their county and prefecture costs are not "
              "defined alike (the uncovered-village penalty moved out of them in version 2)")
    print(f"{'metric':44} {'A':>18} {'B':>18} {'B-A':>16} {'rel':>8}")
    for k, r in res["metrics"].items():
        rel = f"{100 * r['relative']:+.2f}%" if r["relative"] is not None else ""
        print(f"{k:44} {r['a']:>18,.2f} {r['b']:>18,.2f} {r['diff']:>+16,.2f} {rel:>8}")
    _regions("prefecture", res["by_prefecture"], None)
    _regions("county", res["by_county"], COUNTIES_SHOWN)
    return 0


#: counties listed in the text output (largest changes first; --json gives them all)
COUNTIES_SHOWN = 15


def _cell(text: str, width: int) -> str:
    """``text`` cut and padded to ``width`` terminal columns: East Asian wide and
    full-width characters (the Chinese county names) take two columns each."""
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def _regions(kind: str, table: dict[str, dict[str, Any]], limit: int | None) -> None:
    """Print the allocated cost of each region in A and B, largest change first."""
    if not table:
        return
    rows = sorted(table.items(), key=lambda kv: (-abs(kv[1]["diff"]), kv[0]))
    more = ""
    if limit is not None and len(rows) > limit:
        more = f" ({limit} of {len(rows)} with the largest changes; --json for all)"
        rows = rows[:limit]
    print(f"\ncost allocated by {kind}, yuan/yr{more}")
    print(f"{kind:24} {'A':>18} {'B':>18} {'B-A':>16}")
    for code, r in rows:
        label = f"{code} {r['name'] or ''}".strip()
        print(f"{_cell(label, 24)} {r['a']:>18,.0f} {r['b']:>18,.0f} {r['diff']:>+16,.0f}")
