"""Route-plan exports, each read back with a real reader (csv, json, gpxpy, html.parser).

The plan is hand-made (no solver): two vehicles, four villages, one depot and two
transfer stations. Vehicle 小型车-1 collects 大孤家子村 and 小孤家子村, unloads at 大民屯转运站,
collects 三台子村, takes its break 11:30-12:30, unloads at 兴隆转运站 and returns; vehicle
压缩车-1 collects 前进村, unloads at 大民屯转运站 and returns.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from html.parser import HTMLParser
from pathlib import Path

import gpxpy
import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.geo.gcj02 import wgs84_to_gcj02
from wastenet.routing.data import Route, RoutePlan, RoutingData, VehicleType, Visit
from wastenet.routing.exports import (
    FILE_NAMES,
    hm,
    hms,
    plan_from_dict,
    plan_to_dict,
    write_all,
)

IDS = ("D1", "V1", "V2", "V3", "V4", "T1", "T2")
NAMES = ("新民市环卫车场", "大孤家子村", "小孤家子村", "三台子村", "前进村",
         "大民屯转运站", "兴隆转运站")
LON = (122.8280, 122.7512, 122.7033, 122.9145, 122.8807, 122.6921, 122.9702)
LAT = (41.9912, 42.0533, 42.0191, 42.1010, 41.9320, 41.9648, 42.0611)
M_PER_DEG = 111_320.0


def _matrices() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.array(LON), np.array(LAT)
    dx = (lon[:, None] - lon[None, :]) * M_PER_DEG * np.cos(np.radians(42.0))
    dy = (lat[:, None] - lat[None, :]) * M_PER_DEG
    dist = np.round(1.3 * np.hypot(dx, dy))
    return dist, np.round(dist / 10.0)


def make_data(names: tuple[str, ...] = NAMES, lon: tuple[float, ...] = LON,
              lat: tuple[float, ...] = LAT) -> RoutingData:
    dist, dur = _matrices()
    small = VehicleType(name="小型车", count=2, depot=0, capacity=(3.0,),
                        break_duration_s=3600.0, break_earliest_s=39_600.0,
                        break_latest_s=43_200.0)
    big = VehicleType(name="压缩车", count=1, depot=0, capacity=(8.0,))
    return RoutingData(
        ids=IDS, names=names, lon=np.array(lon), lat=np.array(lat),
        distance_m=dist, duration_s=dur, load_dims=("t",),
        depots=np.array([0]), depot_open_s=np.array([0.0]), depot_close_s=np.array([86_400.0]),
        stops=np.array([1, 2, 3, 4]), stop_demand=np.array([[1.2], [1.5], [2.0], [4.5]]),
        stop_service_s=np.array([600.0, 600.0, 900.0, 900.0]),
        stop_open_s=np.array([0.0, 28_800.0, 0.0, 0.0]),
        stop_close_s=np.array([86_400.0, 36_000.0, 86_400.0, 86_400.0]),
        stop_allowed=(None, None, None, None), stop_facility=np.array([0, 0, 1, -1]),
        facilities=np.array([5, 6]), facility_unload_s=np.array([900.0, 900.0]),
        facility_open_s=np.array([0.0, 0.0]), facility_close_s=np.array([86_400.0, 86_400.0]),
        facility_capacity=np.array([np.inf, np.inf]), vehicle_types=(small, big),
        name="新民市 test day", synthetic=True, seed=7, meta={"date": "2026-11-30"},
    )


def V(kind: str, index: int, location: int, arr: float, start: float, dep: float,
      load: float) -> Visit:
    return Visit(kind, index, location, arr, start, dep, (load,))


ROUTE_A = Route(
    vehicle_type=0, vehicle=0,
    visits=(
        V("depot", 0, 0, 25_200.0, 25_200.0, 25_200.0, 0.0),
        V("stop", 0, 1, 26_100.0, 26_100.0, 26_700.0, 1.2),
        V("stop", 1, 2, 27_330.4, 28_800.0, 29_400.0, 2.7),
        V("unload", 0, 5, 31_500.0, 31_500.0, 32_400.0, 0.0),
        V("stop", 2, 3, 34_200.0, 34_200.0, 35_100.0, 2.0),
        V("unload", 1, 6, 46_800.0, 46_800.0, 47_700.0, 0.0),
        V("depot", 0, 0, 49_500.0, 49_500.0, 49_500.0, 0.0),
    ),
    break_start_s=41_400.0, distance_m=61_000.0, duration_s=24_300.0, travel_s=6_100.0,
    load_total=(4.7,), tonne_km=95.5, cost_yuan=310.0,
)
ROUTE_B = Route(
    vehicle_type=1, vehicle=0,
    visits=(
        V("depot", 0, 0, 25_200.0, 25_200.0, 25_200.0, 0.0),
        V("stop", 3, 4, 27_000.0, 27_000.0, 27_900.0, 4.5),
        V("unload", 0, 5, 30_600.0, 30_600.0, 31_500.0, 0.0),
        V("depot", 0, 0, 33_300.0, 33_300.0, 33_300.0, 0.0),
    ),
    break_start_s=None, distance_m=30_000.0, duration_s=8_100.0, travel_s=3_000.0,
    load_total=(4.5,), tonne_km=60.25, cost_yuan=180.5,
)
PLAN = RoutePlan(
    routes=(ROUTE_A, ROUTE_B), unserved=(), vehicles=2, distance_m=91_000.0,
    travel_s=9_100.0, duration_s=32_400.0, tonne_km=155.75, cost_yuan=490.5,
    status="feasible", solver="hand", seed=3, elapsed_s=0.25, name="新民市 test day",
    synthetic=True, meta={"date": "2026-11-30"},
)
LABELS = ["小型车-1", "压缩车-1"]


@pytest.fixture(scope="module")
def data() -> RoutingData:
    return make_data()


@pytest.fixture(scope="module")
def wgs_dir(tmp_path_factory: pytest.TempPathFactory, data: RoutingData) -> dict[str, Path]:
    return write_all(data, PLAN, tmp_path_factory.mktemp("wgs"))


@pytest.fixture(scope="module")
def gcj_dir(tmp_path_factory: pytest.TempPathFactory, data: RoutingData) -> dict[str, Path]:
    return write_all(data, PLAN, tmp_path_factory.mktemp("gcj"), crs="gcj02")


#: first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(name: str) -> str:
    """What routes.csv holds for the free text ``name``: the text itself, with an
    apostrophe in front only when it starts like a formula (CSV-injection guard)."""
    return "'" + name if name.startswith(FORMULA_STARTS) else name


def _plan_rows() -> list[tuple[str, Visit]]:
    return [(LABELS[r], v) for r, route in enumerate(PLAN.routes) for v in route.visits]


# --------------------------------------------------------------------------------------


def test_time_formatting() -> None:
    """hms rounds to the nearest second, hm to the nearest minute; hours may pass 23."""
    assert hms(0) == "00:00:00"
    assert hms(27_330.4) == "07:35:30"
    assert hms(59.6) == "00:01:00"
    assert hms(25 * 3600 + 1) == "25:00:01"
    assert hms(math.nan) == ""
    assert hm(27_330.4) == "07:36"
    assert hm(41_400.0) == "11:30"


def test_write_all_writes_every_file(wgs_dir: dict[str, Path]) -> None:
    """write_all writes the five named files and returns their paths by key."""
    assert set(wgs_dir) == set(FILE_NAMES)
    for key, path in wgs_dir.items():
        assert path.name == FILE_NAMES[key]
        assert path.is_file() and path.stat().st_size > 0
    assert not list(wgs_dir["csv"].parent.glob("*.tmp"))


def test_csv_read_back(wgs_dir: dict[str, Path], data: RoutingData) -> None:
    """routes.csv has a BOM, one row per visit, and the plan's stops, times, coordinates."""
    raw = wgs_dir["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    expected = _plan_rows()
    assert len(rows) == len(expected) == 11
    for row, (label, v) in zip(rows, expected, strict=True):
        assert row["vehicle"] == label
        assert row["kind"] == v.kind
        assert row["id"] == csv_text(IDS[v.location])
        assert row["name"] == csv_text(NAMES[v.location])
        assert float(row["lon"]) == LON[v.location]
        assert float(row["lat"]) == LAT[v.location]
        assert float(row["arrival_s"]) == v.arrival_s
        assert float(row["start_s"]) == v.start_s
        assert float(row["departure_s"]) == v.departure_s
        assert row["arrival"] == hms(v.arrival_s)
        assert row["start"] == hms(v.start_s)
        assert row["departure"] == hms(v.departure_s)
        assert float(row["load_after_t"]) == v.load_after[0]
        assert (row["synthetic"], row["data_seed"], row["solver_seed"]) == ("true", "7", "3")
    assert [r["seq"] for r in rows] == [str(i) for i in range(7)] + [str(i) for i in range(4)]
    # hand-checked values
    v2 = rows[2]
    assert (v2["name"], v2["arrival"], v2["start"], v2["departure"]) == (
        "小孤家子村", "07:35:30", "08:00:00", "08:10:00")
    # every stop names the station its load goes to; unload rows name themselves
    unload_to = {r["name"]: r["unload_facility_name"] for r in rows if r["kind"] != "depot"}
    assert unload_to == {"大孤家子村": "大民屯转运站", "小孤家子村": "大民屯转运站",
                         "三台子村": "兴隆转运站", "兴隆转运站": "兴隆转运站",
                         "大民屯转运站": "大民屯转运站", "前进村": "大民屯转运站"}
    assert [r["trip"] for r in rows[:7]] == ["", "1", "1", "1", "2", "2", ""]
    # the break of 小型车-1 is noted on the row of 兴隆转运站, the visit it precedes
    breaks = [(r["name"], r["break_before_start"], r["break_before_end"]) for r in rows
              if r["break_before_start"]]
    assert breaks == [("兴隆转运站", "11:30:00", "12:30:00")]


def test_csv_provenance_on_every_row_for_real_data() -> None:
    """routes.csv states on every row whether the data is synthetic and its seed: real
    (user) data without a seed gives ``false`` and an empty ``data_seed``."""
    from wastenet.routing.exports import routes_csv

    real = dataclasses.replace(make_data(), synthetic=False, seed=None)
    plan = dataclasses.replace(PLAN, synthetic=False, seed=5)
    rows = list(csv.DictReader(io.StringIO(routes_csv(real, plan).decode("utf-8-sig"))))
    assert len(rows) == 11
    assert {(r["synthetic"], r["data_seed"], r["solver_seed"]) for r in rows} == {
        ("false", "", "5")}
    synth = dataclasses.replace(make_data(), seed=42)
    rows = list(csv.DictReader(io.StringIO(routes_csv(synth, plan).decode("utf-8-sig"))))
    assert {(r["synthetic"], r["data_seed"]) for r in rows} == {("true", "42")}


def test_json_read_back_and_round_trip(wgs_dir: dict[str, Path]) -> None:
    """plan.json is strict JSON with the plan's visits, and plan_from_dict rebuilds the plan."""
    text = wgs_dir["json"].read_text(encoding="utf-8")
    d = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert d["crs"] == "wgs84"
    assert d["synthetic"] is True and d["data"]["seed"] == 7 and d["seed"] == 3
    assert d["vehicles"] == 2 and d["travel_time_s"] == PLAN.travel_s
    got = [(r["label"], v) for r in d["routes"] for v in r["visits"]]
    for (label, vd), (exp_label, v) in zip(got, _plan_rows(), strict=True):
        assert label == exp_label
        assert (vd["id"], vd["name"], vd["kind"]) == (IDS[v.location], NAMES[v.location], v.kind)
        assert (vd["lon"], vd["lat"]) == (LON[v.location], LAT[v.location])
        assert (vd["arrival_s"], vd["start_s"], vd["departure_s"]) == (
            v.arrival_s, v.start_s, v.departure_s)
        assert vd["load_after"] == list(v.load_after)
    assert d["routes"][0]["lunch_start_s"] == 41_400.0
    assert d["routes"][0]["break_end_s"] == 45_000.0
    assert d["routes"][1]["lunch_start_s"] is None
    assert plan_from_dict(d) == PLAN


def test_plan_from_dict_names_bad_field(data: RoutingData) -> None:
    """plan_from_dict reports the first missing or mistyped field by its path."""
    d = plan_to_dict(data, PLAN)
    del d["routes"][0]["visits"][2]["start_s"]
    with pytest.raises(ValidationError, match=r"routes\[0\]\.visits\[2\]\.start_s"):
        plan_from_dict(d)
    d = plan_to_dict(data, PLAN)
    d["routes"][1]["visits"][1]["kind"] = "lunch"
    with pytest.raises(ValidationError, match=r"routes\[1\]\.visits\[1\]\.kind='lunch'"):
        plan_from_dict(d)
    d = plan_to_dict(data, PLAN)
    d["vehicles"] = "two"
    with pytest.raises(ValidationError, match="vehicles='two'"):
        plan_from_dict(d)


def test_geojson_read_back(wgs_dir: dict[str, Path]) -> None:
    """routes.geojson has one LineString per trip and per return leg, and one Point per
    stop, at the plan's places; the return legs are ``feature_type="return"`` without a
    trip number."""
    fc = json.loads(wgs_dir["geojson"].read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and fc["crs_name"] == "wgs84"
    trips = [f for f in fc["features"] if f["properties"]["feature_type"] == "trip"]
    returns = [f for f in fc["features"] if f["properties"]["feature_type"] == "return"]
    stops = [f for f in fc["features"] if f["properties"]["feature_type"] == "stop"]
    # A: depot->V1->V2->T1, T1->V3->T2, return T2->depot; B: depot->V4->T1, return T1->depot
    assert [(t["properties"]["vehicle"], t["properties"]["trip"]) for t in trips] == [
        ("小型车-1", 1), ("小型车-1", 2), ("压缩车-1", 1)]
    assert [(t["properties"]["vehicle"], t["properties"]["trip"]) for t in returns] == [
        ("小型车-1", None), ("压缩车-1", None)]
    assert [t["geometry"]["coordinates"] for t in returns] == [
        [[LON[6], LAT[6]], [LON[0], LAT[0]]], [[LON[5], LAT[5]], [LON[0], LAT[0]]]]
    legs = [[0, 1, 2, 5], [5, 3, 6], [0, 4, 5]]
    for t, locs in zip(trips, legs, strict=True):
        assert t["geometry"]["type"] == "LineString"
        assert t["geometry"]["coordinates"] == [[LON[i], LAT[i]] for i in locs]
    assert trips[0]["properties"]["load"] == [2.7]
    assert trips[0]["properties"]["stop_ids"] == ["V1", "V2"]
    assert trips[1]["properties"]["to_name"] == "兴隆转运站"
    plan_stops = [(LABELS[r], v) for r, route in enumerate(PLAN.routes)
                  for v in route.visits if v.kind == "stop"]
    assert len(stops) == len(plan_stops) == 4
    for f, (label, v) in zip(stops, plan_stops, strict=True):
        p = f["properties"]
        assert f["geometry"] == {"type": "Point",
                                 "coordinates": [LON[v.location], LAT[v.location]]}
        assert (p["vehicle"], p["name"], p["id"]) == (label, NAMES[v.location], IDS[v.location])
        assert (p["arrival_s"], p["start_s"], p["departure_s"]) == (
            v.arrival_s, v.start_s, v.departure_s)
        assert p["arrival"] == hms(v.arrival_s)
    others = {f["properties"]["name"]: f["properties"]["feature_type"] for f in fc["features"]
              if f["properties"]["feature_type"] in ("depot", "facility")}
    assert others == {"新民市环卫车场": "depot", "大民屯转运站": "facility",
                      "兴隆转运站": "facility"}


def test_gpx_read_back_with_gpxpy(wgs_dir: dict[str, Path]) -> None:
    """routes.gpx parses with gpxpy: one route per vehicle, points and names as planned."""
    with wgs_dir["gpx"].open(encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    assert [r.name for r in gpx.routes] == LABELS
    for rte, route in zip(gpx.routes, PLAN.routes, strict=True):
        assert len(rte.points) == len(route.visits)
        for pt, v in zip(rte.points, route.visits, strict=True):
            assert pt.name == NAMES[v.location]
            assert (pt.longitude, pt.latitude) == (LON[v.location], LAT[v.location])
            assert pt.type == v.kind
            assert hms(v.start_s) in (pt.comment or "")
    assert "break 11:30:00-12:30:00" in (gpx.routes[0].description or "")


class SheetParser(HTMLParser):
    """Collects sheets, their visit rows (data attributes, <time> values, names), break rows,
    and every external reference (src/href) of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.sheets: list[dict] = []
        self.row: dict | None = None
        self.cell: str | None = None
        self.external: list[str] = []
        self.style = ""
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(str(a[key]))
        if tag == "style":
            self.in_style = True
        if tag == "section" and "sheet" in classes:
            self.sheets.append({"vehicle": a["data-vehicle"], "rows": []})
        elif tag == "tr" and ("visit" in classes or "break" in classes):
            self.row = {"class": classes[0], "attrs": a, "times": {}, "name": ""}
            self.sheets[-1]["rows"].append(self.row)
        elif tag == "td" and self.row is not None:
            self.cell = classes[-1] if classes else None
        elif tag == "time" and self.row is not None:
            key = (str(self.cell) if self.row["class"] == "visit"
                   else f"b{len(self.row['times'])}")
            self.row["times"][key] = a["datetime"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        elif tag == "td":
            self.cell = None
        elif tag == "style":
            self.in_style = False

    def handle_data(self, text: str) -> None:
        if self.in_style:
            self.style += text
        if self.row is not None and self.cell == "name":
            self.row["name"] += text


def test_html_sheets_read_back(wgs_dir: dict[str, Path]) -> None:
    """sheets.html: one page per vehicle with print page breaks, visits in order with their
    names and times, the break at its time, and no external resources."""
    text = wgs_dir["html"].read_text(encoding="utf-8")
    p = SheetParser()
    p.feed(text)
    p.close()
    assert [s["vehicle"] for s in p.sheets] == LABELS
    assert "break-after: page" in p.style and "page-break-after: always" in p.style
    assert p.external == []
    for sheet, route in zip(p.sheets, PLAN.routes, strict=True):
        visits = [r for r in sheet["rows"] if r["class"] == "visit"]
        assert [r["name"] for r in visits] == [NAMES[v.location] for v in route.visits]
        assert [r["attrs"]["data-kind"] for r in visits] == [v.kind for v in route.visits]
        assert [int(r["attrs"]["data-seq"]) for r in visits] == list(range(len(route.visits)))
        for r, v in zip(visits, route.visits, strict=True):
            assert r["times"]["start"] == hms(v.start_s)
            if "arrival" in r["times"]:
                assert r["times"]["arrival"] == hms(v.arrival_s)
            if "departure" in r["times"]:
                assert r["times"]["departure"] == hms(v.departure_s)
    # the break of 小型车-1 sits between 三台子村 and 兴隆转运站 with its times
    rows_a = p.sheets[0]["rows"]
    kinds = [r["attrs"].get("data-id", "BREAK") if r["class"] == "visit" else "BREAK"
             for r in rows_a]
    assert kinds == ["D1", "V1", "V2", "T1", "V3", "BREAK", "T2", "D1"]
    brk = rows_a[5]
    assert (brk["attrs"]["data-start"], brk["attrs"]["data-end"]) == ("11:30:00", "12:30:00")
    assert all(r["class"] == "visit" for r in p.sheets[1]["rows"])
    assert "卸下 2.70 t" in text and "卸往 兴隆转运站" in text and "合成" in text


def test_html_escapes_names() -> None:
    """Names with markup characters are escaped in the sheets and survive the parser."""
    names = ("车场", "李<b>家</b>&屯", "小孤家子村", "三台子村", "前进村", "站1", "站2")
    d = make_data(names=names)
    from wastenet.routing.exports import driver_sheets_html

    text = driver_sheets_html(d, PLAN)
    assert "<b>家" not in text and "李&lt;b&gt;家&lt;/b&gt;&amp;屯" in text
    p = SheetParser()
    p.feed(text)
    assert p.sheets[0]["rows"][1]["name"] == "李<b>家</b>&屯"


def test_gcj02_export_shifts_every_coordinate(gcj_dir: dict[str, Path],
                                              data: RoutingData) -> None:
    """With crs='gcj02' every exported coordinate is the GCJ-02 conversion of the WGS-84 one
    (rounded to 6 decimals in every format), a shift of a few hundred metres north-east in
    Liaoning; the CSV says so in its ``crs`` column."""
    glon, glat = wgs84_to_gcj02(np.array(LON), np.array(LAT))
    shift = np.hypot((glon - np.array(LON)) * M_PER_DEG * np.cos(np.radians(42.0)),
                     (glat - np.array(LAT)) * M_PER_DEG)
    assert np.all((shift > 200.0) & (shift < 900.0))
    glon = np.array([round(float(x), 6) for x in glon])
    glat = np.array([round(float(y), 6) for y in glat])
    rows = list(csv.DictReader(io.StringIO(gcj_dir["csv"].read_text(encoding="utf-8-sig"))))
    assert {r["crs"] for r in rows} == {"gcj02"}
    for row, (_, v) in zip(rows, _plan_rows(), strict=True):
        assert (float(row["lon"]), float(row["lat"])) == (glon[v.location], glat[v.location])
    d = json.loads(gcj_dir["json"].read_text(encoding="utf-8"))
    assert d["crs"] == "gcj02"
    vd = d["routes"][0]["visits"][1]
    assert (vd["lon"], vd["lat"]) == (glon[1], glat[1])
    fc = json.loads(gcj_dir["geojson"].read_text(encoding="utf-8"))
    assert fc["crs_name"] == "gcj02"
    for f in fc["features"]:
        geom = f["geometry"]
        coords = geom["coordinates"] if geom["type"] == "LineString" else [geom["coordinates"]]
        for x, y in coords:
            i = int(np.flatnonzero(glon == x)[0])
            assert y == glat[i]
    with gcj_dir["gpx"].open(encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    pt = gpx.routes[1].points[1]
    assert (pt.longitude, pt.latitude) == (glon[4], glat[4])
    # the plan itself is unchanged by the export
    assert plan_from_dict(d) == PLAN


def test_invalid_crs_rejected(data: RoutingData, tmp_path: Path) -> None:
    """An unknown crs is a ValidationError naming the field and value; nothing is written."""
    with pytest.raises(ValidationError, match="crs='bd09'"):
        write_all(data, PLAN, tmp_path / "out", crs="bd09")
    assert not (tmp_path / "out").exists()


def test_empty_plan(tmp_path: Path) -> None:
    """A plan without routes still exports: no visit rows or route features, only the
    unserved stops (CSV rows and GeoJSON points of kind ``unserved``), a note and the
    not-collected list with the synthetic-data banner in the sheets."""
    empty = dataclasses.replace(PLAN, routes=(), unserved=(0, 1, 2, 3), vehicles=0)
    paths = write_all(make_data(), empty, tmp_path)
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8-sig"))))
    assert [(r["kind"], r["name"]) for r in rows] == [("unserved", n) for n in NAMES[1:5]]
    features = json.loads(paths["geojson"].read_text(encoding="utf-8"))["features"]
    assert [(f["properties"]["feature_type"], f["properties"]["name"]) for f in features] == [
        ("unserved", n) for n in NAMES[1:5]]
    with paths["gpx"].open(encoding="utf-8") as fh:
        assert gpxpy.parse(fh).routes == []
    text = paths["html"].read_text(encoding="utf-8")
    assert "没有路线" in text and "未收运 / not collected" in text and "合成" in text
    d = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert [u["name"] for u in d["unserved_stops"]] == list(NAMES[1:5])
    assert plan_from_dict(d) == empty


def test_unknown_coordinates(tmp_path: Path) -> None:
    """Locations without coordinates (NaN) give empty CSV cells, null JSON/GeoJSON values and
    are left out of the GPX, without failing."""
    lon = (math.nan, *LON[1:])
    lat = (math.nan, *LAT[1:])
    d = make_data(lon=lon, lat=lat)
    d = dataclasses.replace(d, synthetic=False)
    paths = write_all(d, PLAN, tmp_path)
    rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8-sig"))))
    assert rows[0]["lon"] == "" and rows[0]["lat"] == "" and rows[1]["lon"] == repr(LON[1])
    j = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert j["routes"][0]["visits"][0]["lon"] is None
    fc = json.loads(paths["geojson"].read_text(encoding="utf-8"))
    depot = [f for f in fc["features"] if f["properties"]["feature_type"] == "depot"]
    assert depot[0]["geometry"] is None
    back = next(f for f in fc["features"] if f["properties"]["feature_type"] == "return")
    assert back["geometry"] is None  # T2 -> depot has only one known point
    with paths["gpx"].open(encoding="utf-8") as fh:
        gpx = gpxpy.parse(fh)
    assert [p.name for p in gpx.routes[1].points] == ["前进村", "大民屯转运站"]


def test_csv_neutralises_formula_like_text() -> None:
    """Names and ids that a spreadsheet would run as formulas (=HYPERLINK(...), +, -, @)
    get a leading apostrophe in routes.csv, in the name, id and unload-facility columns;
    other names are unchanged and numeric columns (a negative longitude) are left
    alone. The other exports keep the names verbatim."""
    from wastenet.routing.exports import plan_to_dict, routes_csv

    evil = '=HYPERLINK("http://evil.example/","点我")'
    names = ("新民市环卫车场", evil, "@SUM(A1)", "三台子村", "前进村", "+大民屯转运站",
             "兴隆转运站")
    d = dataclasses.replace(make_data(names=names, lon=(-122.828, *LON[1:])),
                            ids=("D1", "-V1", "V2", "V3", "V4", "T1", "T2"))
    rows = list(csv.DictReader(io.StringIO(routes_csv(d, PLAN).decode("utf-8-sig"))))
    by_seq = {(r["vehicle"], r["seq"]): r for r in rows}
    v1 = by_seq[("小型车-1", "1")]
    assert v1["name"] == "'" + evil and v1["id"] == "'-V1"
    assert v1["unload_facility_name"] == "'+大民屯转运站"
    assert by_seq[("小型车-1", "2")]["name"] == "'@SUM(A1)"
    assert by_seq[("小型车-1", "4")]["name"] == "三台子村"
    assert by_seq[("小型车-1", "0")]["lon"] == "-122.828"  # numeric: no apostrophe
    for r, (_, v) in zip(rows, _plan_rows(), strict=True):
        assert r["name"] == csv_text(names[v.location])
        assert float(r["arrival_s"]) == v.arrival_s
    # JSON keeps the names as they are (a program reads it, not a spreadsheet)
    assert plan_to_dict(d, PLAN)["routes"][0]["visits"][1]["name"] == evil


def _shift_data(windows: dict[int, tuple[float, float]]) -> RoutingData:
    """The test data with both vehicle types working 06:00-18:00 and every stop window
    06:00-18:00 except those in ``windows`` (stop index -> (open, close))."""
    d = make_data()
    vts = tuple(dataclasses.replace(vt, shift_start_s=21_600.0, shift_end_s=64_800.0)
                for vt in d.vehicle_types)
    op = np.full(d.n_stops, 21_600.0)
    cl = np.full(d.n_stops, 64_800.0)
    for s, (a, b) in windows.items():
        op[s], cl[s] = a, b
    return dataclasses.replace(d, vehicle_types=vts, stop_open_s=op, stop_close_s=cl)


def test_sheets_show_only_windows_narrower_than_the_shift() -> None:
    """A stop whose window is the vehicle's whole working day (06:00-18:00) shows no time
    window on the driver sheet; a narrower window (08:00-10:00) is shown."""
    from wastenet.routing.exports import driver_sheets_html

    text = driver_sheets_html(_shift_data({}), PLAN)
    assert "时间窗" not in text
    text = driver_sheets_html(_shift_data({1: (28_800.0, 36_000.0)}), PLAN)
    assert text.count("时间窗") == 1 and "时间窗 08:00–10:00" in text


def test_sheets_print_style_is_compact_with_page_breaks() -> None:
    """The print style keeps one page per vehicle (page breaks) and uses small print and
    tight rows, so that about 30 stops fit one A4 page (layout not checked here)."""
    from wastenet.routing.exports import driver_sheets_html

    text = driver_sheets_html(make_data(), PLAN)
    style = text[text.index("<style>"):text.index("</style>")]
    assert "break-after: page" in style and "page-break-after: always" in style
    pr = style[style.index("@media print"):]
    assert "size: A4" in style and "font-size: 9pt" in pr
    assert "table.stops td, .compact table.stops td { padding: 1px 3px;" in pr


def test_write_all_failure_keeps_earlier_files_and_leaves_no_temp(
        tmp_path: Path, data: RoutingData, monkeypatch: pytest.MonkeyPatch) -> None:
    """When a rename fails (a full disk), write_all raises the OSError as it is, every
    file of an earlier export keeps its content, and no ``.tmp`` file is left."""
    import os

    out = tmp_path / "exports"
    first = write_all(data, PLAN, out)
    before = {key: path.read_bytes() for key, path in first.items()}

    def fail(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        write_all(data, PLAN, out, crs="gcj02")
    assert {key: path.read_bytes() for key, path in first.items()} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILE_NAMES.values())


def test_write_all_writes_the_rendered_bytes(tmp_path: Path, data: RoutingData) -> None:
    """Each file holds exactly the bytes render_all gives for its key (the UTF-8 BOM of
    routes.csv included, no newline translation)."""
    from wastenet.routing.exports import render_all

    paths = write_all(data, PLAN, tmp_path)
    blobs = render_all(data, PLAN)
    assert {key: path.read_bytes() for key, path in paths.items()} == blobs
    assert paths["csv"].read_bytes().startswith(b"\xef\xbb\xbf")
