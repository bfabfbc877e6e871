"""``wastenet compare DIR_A DIR_B``: cost and KPI differences of two siting outputs."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
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
                 "transfer_capacity_t_per_day", "incinerator_capacity_t_per_day", "gap",
                 "lower_bound_yuan_per_year", "waste_t_per_day", "villages",
                 "schema_version")
#: top-level fields the comparison reads (and reports) that may be null: text fields
#: hold a string, ``data_seed`` a number, ``synthetic`` a boolean
TEXT_FIELDS = ("scenario", "sharing", "village_set_sha256")
#: the exit status when the reader of the output goes away (``compare ... | head``):
#: 128 + SIGPIPE, as a program killed by the signal reports it
BROKEN_PIPE_EXIT = 141


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
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return "a number"


def _need_number(where: str, field: str, v: object, *, null: bool = False) -> None:
    """Refuse ``v`` unless it is a finite number (or, with ``null``, None)."""
    if (null and v is None) or is_finite_number(v):
        return
    raise ValidationError(field, _shown(v), f"{where}: must be a finite number"
                          f"{' or null' if null else ''}, not {_json_type(v)}")


def _need_text(where: str, field: str, v: object) -> None:
    """Refuse ``v`` unless it is a string or None."""
    if v is None or isinstance(v, str):
        return
    raise ValidationError(field, _shown(v), f"{where}: must be a string or null, not "
                          f"{_json_type(v)}")


def check_summary(doc: object, d: str) -> dict[str, Any]:
    """``doc`` (the parsed summary.json of folder ``d``) as a dict, once every field the
    comparison reads is checked: an object, with a finite ``total_cost_yuan_per_year``;
    finite numbers in the other numeric fields it holds (:data:`NUMBER_FIELDS`), in
    ``cost_breakdown_yuan_per_year`` and in ``kpis`` (its every numeric value is compared);
    a string or null in :data:`TEXT_FIELDS`, a number or null in ``data_seed``, a boolean
    or null in ``synthetic``; an object for ``kpis``, and objects with finite
    ``t_per_day`` and ``cost_yuan_per_year``, a finite or null ``cost_per_tonne_yuan``
    and a string or null ``name`` in its county and prefecture tables. So the report,
    and its JSON, never carry NaN or Infinity. A :class:`ValidationError` names the
    file, the field and the value."""
    where = f"{Path(d) / 'summary.json'}"
    if not isinstance(doc, dict):
        raise ValidationError("dir", d, f"{where} holds {_json_type(doc)}, not a JSON object "
                              "(is this a 'wastenet site' output folder?)")
    if "total_cost_yuan_per_year" not in doc:
        raise ValidationError("dir", d, f"{where} has no total_cost_yuan_per_year field "
                              "(is this a 'wastenet site' output folder?)")
    for key in NUMBER_FIELDS:
        if key in doc:
            _need_number(where, key, doc[key])
    for key in TEXT_FIELDS:
        _need_text(where, key, doc.get(key))
    _need_number(where, "data_seed", doc.get("data_seed"), null=True)
    if doc.get("synthetic") is not None and not isinstance(doc["synthetic"], bool):
        raise ValidationError("synthetic", _shown(doc["synthetic"]), f"{where}: must be a "
                              f"boolean or null, not {_json_type(doc['synthetic'])}")
    for key in ("cost_breakdown_yuan_per_year", "kpis"):
        sub = doc.get(key)
        if sub is not None and not isinstance(sub, dict):
            raise ValidationError(key, _shown(sub),
                                  f"{where}: must be an object, not {_json_type(sub)}")
    for k, v in (doc.get("cost_breakdown_yuan_per_year") or {}).items():
        _need_number(where, f"cost_breakdown_yuan_per_year.{k}", v)
    kpis = doc.get("kpis") or {}
    for k, v in kpis.items():
        # every number here is compared (booleans are not numbers to the comparison)
        if isinstance(v, int | float) and not isinstance(v, bool):
            _need_number(where, f"kpis.{k}", v)
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
                if k in row:
                    _need_number(where, f"{field}.{k}", row[k])
            _need_number(where, f"{field}.cost_per_tonne_yuan", row.get("cost_per_tonne_yuan"),
                         null=True)
            _need_text(where, f"{field}.name", row.get("name"))
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
    for text in res["warnings"]:
        print(f"warning: {text}", file=sys.stderr)
    try:
        if args.json:
            # check_summary let no NaN or Infinity through: allow_nan=False only guards
            sys.stdout.write(json.dumps(res, ensure_ascii=False, indent=2, allow_nan=False)
                             + "\n")
        else:
            _report(res)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly, as command-line tools do, and
        # keep the interpreter's last flush of stdout from complaining as well
        _drop_stdout()
        return BROKEN_PIPE_EXIT
    return 0


def _drop_stdout() -> None:
    """Point stdout at the null device, so that nothing more is written to a closed pipe."""
    # OSError/ValueError: no file descriptor (an in-memory stdout), nothing to redirect
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def headline(res: dict[str, Any]) -> list[str]:
    """The first lines of the text report: what B saves (or costs more) than A, with the
    relative change and the interval the solvers' bounds certify."""
    sav = res["saving_yuan_per_year"]
    frac = res["saving_fraction"]
    pct = f" ({100 * abs(frac):.2f} %)" if frac is not None else ""
    gaps = ", ".join(f"{tag} {100 * float(res[k]['gap']):.2f} %" for tag, k in
                     (("A", "a"), ("B", "b")) if is_finite_number(res[k].get("gap")))
    gaps = f" (gaps {gaps})" if gaps else ""
    interval = res["saving_interval_yuan_per_year"]
    if sav > 0:
        lines = [f"B saves {sav:,.0f} yuan/yr over A{pct}"]
        if interval is not None:
            lines.append(f"  certified by the solvers' bounds: the saving lies in "
                         f"[{interval[0]:,.0f}, {interval[1]:,.0f}] yuan/yr{gaps}")
    elif sav < 0:
        lines = [f"B costs {-sav:,.0f} yuan/yr more than A{pct}"]
        if interval is not None:
            lines.append(f"  certified by the solvers' bounds: the extra cost lies in "
                         f"[{-interval[1]:,.0f}, {-interval[0]:,.0f}] yuan/yr{gaps}")
    else:
        lines = ["B costs the same as A"]
        if interval is not None:
            lines.append(f"  certified by the solvers' bounds: the saving lies in "
                         f"[{interval[0]:,.0f}, {interval[1]:,.0f}] yuan/yr{gaps}")
    return lines


def _report(res: dict[str, Any]) -> None:
    """The text report (the warnings go to stderr, see :func:`run`)."""
    a, b = res["a"], res["b"]
    print(f"A = {a['scenario']} (sharing {a['sharing']}),  B = {b['scenario']} "
          f"(sharing {b['sharing']})")
    for line in headline(res):
        print(line)
    print(f"{'metric':44} {'A':>18} {'B':>18} {'B-A':>16} {'rel':>8}")
    for k, r in res["metrics"].items():
        rel = f"{100 * r['relative']:+.2f}%" if r["relative"] is not None else ""
        print(f"{k:44} {r['a']:>18,.2f} {r['b']:>18,.2f} {r['diff']:>+16,.2f} {rel:>8}")
    _regions("prefecture", res["by_prefecture"], None)
    _regions("county", res["by_county"], COUNTIES_SHOWN)


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
