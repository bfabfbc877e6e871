"""``wastenet solve FILE --format F --time-limit S --out OUT``: solve one benchmark file.

Facility formats (``orlib-cap``, ``pmed``, ``holmberg``) go to
:func:`wastenet.formats.facility.solve_benchmark_file`; routing formats (``wcvrptw``,
``vrplib``) go to :func:`wastenet.formats.routing_bench.solve_routing_file`. Both write
``OUT`` as JSON; the command prints a one-line summary. ``OUT`` must name a file: an
existing folder or a path ending in ``/`` is refused, and so is, for vrplib, a name
ending in ``.sol`` (the VRPLIB ``.sol`` is written beside ``OUT`` with its stem).
"""

from __future__ import annotations

import argparse
import math
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


def routing_summary(doc: dict[str, Any], out: str) -> str:
    """One line on a routing benchmark solution: vehicles, travel time, the CVRP cost
    where the format has one, unserved stops, the checker's verdict and the time."""
    parts = [f"{doc['vehicles']} vehicles", f"travel {doc['travel_time_s'] / 3600:.2f} h"]
    if "cost" in doc:
        parts.append(f"cost {doc['cost']:g}")
    if doc["unserved"]:
        parts.append(f"{len(doc['unserved'])} stops unserved")
    n_bad = len(doc["checker"]["violations"])
    parts.append("checker ok" if doc["checker"]["ok"] else f"checker FAILED ({n_bad})")
    return f"{doc['instance']}: {', '.join(parts)}, {doc['elapsed_s']:.2f} s -> {out}"


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
    p.add_argument("--out", required=True, metavar="OUT",
                   help="output JSON file (vrplib: the .sol is written beside it)")
    p.add_argument("--seed", type=seed(), default=0,
                   help="random seed in [0, 2**31 - 1] (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch on ``args.fmt``; return the exit code. ``--out`` is checked before the
    solve; the solvers turn an OSError while writing it into a :class:`ValidationError`
    naming it."""
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
        from wastenet.formats.routing_bench import solve_routing_file

        doc = solve_routing_file(args.file, fmt, time_limit_s=args.time_limit, out=args.out,
                                 seed=args.seed)
        print(routing_summary(doc, args.out))
        return 0
    raise ValidationError("format", fmt, "unknown format")  # argparse already prevents this
