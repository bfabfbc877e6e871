"""fleet.tourism_frequency_per_week may not be below fleet.frequency_per_week.

Key tourism villages are collected at least as often as the other villages, so a scenario
that would collect them less often is refused, by field and value, on every path into the
schema: the library (``Scenario.model_validate``), the command line (``load_scenario``,
pydantic errors as :class:`wastenet.errors.ValidationError`) and the HTTP service, whose
``api.scenario_input.validate_scenario`` turns each pydantic error item (``loc``,
``msg``, ``input``) into a 422 item (checked here on the pydantic items it is built from,
with the library only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from wastenet.errors import ValidationError
from wastenet.scenario.schema import Scenario, load_scenario, pydantic_to_domain

FIELD = "fleet.tourism_frequency_per_week"
REPO = Path(__file__).resolve().parents[2]

#: (frequency_per_week or None for its default of 7, tourism_frequency_per_week)
BELOW = [(7, 6), (7, 1), (6, 3), (3, 2), (2, 1), (None, 3)]


def _scenario(normal: int | None, tourism: int | None) -> dict[str, Any]:
    fleet: dict[str, Any] = {}
    if normal is not None:
        fleet["frequency_per_week"] = normal
    if tourism is not None:
        fleet["tourism_frequency_per_week"] = tourism
    return {"name": "tourism-frequency", "fleet": fleet}


@pytest.mark.parametrize(("normal", "tourism"), BELOW)
def test_tourism_frequency_below_normal_is_refused(normal: int | None, tourism: int) -> None:
    """A tourism frequency below the normal one (given, or its default of 7) is one
    pydantic error located at fleet.tourism_frequency_per_week, carrying the offending
    value as its input (the service quotes it) and naming the normal frequency."""
    with pytest.raises(PydanticValidationError) as err:
        Scenario.model_validate(_scenario(normal, tourism))
    items = err.value.errors()
    assert len(items) == 1
    item = items[0]
    expected_normal = 7 if normal is None else normal
    assert item["loc"] == ("fleet", "tourism_frequency_per_week")
    assert item["input"] == tourism
    assert item["type"] == "tourism_frequency_below_normal"
    assert f"fleet.frequency_per_week={expected_normal}" in item["msg"]
    domain = pydantic_to_domain(err.value)
    assert (domain.field, domain.value) == (FIELD, tourism)
    assert str(domain).startswith(f"{FIELD}={tourism}: must be at least "
                                  f"fleet.frequency_per_week={expected_normal}")


@pytest.mark.parametrize(("normal", "tourism"), BELOW)
def test_load_scenario_refuses_tourism_frequency_below_normal(
        tmp_path: Path, normal: int | None, tourism: int) -> None:
    """A scenario file (the command line's path) with the tourism frequency below the
    normal one is a ValidationError naming the field, its value and the normal
    frequency."""
    lines = ['name = "tourism-frequency"', "[fleet]"]
    if normal is not None:
        lines.append(f"frequency_per_week = {normal}")
    lines.append(f"tourism_frequency_per_week = {tourism}")
    path = tmp_path / "scenario.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(path)
    assert err.value.field == FIELD and err.value.value == tourism
    assert f"fleet.frequency_per_week={7 if normal is None else normal}" in str(err.value)


@pytest.mark.parametrize(("normal", "tourism"),
                         [(None, None), (7, 7), (3, None), (3, 3), (3, 7), (1, 2), (2, 6),
                          (1, 1), (6, 7)])
def test_tourism_frequency_at_or_above_normal_is_accepted(normal: int | None,
                                                          tourism: int | None) -> None:
    """A tourism frequency equal to or above the normal one is accepted, and so is the
    default (7, daily, the highest frequency) with any normal frequency."""
    fleet = Scenario.model_validate(_scenario(normal, tourism)).fleet
    assert fleet.frequency_per_week == (7 if normal is None else normal)
    assert fleet.tourism_frequency_per_week == (7 if tourism is None else tourism)
    assert fleet.tourism_frequency_per_week >= fleet.frequency_per_week


def test_an_invalid_normal_frequency_is_reported_alone() -> None:
    """When fleet.frequency_per_week is itself invalid (5 is no allowed frequency), that
    is the one error: the tourism check has no normal frequency to compare with."""
    with pytest.raises(PydanticValidationError) as err:
        Scenario.model_validate(_scenario(5, 1))
    assert [e["loc"] for e in err.value.errors()] == [("fleet", "frequency_per_week")]


@pytest.mark.parametrize("path", sorted(p.name for p in (REPO / "scenarios").iterdir()
                                        if p.suffix in (".toml", ".json")))
def test_bundled_scenarios_collect_tourism_villages_at_least_as_often(path: str) -> None:
    """Every bundled scenario still loads, with its tourism frequency at or above the
    normal one."""
    fleet = load_scenario(REPO / "scenarios" / path).fleet
    assert fleet.tourism_frequency_per_week >= fleet.frequency_per_week
