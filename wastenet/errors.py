"""Domain exceptions.

Every message names the offending field (and row or line where there is one) and the
value, so that the CLI can print it and the API can return it verbatim with a 4xx code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class WastenetError(Exception):
    """Base class of every error Wastenet raises on purpose."""


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars (also inside tuples) as plain Python numbers, so that
    a message shows ``2.5``, not ``np.float64(2.5)``."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


class ValidationError(WastenetError, ValueError):
    """A value is invalid. ``field`` names it (dotted path), ``value`` holds it (numpy
    scalars as plain Python numbers)."""

    def __init__(
        self,
        field: str,
        value: Any,
        message: str,
        *,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        value = _plain(value)
        self.field = field
        self.value = value
        self.row = row
        self.hint = hint
        where = f"row {row}: " if row is not None else ""
        text = f"{where}{field}={value!r}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)


class DataFormatError(WastenetError, ValueError):
    """A file does not follow its format. ``line`` is 1-based when known."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class InfeasibleError(WastenetError):
    """The problem has no feasible solution. ``reasons`` says why, one line each."""

    def __init__(self, summary: str, reasons: Sequence[str] = ()) -> None:
        self.summary = summary
        self.reasons = list(reasons)
        text = summary
        if self.reasons:
            shown = self.reasons[:20]
            more = len(self.reasons) - len(shown)
            text += ": " + "; ".join(shown)
            if more > 0:
                text += f"; and {more} more"
        super().__init__(text)


class NoSolutionError(WastenetError):
    """No feasible solution was found within the limits; infeasibility is NOT proven.
    Raising the time or iteration limit may help."""
