"""The CSV-injection guard is reversible: ``unsafe_text(safe_text(s)) == s`` for every
string, and a guarded cell never starts like a formula."""

from __future__ import annotations

import itertools

import pytest

from wastenet.formats.spreadsheet import FORMULA_STARTS, safe_text, unsafe_text

TRICKY = ["=1", "'=1", "''", "'", "-T1", "+", "@x", "plain", "", "秀水河子11村", "a'b",
          "'plain", "\tx", "\rx", "'''=", " =1"]

#: every string of up to three characters over the characters that matter to the guard
ALPHABET = "'=+-@\t\ra"
GENERATED = ["".join(p) for n in range(4) for p in itertools.product(ALPHABET, repeat=n)]


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_of_tricky_strings(text: str) -> None:
    """Writing a cell through safe_text and reading it through unsafe_text gives the
    original text back, apostrophes and formula characters included."""
    assert unsafe_text(safe_text(text)) == text


def test_round_trip_property_over_short_strings() -> None:
    """Property over all short strings of guard-relevant characters: the round trip is
    the identity, the guarded cell never starts like a formula, and the guard adds at
    most one character (exactly one when the text starts with a formula character or an
    apostrophe)."""
    for text in GENERATED:
        cell = safe_text(text)
        assert unsafe_text(cell) == text, text
        assert not cell.startswith(FORMULA_STARTS), text
        quoted = text.startswith((*FORMULA_STARTS, "'"))
        assert cell == ("'" + text if quoted else text), text


def test_apostrophe_text_gets_its_own_apostrophe() -> None:
    """Text that already starts with an apostrophe is quoted once more, so that a reader
    can tell it from a guarded formula: "'=1" and "=1" give different cells."""
    assert safe_text("'=1") == "''=1"
    assert safe_text("=1") == "'=1"
    assert safe_text("''") == "'''"
    assert unsafe_text("plain") == "plain" and unsafe_text("") == ""
