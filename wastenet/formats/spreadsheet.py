"""Text cells that spreadsheet programs will not run as formulas.

The CSV exports are written with a UTF-8 BOM so that Excel opens the Chinese names; Excel
(and LibreOffice, WPS) also evaluates a cell whose text starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula ("CSV injection", OWASP). Names and ids
come from user data, so every free-text cell goes through :func:`safe_text`, which puts
an apostrophe in front of such text (the spreadsheet shows the text as it was; a program
reading the CSV sees the apostrophe). Numeric columns are left alone.
"""

from __future__ import annotations

#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: object) -> str:
    """``str(value)``, with ``'`` in front when it starts like a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
