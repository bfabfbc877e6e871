"""Tests of the scenario schema and the shipped scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wastenet.errors import DataFormatError, ValidationError
from wastenet.scenario.schema import Scenario, annualised_fixed_cost, crf, load_scenario

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def test_shipped_scenarios_load() -> None:
    """All four shipped scenarios validate; the province ones carry the plan targets."""
    plan = load_scenario(SCEN / "liaoning-2025.toml")
    nosh = load_scenario(SCEN / "liaoning-2025-no-sharing.toml")
    assert plan.policy.sharing == "adjacent" and nosh.policy.sharing == "none"
    for sc in (plan, nosh):
        targets = {(c.echelon, c.value, c.sense) for c in sc.policy.counts}
        assert targets == {("transfer", 1880, "eq"), ("incinerator", 126, "eq")}
    assert load_scenario(SCEN / "faku.json") == load_scenario(SCEN / "faku.toml")


def test_crf_matches_textbook_value() -> None:
    """CRF(8 %, 20 y) = 0.10185 (standard annuity table); zero rate gives 1/n."""
    assert crf(0.08, 20) == pytest.approx(0.101852, abs=1e-6)
    assert crf(0.0, 10) == pytest.approx(0.1)


def test_annualised_cost() -> None:
    """Capex 1,000,000 over 20 years at 8 % plus 50,000 opex."""
    from wastenet.scenario.schema import SizeSpec

    s = SizeSpec(capacity_t_per_day=10, capex_yuan=1_000_000, lifetime_years=20,
                 fixed_opex_yuan_per_year=50_000)
    assert annualised_fixed_cost(s, 0.08) == pytest.approx(101_852.2 + 50_000, abs=1.0)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"policy": {"sharing": "everyone"}}, "policy.sharing"),
        ({"network": {"circuity_factor": 0.5}}, "network.circuity_factor"),
        ({"data": {"counties": ["12345"]}}, "data.counties.0"),
        ({"policy": {"service_radius_km": -3}}, "policy.service_radius_km"),
        ({"costs": {"discount_rate": float("nan")}}, "costs.discount_rate"),
        ({"data": {"waste_kg_per_person_per_day": "lots"}}, "data.waste_kg_per_person_per_day"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"name": "a\x00b"}, "name"),
        ({"data": {"source": "user"}}, "data"),
    ],
)
def test_bad_scenarios_name_the_field(tmp_path, patch, field) -> None:
    """Invalid values are rejected with a ValidationError naming the dotted field."""
    raw = {"name": "bad", **patch}
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(p)
    assert field in str(err.value)


def test_malformed_toml_is_a_format_error(tmp_path) -> None:
    """Broken TOML raises DataFormatError naming the file."""
    p = tmp_path / "x.toml"
    p.write_text('name = "x"\n[data\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"x\.toml"):
        load_scenario(p)


def test_server_files_are_reported(tmp_path) -> None:
    """Fields naming server files are listed (the API rejects them)."""
    sc = Scenario.model_validate({"name": "f", "data": {"source": "user",
                                                         "villages_file": "v.csv"}})
    assert sc.server_file_fields() == ["data.villages_file"]
    assert Scenario(name="g").server_file_fields() == []


def _defaults_needing_a_source() -> list[tuple[str, object, str]]:
    """(dotted field, default, description) of every parameter default in the schema: a
    number, a flag, an HH:MM time or a non-empty default list. Record models (a user site,
    village or count target) are skipped: their defaults mean "not given"."""
    import re
    import typing

    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    from wastenet.scenario import schema

    records = {schema.SiteSpec, schema.ExistingSpec, schema.VillageSpec, schema.CountSpec}
    out: list[tuple[str, object, str]] = []
    seen: set[type] = set()

    def models_in(ann: object) -> list[type[BaseModel]]:
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            return [ann]
        return [m for a in typing.get_args(ann) for m in models_in(a)]

    def walk(model: type[BaseModel], prefix: str) -> None:
        if model in seen or model in records:
            return
        seen.add(model)
        for name, f in model.model_fields.items():
            dotted = f"{prefix}{model.__name__}.{name}"
            if f.default_factory is not None:
                default = f.default_factory()  # type: ignore[call-arg]
            else:
                default = None if f.default is PydanticUndefined else f.default
            needs = (isinstance(default, (bool, int, float)) and name != "schema_version") \
                or (isinstance(default, str) and re.fullmatch(r"\d{1,2}:\d{2}", default)) \
                or (isinstance(default, list) and len(default) > 0)
            if needs:
                out.append((dotted, default, f.description or ""))
            for sub in models_in(f.annotation):
                walk(sub, prefix)

    walk(Scenario, "")
    return out


def test_every_default_names_its_source_or_says_assumption() -> None:
    """Each parameter default's description cites a source listed in the schema module
    docstring ([NDRC2006], [ISSUE3], [DATA], [PLAN]) or says "assumption"."""
    import re

    from wastenet.scenario import schema

    sources = set(re.findall(r"\[([A-Z0-9]+)\]", schema.__doc__ or ""))
    assert {"NDRC2006", "ISSUE3", "DATA", "PLAN"} <= sources
    fields = _defaults_needing_a_source()
    assert len(fields) > 40  # the walk reaches the nested models (sizes, fleet, ...)
    missing = [(name, default) for name, default, desc in fields
               if "assumption" not in desc.lower()
               and not (set(re.findall(r"\[([A-Z0-9]+)\]", desc)) & sources)]
    assert not missing, missing


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_non_utf8_scenario_is_a_format_error(tmp_path, suffix) -> None:
    """A GBK-encoded copy of the Faku scenario is refused as not UTF-8, naming the file,
    the line and the offset of the first bad byte (not a UnicodeDecodeError)."""
    text = (SCEN / f"faku{suffix}").read_text(encoding="utf-8")
    text = text.replace('"faku"', '"法库"', 1)
    p = tmp_path / f"gbk{suffix}"
    p.write_bytes(text.encode("gbk"))
    with pytest.raises(DataFormatError, match=r"not UTF-8 text \(bad byte at offset \d+\)") as err:
        load_scenario(p)
    assert str(p) in str(err.value) and err.value.line is not None


@pytest.mark.parametrize(
    ("patch", "field", "value"),
    [
        ({"fleet": {"station_open": "99:99"}}, "fleet.station_open", "99:99"),
        ({"fleet": {"station_close": "24:30"}}, "fleet.station_close", "24:30"),
        ({"fleet": {"vehicles": [{"name": "a", "count": 1, "capacity_t": 2,
                                  "break_latest": "12:60"}]}},
         "fleet.vehicles.0.break_latest", "12:60"),
        ({"fleet": {"vehicles": [{"name": "a", "count": 1, "capacity_t": 2,
                                  "shift_start": "25:00"}]}},
         "fleet.vehicles.0.shift_start", "25:00"),
    ],
)
def test_clock_times_must_be_real_times_of_day(tmp_path, patch, field, value) -> None:
    """An HH:MM field that matches the pattern but names no time of day is refused by the
    schema, with a ValidationError naming the field and the value."""
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"name": "t", **patch}), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(p)
    assert err.value.field == field and err.value.value == value
    assert "time of day" in str(err.value)


def test_clock_times_accept_the_day_and_its_end() -> None:
    """00:00, 23:59 and 24:00 (the end of the day) are valid clock times."""
    sc = Scenario.model_validate({"name": "t", "fleet": {"station_open": "0:00",
                                                         "station_close": "24:00"}})
    assert sc.fleet.station_close == "24:00"
    Scenario.model_validate({"name": "t", "fleet": {"station_close": "23:59"}})


def test_hhmm_to_s_refuses_times_past_the_day() -> None:
    """hhmm_to_s takes 24:00 but refuses 24:30, naming the value."""
    from wastenet.scenario.schema import hhmm_to_s

    assert hhmm_to_s("24:00") == 86_400.0
    with pytest.raises(ValidationError, match="24:30"):
        hhmm_to_s("24:30")


_VILLAGE = {"lon": 123.16, "lat": 42.39, "population": 500}


def test_inline_villages_need_the_user_source(tmp_path) -> None:
    """Inline villages with the default synthetic source would be ignored: refused,
    naming data.villages and the source."""
    p = tmp_path / "v.json"
    p.write_text(json.dumps({"name": "v", "data": {"villages": [{"id": "a", **_VILLAGE}]}}),
                 encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(p)
    assert err.value.field == "data.villages"
    assert err.value.value == "liaoning-synthetic" and "data.source" in str(err.value)
    ok = Scenario.model_validate({"name": "v", "data": {"source": "user",
                                                        "villages": [{"id": "a", **_VILLAGE}]}})
    assert len(ok.data.villages) == 1


def test_villages_file_needs_the_user_source(tmp_path) -> None:
    """A villages file with the default synthetic source would be ignored: refused,
    naming data.villages_file and its path."""
    p = tmp_path / "f.json"
    p.write_text(json.dumps({"name": "f", "data": {"villages_file": "v.csv"}}),
                 encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(p)
    assert err.value.field == "data.villages_file" and err.value.value == "v.csv"
    assert "data.source='user'" in str(err.value)
    ok = Scenario.model_validate({"name": "f", "data": {"source": "user",
                                                        "villages_file": "v.csv"}})
    assert ok.data.villages_file == "v.csv"


def test_duplicate_inline_village_ids_are_refused(tmp_path) -> None:
    """A repeated inline village id is refused by the schema, naming the row and the id."""
    villages = [{"id": "a", **_VILLAGE}, {"id": "b", **_VILLAGE}, {"id": "a", **_VILLAGE}]
    p = tmp_path / "d.json"
    p.write_text(json.dumps({"name": "d", "data": {"source": "user", "villages": villages}}),
                 encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(p)
    assert err.value.field == "data.villages.2.id" and err.value.value == "a"
    assert "data.villages.0" in str(err.value)
