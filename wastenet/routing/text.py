"""Plain number formatting for routing messages (errors, checker violations, logs).

Messages are read by people (the CLI prints them, the API returns them verbatim), so a
number is written as ``2.861``, never as a numpy repr such as ``np.float64(2.8605)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

#: day names, Monday = 0 (``datetime.date.weekday``), for messages
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def num(x: object, digits: int = 3) -> str:
    """``x`` as a plain decimal with at most ``digits`` decimals (trailing zeros dropped):
    ``2.8605 -> "2.861"``, ``10.0 -> "10"``; ``inf``/``nan`` as ``"inf"``/``"nan"``."""
    v = float(x)  # type: ignore[arg-type]
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    text = f"{v:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def amounts(values: Iterable[object], dims: Sequence[str] = (), digits: int = 3) -> str:
    """Amounts per load dimension: ``"2.861 t, 7.151 m3"`` (units left out when ``dims``
    is shorter than ``values``)."""
    parts = []
    for k, v in enumerate(values):
        unit = f" {dims[k]}" if k < len(dims) else ""
        parts.append(f"{num(v, digits)}{unit}")
    return ", ".join(parts)


def hm(seconds: float) -> str:
    """``HH:MM`` of a time of day in seconds (nearest minute; '' when not finite)."""
    if not math.isfinite(seconds):
        return ""
    total = round(seconds / 60.0)
    sign = "-" if total < 0 else ""
    h, m = divmod(abs(total), 60)
    return f"{sign}{h:02d}:{m:02d}"


def clock(seconds: object) -> str:
    """A time of day in seconds as :func:`hm` ``HH:MM``, or :func:`num` of it when it is
    not finite (for messages, where an empty string would read as nothing)."""
    v = float(seconds)  # type: ignore[arg-type]
    return hm(v) if math.isfinite(v) else num(v)
