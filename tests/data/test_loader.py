"""Tests of the user-supplied village loader (CSV, GeoJSON, inline records)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wastenet.data import liaoning
from wastenet.data.loader import SNAP_DISTANCE_M, load_villages_file, villages_from_records
from wastenet.errors import DataFormatError, ValidationError

# Interior point of Faku county (210124), from the bundled county table.
FAKU = (123.163417, 42.395851)
# Inside Shenyang's Heping district (210102), its interior point.
HEPING = (123.400433, 41.752059)
# South of the southernmost vertex of the simplified outline (121.19788, 38.72361), at sea
# off Lüshunkou (210212): about 1.1 km and 5.0 km outside the provincial border.
NEAR_SEA = (121.19788, 38.71361)
FAR_SEA = (121.19788, 38.67861)
# Inside Faku, about 330 m from its border with Kangping (210123).
FAKU_NEAR_KANGPING = (123.29975585, 42.57675438)

HEADER = "id,name,lon,lat,population,tonnes_per_day,county,tourism,demonstration"


def _good_rows() -> list[dict[str, object]]:
    return [
        {"id": "V1", "name": "甲村", "lon": FAKU[0], "lat": FAKU[1], "population": 800},
        {"id": "V2", "name": "乙村", "lon": HEPING[0], "lat": HEPING[1], "tonnes_per_day": 0.3,
         "county": "210102", "tourism": True},
        {"id": "V3", "lon": FAKU[0] + 0.01, "lat": FAKU[1], "population": 1200,
         "tonnes_per_day": 0.9, "demonstration": "yes"},
    ]


def _csv_text(lines: list[str]) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def _write(tmp_path: Path, name: str, text: str, bom: bool = False) -> Path:
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


GOOD_CSV = _csv_text([
    f"V1,甲村,{FAKU[0]},{FAKU[1]},800,,,,",
    f"V2,乙村,{HEPING[0]},{HEPING[1]},,0.3,210102,true,",
    f"V3,,{FAKU[0] + 0.01},{FAKU[1]},1200,0.9,,0,yes",
])


# --------------------------------------------------------------------------- good input


def test_records_build_expected_table() -> None:
    """Inline records give the hand-computed counties, populations and waste."""
    v, warnings = villages_from_records(_good_rows(), waste_kg_per_person_per_day=0.5)
    assert warnings == []
    assert v.ids == ("V1", "V2", "V3")
    assert v.names == ("甲村", "乙村", "V3")  # a missing name defaults to the id
    assert v.county == ("210124", "210102", "210124")
    # V2: 0.3 t/d at 0.5 kg/person/day -> 600 people; V3 keeps its given population.
    assert v.population.tolist() == [800, 600, 1200]
    assert v.waste_t_per_day == pytest.approx([0.4, 0.3, 0.9])
    assert v.tourism.tolist() == [False, True, False]
    assert v.demonstration.tolist() == [False, False, True]
    assert v.seat.tolist() == [-1, -1, -1]
    assert v.synthetic is False and v.seed is None
    assert v.meta["tonnes_given_index"] == [1, 2]
    assert not v.lon.flags.writeable and not v.population.flags.writeable


def test_seasonal_factor_scales_all_waste() -> None:
    """The seasonal factor multiplies waste from population and from given tonnes alike."""
    v, _ = villages_from_records(_good_rows(), waste_kg_per_person_per_day=0.8,
                                 seasonal_factor=1.5)
    assert v.waste_t_per_day == pytest.approx([800 * 0.8 * 1.5 / 1000, 0.3 * 1.5, 0.9 * 1.5])
    assert v.population.tolist() == [800, round(300 / 0.8), 1200]


def test_records_are_not_mutated() -> None:
    """The loader reads its input records without changing them."""
    rows = _good_rows()
    before = json.dumps(rows, sort_keys=True, ensure_ascii=False)
    villages_from_records(rows)
    assert json.dumps(rows, sort_keys=True, ensure_ascii=False) == before


def test_point_in_polygon_assigns_faku() -> None:
    """A point inside Faku county gets adcode 210124 when no county is given."""
    v, _ = villages_from_records([{"id": "x", "lon": FAKU[0], "lat": FAKU[1],
                                   "population": 10}])
    assert v.county == ("210124",)


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "bom"])
def test_good_csv_with_and_without_bom(tmp_path: Path, bom: bool) -> None:
    """A CSV reads the same with or without a UTF-8 byte-order mark."""
    v = load_villages_file(_write(tmp_path, "v.csv", GOOD_CSV, bom=bom))
    ref, _ = villages_from_records(_good_rows())
    assert v.ids == ref.ids and v.names == ref.names and v.county == ref.county
    assert np.array_equal(v.population, ref.population)
    assert np.allclose(v.waste_t_per_day, ref.waste_t_per_day)
    assert v.tourism.tolist() == [False, True, False]
    assert v.demonstration.tolist() == [False, False, True]
    assert v.meta["source"] == "v.csv"


def test_csv_with_crlf_and_column_order(tmp_path: Path) -> None:
    """Columns may come in any order and case, and CRLF line ends are fine."""
    text = (f"Lat, LON ,ID,population\r\n{FAKU[1]},{FAKU[0]},a,5\r\n"
            f"{HEPING[1]},{HEPING[0]},b,7\r\n")
    v = load_villages_file(_write(tmp_path, "v.csv", text))
    assert v.ids == ("a", "b") and v.county == ("210124", "210102")
    assert v.population.tolist() == [5, 7]


def test_good_geojson(tmp_path: Path) -> None:
    """A GeoJSON FeatureCollection of Points reads like the same records."""
    feats: list[dict[str, Any]] = []
    for r in _good_rows():
        props = {k: v for k, v in r.items() if k not in ("lon", "lat")}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}})
    # The id may also be the feature's own id.
    feats[0]["id"] = feats[0]["properties"].pop("id")
    doc = {"type": "FeatureCollection", "features": feats}
    v = load_villages_file(_write(tmp_path, "v.geojson", json.dumps(doc, ensure_ascii=False),
                                  bom=True))
    ref, _ = villages_from_records(_good_rows())
    assert v.ids == ref.ids and v.county == ref.county
    assert np.array_equal(v.population, ref.population)
    assert np.allclose(v.lon, ref.lon) and np.allclose(v.lat, ref.lat)


def test_snap_within_two_km_warns(caplog: pytest.LogCaptureFixture) -> None:
    """A point about 1.1 km off the coast snaps to Lüshunkou with a logged, returned warning."""
    _, d = liaoning.nearest_counties(np.array([NEAR_SEA[0]]), np.array([NEAR_SEA[1]]))
    assert 500.0 < d[0] < SNAP_DISTANCE_M  # precondition of the fixture point
    rows = [{"id": "s", "lon": NEAR_SEA[0], "lat": NEAR_SEA[1], "population": 100}]
    with caplog.at_level(logging.WARNING, logger="wastenet.data.loader"):
        v, warnings = villages_from_records(rows)
    assert v.county == ("210212",)
    assert len(warnings) == 1 and "row 1" in warnings[0] and "snapped" in warnings[0]
    assert any("snapped" in r.getMessage() and r.name == "wastenet.data.loader"
               for r in caplog.records)
    assert v.meta["warnings"] == warnings
    assert v.lon[0] == NEAR_SEA[0]  # coordinates are kept as given


def test_snap_beyond_two_km_is_error() -> None:
    """A point about 5 km off the coast is rejected, naming the row and the coordinates."""
    _, d = liaoning.nearest_counties(np.array([FAR_SEA[0]]), np.array([FAR_SEA[1]]))
    assert d[0] > SNAP_DISTANCE_M
    rows = [*_good_rows(), {"id": "far", "lon": FAR_SEA[0], "lat": FAR_SEA[1],
                            "population": 100}]
    with pytest.raises(ValidationError) as exc:
        villages_from_records(rows)
    assert exc.value.row == 4 and exc.value.field == "lon/lat"
    assert "row 4" in str(exc.value) and "outside Liaoning" in str(exc.value)


def test_given_county_within_tolerance_is_kept() -> None:
    """A point 330 m inside Faku may be declared in neighbouring Kangping (simplified borders)."""
    rows = [{"id": "k", "lon": FAKU_NEAR_KANGPING[0], "lat": FAKU_NEAR_KANGPING[1],
             "population": 50, "county": "210123"}]
    v, warnings = villages_from_records(rows)
    assert v.county == ("210123",) and warnings == []


def test_unknown_columns_warn_not_fail() -> None:
    """An unknown field (a likely typo) is reported as a warning."""
    rows = [{"id": "a", "lon": FAKU[0], "lat": FAKU[1], "population": 5, "popultion": 9}]
    _, warnings = villages_from_records(rows)
    assert len(warnings) == 1 and "popultion" in warnings[0]


def test_blank_csv_lines_are_reported(tmp_path: Path) -> None:
    """Lines with only empty fields are skipped with a warning naming their line numbers."""
    text = _csv_text([f"V1,甲村,{FAKU[0]},{FAKU[1]},800,,,,", ",,,,,,,,",
                      f"V2,乙村,{FAKU[0]},{FAKU[1]},8,,,,"])
    v = load_villages_file(_write(tmp_path, "v.csv", text))
    assert v.ids == ("V1", "V2")
    warnings = v.meta["warnings"]
    assert isinstance(warnings, list) and "[3]" in warnings[0]


# --------------------------------------------------------------------------- bad rows

def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "B", "name": "坏村", "lon": FAKU[0], "lat": FAKU[1],
                               "population": 100}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


BAD_ROWS = [
    pytest.param(_row(lon=...), "lon", "missing", None, id="missing-lon"),
    pytest.param(_row(lat=""), "lat", "missing", None, id="blank-lat"),
    pytest.param(_row(lon="12O.5"), "lon", "not a number", None, id="non-numeric-lon"),
    pytest.param(_row(lat=[42]), "lat", "not a number", None, id="list-lat"),
    pytest.param(_row(lon="nan"), "lon", "finite", None, id="nan-lon"),
    pytest.param(_row(lat=float("inf")), "lat", "finite", None, id="inf-lat"),
    pytest.param(_row(lon=200.0), "lon", "[-180, 180]", None, id="lon-out-of-range"),
    pytest.param(_row(lat=-91), "lat", "[-90, 90]", None, id="lat-out-of-range"),
    pytest.param(_row(lon=FAKU[1], lat=FAKU[0]), "lat", "[-90, 90]",
                 "lon and lat look swapped", id="swapped"),
    pytest.param(_row(population=0), "population", "> 0", None, id="zero-population"),
    pytest.param(_row(population="-5"), "population", "> 0", None, id="negative-population"),
    pytest.param(_row(population=12.5), "population", "whole number", None,
                 id="fractional-population"),
    pytest.param(_row(population="nan"), "population", "finite", None, id="nan-population"),
    pytest.param(_row(population=1e30), "population", "implausibly large", None,
                 id="huge-population"),
    pytest.param(_row(population=None, tonnes_per_day=1e12), "tonnes_per_day",
                 "implausibly large", None, id="huge-tonnes"),
    pytest.param(_row(population=None, tonnes_per_day=0), "tonnes_per_day", "> 0", None,
                 id="zero-tonnes"),
    pytest.param(_row(population=None, tonnes_per_day=-0.2), "tonnes_per_day", "> 0", None,
                 id="negative-tonnes"),
    pytest.param(_row(population=None, tonnes_per_day="inf"), "tonnes_per_day", "finite",
                 None, id="inf-tonnes"),
    pytest.param(_row(population=...), "population", "tonnes_per_day", None,
                 id="missing-population-and-tonnes"),
    pytest.param(_row(county="999999"), "county", "unknown county adcode", None,
                 id="unknown-adcode"),
    pytest.param(_row(county="2101"), "county", "6-digit", None, id="malformed-adcode"),
    pytest.param(_row(county="210102"), "county", "outside county 210102", None,
                 id="point-outside-given-county"),
    pytest.param(_row(id=""), "id", "missing", None, id="missing-id"),
    pytest.param(_row(tourism="maybe"), "tourism", "boolean", None, id="bad-flag"),
    pytest.param(_row(lon=FAR_SEA[0], lat=FAR_SEA[1]), "lon/lat", "outside Liaoning", None,
                 id="far-outside-province"),
]


@pytest.mark.parametrize(("bad", "field", "fragment", "hint"), BAD_ROWS)
def test_bad_row_names_row_and_field(bad: dict[str, object], field: str, fragment: str,
                                     hint: str | None) -> None:
    """Each bad-row case raises ValidationError naming data row 3 and the field."""
    good = _good_rows()
    rows = [good[0], good[1], bad]
    with pytest.raises(ValidationError) as exc:
        villages_from_records(rows)
    err = exc.value
    assert err.row == 3
    assert err.field == field
    msg = str(err)
    assert msg.startswith("row 3: ") and f"{field}=" in msg
    assert fragment in msg
    if hint is not None:
        assert err.hint == hint and hint in msg


def test_duplicate_ids_name_both_rows() -> None:
    """A duplicate id names the first and the repeated row."""
    rows = [*_good_rows(), _row(id="V2")]
    with pytest.raises(ValidationError) as exc:
        villages_from_records(rows)
    assert exc.value.field == "id" and exc.value.row == 4
    assert "rows 2 and 4" in str(exc.value)


def test_empty_input_is_error() -> None:
    """No records at all is an error, not an empty table."""
    with pytest.raises(ValidationError, match="no villages"):
        villages_from_records([], source="data.villages")


def test_bad_rate_is_error() -> None:
    """A non-positive waste rate is rejected, naming the parameter."""
    with pytest.raises(ValidationError, match="waste_kg_per_person_per_day"):
        villages_from_records(_good_rows(), waste_kg_per_person_per_day=0.0)


def test_csv_error_names_row_field_and_line(tmp_path: Path) -> None:
    """A bad CSV row reports the data row, the field and the file line."""
    text = _csv_text([f"V1,甲村,{FAKU[0]},{FAKU[1]},800,,,,",
                      f"V2,乙村,abc,{FAKU[1]},800,,,,"])
    with pytest.raises(ValidationError) as exc:
        load_villages_file(_write(tmp_path, "v.csv", text, bom=True))
    assert exc.value.row == 2 and exc.value.field == "lon"
    assert "v.csv, line 3" in str(exc.value)


def test_csv_duplicate_ids(tmp_path: Path) -> None:
    """Duplicate ids in a CSV are rejected naming both data rows."""
    text = _csv_text([f"V1,a,{FAKU[0]},{FAKU[1]},8,,,,", f"V1,b,{FAKU[0]},{FAKU[1]},9,,,,"])
    with pytest.raises(ValidationError, match="rows 1 and 2"):
        load_villages_file(_write(tmp_path, "v.csv", text))


@pytest.mark.parametrize(("text", "fragment"), [
    pytest.param("", "empty file", id="empty-file"),
    pytest.param("id,name,lon,population\n", "lat", id="no-lat-column"),
    pytest.param("id,lon,lat\n", "population or tonnes_per_day", id="no-amount-column"),
    pytest.param("id;lon;lat;population\n", "comma-separated", id="semicolons"),
    pytest.param("id,lon,lat,lon,population\n", "duplicate column", id="duplicate-column"),
    pytest.param(f"id,lon,lat,population\na,{FAKU[0]},{FAKU[1]},5,extra\n", "fields",
                 id="too-many-fields"),
])
def test_csv_format_errors(tmp_path: Path, text: str, fragment: str) -> None:
    """Structural CSV problems raise DataFormatError with a line number."""
    with pytest.raises(DataFormatError, match=fragment) as exc:
        load_villages_file(_write(tmp_path, "v.csv", text))
    assert exc.value.line is not None


def test_csv_header_only_is_empty_error(tmp_path: Path) -> None:
    """A CSV with a header but no data rows is an error."""
    with pytest.raises(ValidationError, match="no villages"):
        load_villages_file(_write(tmp_path, "v.csv", HEADER + "\n"))


def test_not_utf8_and_unknown_type(tmp_path: Path) -> None:
    """Non-UTF-8 bytes, unknown extensions and missing files are DataFormatErrors."""
    p = tmp_path / "v.csv"
    p.write_bytes(("id,lon,lat,population\n甲," + "1,2,3\n").encode("gbk"))
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_villages_file(p)
    with pytest.raises(DataFormatError, match="file type"):
        load_villages_file(tmp_path / "v.xlsx")
    with pytest.raises(DataFormatError, match="cannot read"):
        load_villages_file(tmp_path / "missing.csv")


@pytest.mark.parametrize(("doc", "exc_type", "fragment"), [
    pytest.param("{not json", DataFormatError, "invalid JSON", id="bad-json"),
    pytest.param({"type": "Feature"}, DataFormatError, "FeatureCollection", id="not-collection"),
    pytest.param({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a", "population": 1},
         "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}]},
        ValidationError, "Point", id="not-point"),
    pytest.param({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a", "population": 1}, "geometry": None}]},
        ValidationError, "Point", id="null-geometry"),
    pytest.param({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a", "population": 1},
         "geometry": {"type": "Point", "coordinates": [None, 42.0]}}]},
        ValidationError, "lon", id="null-coordinate"),
    pytest.param({"type": "FeatureCollection", "features": []}, ValidationError,
                 "no villages", id="empty-collection"),
])
def test_geojson_errors(tmp_path: Path, doc: object, exc_type: type[Exception],
                        fragment: str) -> None:
    """Malformed GeoJSON and bad features are rejected with a naming message."""
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(exc_type, match=fragment) as exc:
        load_villages_file(_write(tmp_path, "v.geojson", text))
    if isinstance(exc.value, ValidationError) and "no villages" not in fragment:
        assert exc.value.row == 1


def test_generated_faku_villages_round_trip_through_csv(tmp_path: Path) -> None:
    """Generated Faku villages written as CSV load back in Faku with equal waste."""
    from wastenet.data.generator import GeneratorParams, generate

    gen, _ = generate(GeneratorParams(counties=("210124",)))
    lines = ["id,name,lon,lat,population"]
    lines += [f"{gen.ids[i]},{gen.names[i]},{float(gen.lon[i])!r},{float(gen.lat[i])!r},{gen.population[i]}"
              for i in range(len(gen))]
    v = load_villages_file(_write(tmp_path, "faku.csv", "\n".join(lines) + "\n"))
    assert len(v) == len(gen) > 100
    assert set(v.county) == {"210124"}
    assert v.meta["warnings"] == []
    assert np.array_equal(v.population, gen.population)
    assert np.allclose(v.waste_t_per_day, gen.waste_t_per_day)
    assert v.synthetic is False
