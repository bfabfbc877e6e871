"""Audit 14, inputs: ids and names read from villages files hold no control character
(nor surrogate, U+FFFE, U+FFFF), nor do the ids the scenario schema parses; and a count
target whose prefecture matches no county, or no candidate, is refused when the
scenario's network is compiled into siting data, naming the target, the value and the
valid prefectures.

Before the fix a villages file could give a village id "V\\x001" or a name with a
vertical tab (the schema refused such names only in the scenario itself), and
:func:`wastenet.siting.build.build_siting_data` compiled a count target for an unknown
prefecture into a constraint on no site at all.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from wastenet.data.loader import load_villages_file
from wastenet.errors import ValidationError
from wastenet.scenario.network import Network, build_network
from wastenet.scenario.schema import CountSpec, Scenario, load_scenario
from wastenet.siting.build import build_siting_data

#: two Faku (210124, prefecture 210100 沈阳市) villages
_ROWS = [("V1", "大孤家子村", 123.20, 42.40, 300), ("V2", "小孤家子村", 123.30, 42.45, 250)]


def _csv(tmp_path: Path, rows: list[tuple[Any, ...]], name: str = "v.csv") -> Path:
    """A villages CSV (quoted by the csv module, so any character survives) of ``rows``."""
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "lon", "lat", "population"])
        w.writerows(rows)
    return path


_BAD = ["\x0b", "\x00", "\t", "\n", "\x7f", "\x85", "\ufffe"]
_BAD_IDS = ["VT", "NUL", "TAB", "LF", "DEL", "NEL", "FFFE"]


@pytest.mark.parametrize("bad", _BAD, ids=_BAD_IDS)
@pytest.mark.parametrize("field", ["id", "name"])
def test_control_characters_in_a_villages_csv_are_refused(tmp_path: Path, field: str,
                                                          bad: str) -> None:
    """A control character (or U+FFFE) inside the id or the name of the second village
    of a CSV is refused with a ValidationError naming the file, its line (3), the row
    (2), the field and the value (repr); the clean file loads."""
    ok = load_villages_file(_csv(tmp_path, _ROWS, "ok.csv"))
    assert ok.ids == ("V1", "V2") and ok.names == ("大孤家子村", "小孤家子村")
    rows: list[tuple[Any, ...]] = list(_ROWS)
    vid, name, *rest = rows[1]
    value = f"V{bad}2" if field == "id" else f"小孤{bad}家子村"
    rows[1] = (value, name, *rest) if field == "id" else (vid, value, *rest)
    with pytest.raises(ValidationError) as err:
        load_villages_file(_csv(tmp_path, rows))
    e = err.value
    assert (e.field, e.value, e.row) == (field, value, 2)
    text = str(e)
    assert f"{field}={value!r}" in text and repr(bad) in text
    assert "[v.csv, line " in text and "control characters" in text


def test_a_lone_surrogate_in_a_villages_geojson_is_refused(tmp_path: Path) -> None:
    """A GeoJSON village whose name is the escape "\\ud800村" (a lone surrogate once
    parsed) is refused naming the file, the row and the field; so is a feature id
    holding a NUL."""
    def feature(fid: str, name: str) -> dict[str, Any]:
        return {"type": "Feature", "id": fid,
                "geometry": {"type": "Point", "coordinates": [123.2, 42.4]},
                "properties": {"name": name, "population": 300}}

    path = tmp_path / "v.geojson"
    doc = {"type": "FeatureCollection", "features": [feature("V1", "\ud800村")]}
    path.write_text(json.dumps(doc), encoding="utf-8")  # ascii: the surrogate as \ud800
    with pytest.raises(ValidationError) as err:
        load_villages_file(path)
    assert (err.value.field, err.value.value, err.value.row) == ("name", "\ud800村", 1)
    assert "[v.geojson]" in str(err.value) and "'\\ud800'" in str(err.value)
    doc = {"type": "FeatureCollection", "features": [feature("V1", "村"),
                                                      feature("V\x002", "村2")]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_villages_file(path)
    assert (err.value.field, err.value.value, err.value.row) == ("id", "V\x002", 2)


@pytest.mark.parametrize(("field", "where"), [
    ("data.villages.0.id", "village"),
    ("candidates.transfer.sites.0.id", "site"),
    ("candidates.incinerator.existing.0.id", "existing"),
])
def test_control_characters_in_scenario_ids_are_refused(tmp_path: Path, field: str,
                                                        where: str) -> None:
    """The schema refuses a village, site or existing-facility id holding a vertical tab
    as it refuses such names, naming the field and the value; clean ids load."""
    site = {"id": "S1", "lon": 123.28, "lat": 42.38}
    raw: dict[str, Any] = {
        "name": "ids",
        "data": {"source": "user",
                 "villages": [{"id": "V1", "lon": 123.2, "lat": 42.4, "population": 300}]},
        "candidates": {"transfer": {"sites": [dict(site)]},
                       "incinerator": {"existing": [{**site, "id": "E1",
                                                     "remaining_capacity_t_per_day": 50}]}},
    }
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert load_scenario(path).data.villages[0].id == "V1"
    node = {"village": raw["data"]["villages"][0],
            "site": raw["candidates"]["transfer"]["sites"][0],
            "existing": raw["candidates"]["incinerator"]["existing"][0]}[where]
    node["id"] = "X\x0b1"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(path)
    assert (err.value.field, err.value.value) == (field, "X\x0b1")
    assert "'\\x0b' at position 1" in str(err.value)


# --------------------------------------------------------------------------- counts


@pytest.fixture(scope="module")
def tiny_network() -> Network:
    """Two inline Faku villages, one extra transfer candidate, Faku's county seat plant."""
    sc = Scenario.model_validate({
        "name": "counts",
        "data": {"source": "user", "villages": [
            {"id": v, "name": n, "lon": x, "lat": y, "population": p}
            for v, n, x, y, p in _ROWS]},
        "candidates": {"transfer": {"extra_per_county": 1}}})
    return build_network(sc)


