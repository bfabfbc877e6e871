"""``wastenet solve FILE --format F --time-limit S --out OUT``: solve one benchmark file.

Facility formats (``orlib-cap``, ``pmed``, ``holmberg``) go to
:func:`wastenet.formats.facility.solve_benchmark_file`; routing formats (``wcvrptw``,
``vrplib``) go to :func:`wastenet.formats.routing_bench.solve_routing_file`. Both write
``OUT`` as JSON; the command prints a one-line summary.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from pathlib import Path
from typing import Any

from wastenet.commands.args import output_file, seed, time_limit
from wastenet.errors import ValidationError

FACILITY_FORMATS = ("orlib-cap", "pmed", "holmberg")
ROUTING_FORMATS = ("wcvrptw", "vrplib")


def _positive_float(text: str) -> float:
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(val) and val > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return val


def _names_output(exc: OSError, out: str) -> bool:
    """Did ``exc`` happen on the output ``out`` (or a file written beside it)?"""
    names = [x for x in (exc.filename, exc.filename2) if x is not None]
    target = Path(out).resolve()
    for name in names:
        p = Path(str(name)).resolve()
        if p == target or (p.parent == target.parent and p.stem == target.stem):
            return True
        if p in target.parents:
            return True
    return False


def register(subparsers: Any) -> None:
    """Add the ``solve`` subcommand to the CLI parser."""
    p = subparsers.add_parser(
        "solve",
        help="solve a classic benchmark file (facility location or routing)",
        description="Solve one benchmark instance and write the solution as JSON.",
    )
    p.add_argument("file", metavar="FILE", help="benchmark instance file")
    p.add_argument("--format", dest="fmt", required=True,
                   choices=FACILITY_FORMATS + ROUTING_FORMATS, help="instance format")
    p.add_argument("--capacity", type=_positive_float, default=None,
                   help="orlib-cap only: capacity of every site (required for capa/capb/capc)")
    p.add_argument("--time-limit", dest="time_limit", type=time_limit(), required=True,
                   metavar="S", help="time limit in seconds, at most 86400")
    p.add_argument("--out", required=True, metavar="OUT", help="output JSON file")
    p.add_argument("--seed", type=seed(), default=0,
                   help="random seed in [0, 2**31 - 1] (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch on ``args.fmt``; return the exit code. ``--out`` is checked before the
    solve; an OSError while writing it becomes a :class:`ValidationError` naming it."""
    fmt: str = args.fmt
    output_file(args.out)
    if fmt in FACILITY_FORMATS:
        from wastenet.formats.facility import solve_benchmark_file

        doc = solve_benchmark_file(args.file, fmt, time_limit_s=args.time_limit, out=args.out,
                                   capacity=args.capacity, seed=args.seed)
        print(f"{doc['instance']}: cost {doc['cost']:.6f}, lower bound "
              f"{doc['lower_bound']:.6f}, gap {100 * doc['gap']:.4f}%, "
              f"{len(doc['open'])} open, {doc['elapsed_s']:.2f} s -> {args.out}")
        return 0
    if fmt in ROUTING_FORMATS:
        if args.capacity is not None:
            raise ValidationError("capacity", args.capacity,
                                  f"--capacity applies to orlib-cap only, not to {fmt}")
        try:
            module = importlib.import_module("wastenet.formats.routing_bench")
        except ModuleNotFoundError as exc:
            if exc.name != "wastenet.formats.routing_bench":
                raise
            module = None
        solve_routing_file = getattr(module, "solve_routing_file", None)
        if solve_routing_file is None:
            print(f"wastenet: error: format {fmt} not available in this installation "
                  "(wastenet.formats.routing_bench.solve_routing_file is missing)",
                  file=sys.stderr)
            return 2
        try:
            result = solve_routing_file(args.file, fmt, time_limit_s=args.time_limit,
                                        out=args.out, seed=args.seed)
        except OSError as exc:
            if not _names_output(exc, args.out):
                raise
            raise ValidationError("out", args.out,
                                  f"cannot write ({exc.strerror or exc})") from exc
        if isinstance(result, dict):
            shown = {k: result[k] for k in ("vehicles", "travel_time_s", "cost") if k in result}
            print(f"{args.file}: {shown} -> {args.out}")
        else:
            print(f"{args.file}: solved -> {args.out}")
        return 0
    raise ValidationError("format", fmt, "unknown format")  # argparse already prevents this
