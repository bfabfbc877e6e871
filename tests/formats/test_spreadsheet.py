"""Tests of the CSV-injection guard (``wastenet.formats.spreadsheet``)."""

from __future__ import annotations

import pytest

from wastenet.formats.spreadsheet import safe_text


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","点我")', "+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_formula_starts_are_quoted(text: str) -> None:
    """Text a spreadsheet would run as a formula gets an apostrophe in front."""
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["秀水河子11村", "a=b", "", "1.5"])
def test_plain_text_kept(text: str) -> None:
    """Ordinary names (an ``=`` inside is harmless) pass unchanged."""
    assert safe_text(text) == text


def test_none_is_empty() -> None:
    """A missing value is an empty cell."""
    assert safe_text(None) == ""
