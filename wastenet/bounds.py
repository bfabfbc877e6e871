"""The bounds of a solver seed and a time limit, shared by every entry point.

The scenario schema (:class:`wastenet.scenario.schema.SolverSpec`), the command line's
argument types (:mod:`wastenet.commands.args`) and the library parameters (routing,
the weekly planner, the benchmark readers) take their limits and checks from here, so
that a value one of them accepts is never refused, or crashes, in another. It also holds the
largest vehicle cost, :func:`is_finite_number`, what the readers of stored JSON documents (summaries, siting
folders, run results) count as a number, and :func:`is_integral` / :func:`is_finite_real`,
what the independent checkers accept as an index or a reported figure.
"""

from __future__ import annotations

import math
import numbers
from typing import TypeGuard

import numpy as np

from wastenet.errors import ValidationError


def is_finite_number(x: object) -> TypeGuard[int | float]:
    """A finite int or float of a parsed JSON document (``True`` and ``False`` are not
    numbers here, nor are NaN and the infinities)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def is_integral(x: object) -> bool:
    """An integer of any kind the checkers meet (Python, numpy, bool), not a float that
    happens to be whole."""
    return isinstance(x, numbers.Integral)


def is_finite_real(x: object) -> bool:
    """A finite real of any kind the checkers meet (Python, numpy, bool)."""
    return isinstance(x, numbers.Real) and math.isfinite(x)


#: the largest solver seed (OR-Tools and numpy both take it)
MAX_SEED = 2**31 - 1
#: the longest time limit in seconds, a day
MAX_TIME_LIMIT_S = 86_400.0
#: the most sub-problems a siting run solves at a time (``solver.threads``, ``--threads``)
MAX_THREADS = 64
#: the largest vehicle cost in yuan (``fixed_cost_yuan``, ``cost_yuan_per_km``,
#: ``cost_yuan_per_h``): the routing model's integer objective must hold it (see
#: :data:`wastenet.routing.data.MAX_COST_YUAN`); the scenario schema refuses more
MAX_VEHICLE_COST_YUAN = 1e9


def check_seed(seed: object, field: str = "seed") -> int:
    """``seed`` as an ``int`` when it is an integer in ``[0, MAX_SEED]`` (not a bool),
    else :class:`ValidationError` naming ``field``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or \
            not 0 <= int(seed) <= MAX_SEED:
        raise ValidationError(field, seed, f"must be an integer in [0, {MAX_SEED}]")
    return int(seed)


def check_time_limit(value: object, field: str = "time_limit_s", *,
                     upper: float | None = MAX_TIME_LIMIT_S) -> float:
    """``value`` as a ``float`` when it is a finite number of seconds in ``(0, upper]``
    (no upper bound when ``upper`` is None; not a bool), else :class:`ValidationError`
    naming ``field``."""
    ok = not isinstance(value, bool) and isinstance(
        value, int | float | np.integer | np.floating)
    v = float(value) if ok else math.nan  # type: ignore[arg-type]
    if upper is None:
        if not (math.isfinite(v) and v > 0):
            raise ValidationError(field, value, "must be a finite number of seconds > 0")
    elif not (math.isfinite(v) and 0 < v <= upper):
        raise ValidationError(field, value, f"must be a number of seconds in (0, {upper:g}]")
    return v
