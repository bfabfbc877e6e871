"""Text cells that spreadsheet programs will not run as formulas, and their inverse.

The CSV exports are written with a UTF-8 BOM so that Excel opens the Chinese names; Excel
(and LibreOffice, WPS) also evaluates a cell whose text starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula ("CSV injection", OWASP). Names and ids
come from user data, so every free-text cell goes through :func:`safe_text`, which puts
an apostrophe in front of such text (the spreadsheet shows the text as it was). Numeric
columns are left alone.

The guard is reversible: :func:`safe_text` also puts an apostrophe in front of text that
already starts with one, so every written cell that starts with an apostrophe carries
exactly one added by the guard, and :func:`unsafe_text` (used by every program that reads
these CSV files back, e.g. ``wastenet plan-routes`` reading ``assignments.csv``) removes
exactly that one: ``unsafe_text(safe_text(s)) == s`` for every string ``s``.
"""

from __future__ import annotations

#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: the character :func:`safe_text` puts in front (and :func:`unsafe_text` removes)
QUOTE = "'"


def safe_text(value: object) -> str:
    """``str(value)`` (``""`` for None), with ``'`` in front when it starts like a formula
    or with an apostrophe (so that :func:`unsafe_text` can undo it)."""
    text = "" if value is None else str(value)
    return QUOTE + text if text.startswith((*FORMULA_STARTS, QUOTE)) else text


def unsafe_text(cell: str) -> str:
    """The text :func:`safe_text` was given for the CSV cell ``cell``: one leading
    apostrophe removed, when there is one; other cells unchanged."""
    return cell[1:] if cell.startswith(QUOTE) else cell
