"""Plain number formatting for routing messages (errors, checker violations, logs).

Messages are read by people (the CLI prints them, the API returns them verbatim), so a
number is written as ``2.861``, never as a numpy repr such as ``np.float64(2.8605)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


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
