"""Which characters a user-given name or id may not hold, written once.

The scenario schema (:data:`wastenet.scenario.schema.Name` and ``Id``) and the data
loaders (:mod:`wastenet.data.loader`) refuse the same characters with the same words;
each raises its own kind of error (a pydantic error in the schema, a
:class:`~wastenet.errors.ValidationError` naming the file, row and field in a loader).

Refused: control characters (category ``Cc``: C0 including tab and newline, DEL, C1),
surrogates (category ``Cs``: lone ones, in a Python str) and the non-characters U+FFFE
and U+FFFF. Names and ids go into every export: XML 1.0 forbids most of these (a name
holding one made ``routes.gpx`` malformed), a lone surrogate cannot be written as UTF-8
(it crashed the CSV and JSON exports), PostgreSQL refuses NUL (the service stores
names), and none belongs in a name shown to a driver.

No import from the rest of Wastenet: the data layer imports this module.
"""

from __future__ import annotations

import unicodedata

#: what a name or id must not contain, as the error messages say it
RULE = ("must not contain control characters (such as tab, newline, NUL or vertical tab), "
        "surrogates, U+FFFE or U+FFFF")


def bad_char(ch: str) -> bool:
    """Is ``ch`` refused in a name or id: a control character (C0 including tab and
    newline, DEL, C1), a surrogate (lone, in a Python str) or U+FFFE/U+FFFF?"""
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"


def first_bad_char(text: str) -> tuple[int, str] | None:
    """``(position, character)`` of the first character of ``text`` that :func:`bad_char`
    refuses, or None when there is none."""
    for pos, ch in enumerate(text):
        if bad_char(ch):
            return pos, ch
    return None


def bad_text_message(text: str) -> str | None:
    """Why ``text`` is refused as a name or id (:data:`RULE` and the first bad character
    with its position), or None when it is fine."""
    found = first_bad_char(text)
    if found is None:
        return None
    pos, ch = found
    return f"{RULE}: found {ch!r} at position {pos}"