def _with_counts(net: Network, prefecture: str) -> Network:
    """``net`` carrying a scenario whose policy has a province-wide incinerator target and
    a transfer one for ``prefecture`` (the network itself unchanged)."""
    counts = [CountSpec(echelon="incinerator", value=1, sense="le"),
              CountSpec(echelon="transfer", value=0, sense="eq", prefecture=prefecture)]
    sc = net.scenario
    sc = sc.model_copy(update={"policy": sc.policy.model_copy(update={"counts": counts})})
    return dataclasses.replace(net, scenario=sc)


@pytest.mark.parametrize(("prefecture", "needle", "hint"), [
    ("219900", "unknown code", "210100 沈阳市"),
    ("210124", "county 法库县, not of a prefecture", "its prefecture is 210100 (沈阳市)"),
    ("210200", "no transfer candidate of this scenario lies in prefecture 大连市",
     "210100 沈阳市"),
])
def test_count_target_of_no_county_is_refused_when_compiled(
        tiny_network: Network, prefecture: str, needle: str, hint: str) -> None:
    """build_siting_data refuses a count target whose prefecture matches no county (an
    unknown code, a county's code) or holds no candidate of its echelon (Dalian for a
    Faku network), naming policy.counts[1].prefecture, the target ("transfer eq 0") and
    the value, with the valid prefecture (Shenyang 210100) as a hint; the same target
    for 210100 compiles into a count constraint."""
    with pytest.raises(ValidationError) as err:
        build_siting_data(_with_counts(tiny_network, prefecture))
    e = err.value
    assert (e.field, e.value) == ("policy.counts[1].prefecture", prefecture)
    assert "count target transfer eq 0" in str(e) and needle in str(e)
    assert e.hint is not None and hint in e.hint
    data = build_siting_data(_with_counts(tiny_network, "210100"))
    assert [t.prefecture for t in data.counts] == [None, "210100"]


def test_count_prefecture_given_by_name_is_refused_with_its_code(tmp_path: Path) -> None:
    """A count target with prefecture "沈阳市" (a name, not the code) is refused by the
    schema naming policy.counts.0.prefecture and the value, hinting "沈阳市 is prefecture
    210100" and listing every prefecture (葫芦岛市 211400 among them); "210100" loads."""
    def scenario(prefecture: str) -> Path:
        path = tmp_path / "c.json"
        path.write_text(json.dumps({"name": "c", "policy": {"counts": [
            {"echelon": "transfer", "value": 3, "sense": "le", "prefecture": prefecture}]}}),
            encoding="utf-8")
        return path

    assert load_scenario(scenario("210100")).policy.counts[0].prefecture == "210100"
    with pytest.raises(ValidationError) as err:
        load_scenario(scenario("沈阳市"))
    assert (err.value.field, err.value.value) == ("policy.counts.0.prefecture", "沈阳市")
    assert "沈阳市 is prefecture 210100" in str(err.value)
    assert "211400 葫芦岛市" in str(err.value)


# --------------------------------------------------------------------------- vehicle costs


@pytest.mark.parametrize("field", ["fixed_cost_yuan", "cost_yuan_per_km", "cost_yuan_per_h"])
def test_vehicle_costs_above_the_routing_bound_are_refused_by_the_schema(
        tmp_path: Path, field: str) -> None:
    """A vehicle cost above ``MAX_VEHICLE_COST_YUAN`` (1e9 yuan, what the routing
    model's integer objective holds) is refused when the scenario loads, naming
    ``fleet.vehicles.0.<field>``, instead of later under a routing field name; the bound
    itself loads."""
    from wastenet.bounds import MAX_VEHICLE_COST_YUAN
    from wastenet.routing.data import MAX_COST_YUAN

    assert MAX_COST_YUAN == MAX_VEHICLE_COST_YUAN  # one bound for both layers

    def scenario(value: float) -> Path:
        raw = {"name": "costs", "fleet": {"vehicles": [
            {"name": "truck", "count": 1, "capacity_t": 8, field: value}]}}
        path = tmp_path / "s.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        return path

    vt = load_scenario(scenario(MAX_VEHICLE_COST_YUAN)).fleet.vehicles[0]
    assert getattr(vt, field) == MAX_VEHICLE_COST_YUAN
    with pytest.raises(ValidationError) as err:
        load_scenario(scenario(2e9))
    assert err.value.field == f"fleet.vehicles.0.{field}"
    assert err.value.value == 2e9
