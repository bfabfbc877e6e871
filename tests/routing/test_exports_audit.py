"""Regression tests of the route-export audit: unique vehicle labels when vehicle type
names repeat, names with characters XML forbids, unserved stops in every export, the
synthetic-data banner of an empty plan, one trip count across formats, coordinates
rounded to 6 decimals and the CSV's ``crs`` column.

They reuse the hand-made plan of ``test_exports.py`` (two vehicles, four villages, one
depot and two transfer stations).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
from test_exports import IDS, LAT, LON, NAMES, PLAN, ROUTE_A, ROUTE_B, V, make_data

from wastenet.routing.data import Route, RoutePlan, RoutingData
from wastenet.routing.exports import driver_sheets_html, plan_to_dict, render_all, routes_gpx

GPX = "{http://www.topografix.com/GPX/1/1}"


def _csv_rows(blob: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(blob.decode("utf-8-sig"))))


class _Sections(HTMLParser):
    """The ``<section>`` elements of sheets.html (their class and attributes), the
    ``data-vehicle`` of every vehicle sheet and the cells of the not-collected rows."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, dict[str, str | None]]] = []
        self.vehicles: list[str] = []
        self.unserved: list[dict[str, str]] = []
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section":
            self.sections.append((classes[0], a))
            if "sheet" in classes:
                self.vehicles.append(str(a["data-vehicle"]))
        elif tag == "tr" and "unserved-stop" in classes:
            self.unserved.append({"data-id": str(a["data-id"])})
        elif tag == "td" and self.unserved and self._cell is None:
            self._cell = classes[0] if classes else ""
            self.unserved[-1][self._cell] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "tr"):
            self._cell = None

    def handle_data(self, text: str) -> None:
        if self._cell is not None and self.unserved:
            self.unserved[-1][self._cell] += text


def _labels_everywhere(data: RoutingData, plan: RoutePlan) -> dict[str, list[str]]:
    """The vehicle label of each route as every export writes it."""
    blobs = render_all(data, plan)
    rows = _csv_rows(blobs["csv"])
    csv_labels = list(dict.fromkeys(r["vehicle"] for r in rows if r["kind"] != "unserved"))
    fc = json.loads(blobs["geojson"])
    geo = list(dict.fromkeys(f["properties"]["vehicle"] for f in fc["features"]
                             if f["properties"]["feature_type"] == "stop"))
    gpx = [name.text or "" for rte in ET.fromstring(blobs["gpx"]).iter(f"{GPX}rte")
           if (name := rte.find(f"{GPX}name")) is not None]
    sheets = _Sections()
    sheets.feed(blobs["html"].decode("utf-8"))
    return {"csv": csv_labels, "geojson": geo, "gpx": gpx, "html": sheets.vehicles,
            "json": [r["label"] for r in plan_to_dict(data, plan)["routes"]]}


def test_duplicate_vehicle_type_names_give_unique_labels() -> None:
    """Two vehicle types both named 垃圾车 (8 t and 2 t), built directly as RoutingData
    (the schema would refuse them): the vehicle of each gets its own label in the CSV,
    GeoJSON, GPX, the sheets and plan.json, with the type number in it; the vehicle type
    column keeps the name as given. A third type named like a fallback label
    (垃圾车#2) still leaves every label unique."""
    d = make_data()
    big, small = (dataclasses.replace(vt, name="垃圾车") for vt in
                  (d.vehicle_types[1], d.vehicle_types[0]))
    data = dataclasses.replace(d, vehicle_types=(small, big))
    labels = _labels_everywhere(data, PLAN)
    assert labels["csv"] == ["垃圾车#1-1", "垃圾车#2-1"]
    for key, got in labels.items():
        assert got == labels["csv"], key
    rows = _csv_rows(render_all(data, PLAN)["csv"])
    assert {r["vehicle_type"] for r in rows} == {"垃圾车"}

    tricky = dataclasses.replace(small, name="垃圾车#2")
    data3 = dataclasses.replace(d, vehicle_types=(small, big, tricky))
    route_c = dataclasses.replace(ROUTE_B, vehicle_type=2)
    plan3 = dataclasses.replace(PLAN, routes=(ROUTE_A, ROUTE_B, route_c), vehicles=3)
    labels3 = _labels_everywhere(data3, plan3)
    assert len(set(labels3["csv"])) == 3, labels3
    for key, got in labels3.items():
        assert got == labels3["csv"], key


def test_forbidden_xml_characters_in_names_give_parseable_gpx_and_sheets() -> None:
    """A vehicle type named "压缩车\\u000B8吨" and a facility named "大民屯\\x0b转运站" (and a
    village with a lone surrogate) still give a routes.gpx that xml.etree.ElementTree
    parses, with U+FFFD in place of each forbidden character, and a sheets.html that
    encodes as UTF-8 without them. (The CSV and JSON exports write the same U+FFFD since
    the fourteenth session: tests/routing/test_exports_audit14.py.)"""
    names = list(NAMES)
    names[5] = "大民屯\x0b转运站"
    names[3] = "三台\ud800子村"
    d = make_data(names=tuple(names))
    vts = (d.vehicle_types[0], dataclasses.replace(d.vehicle_types[1], name="压缩车\u000b8吨"))
    data = dataclasses.replace(d, vehicle_types=vts)
    plan = dataclasses.replace(PLAN, name="新民市\x01 day")
    root = ET.fromstring(routes_gpx(data, plan))
    rte_names = [name.text for rte in root.iter(f"{GPX}rte")
                 if (name := rte.find(f"{GPX}name")) is not None]
    assert rte_names == ["小型车-1", "压缩车\ufffd8吨-1"]
    types = [el.text for el in root.iter(f"{GPX}type") if el.text not in (
        "depot", "stop", "unload")]
    assert types == ["小型车", "压缩车\ufffd8吨"]
    pts = {el.text for el in root.iter(f"{GPX}name")}
    assert {"大民屯\ufffd转运站", "三台\ufffd子村", "新民市\ufffd day"} <= pts
    text = driver_sheets_html(data, plan).encode("utf-8").decode("utf-8")
    assert "\x0b" not in text and "\x01" not in text
    assert "大民屯\ufffd转运站" in text and "压缩车\ufffd8吨" in text


def _plan_with_unserved() -> RoutePlan:
    """PLAN without vehicle 压缩车-1: its only stop, 前进村 (stop 3, V4, 4.5 t), unserved."""
    return dataclasses.replace(PLAN, routes=(ROUTE_A,), unserved=(3,), vehicles=1)


def test_unserved_stops_appear_in_csv_geojson_and_sheets() -> None:
    """An unserved stop is a CSV row of kind ``unserved`` after the visits (id, name,
    coordinates and its load, no vehicle or times), a GeoJSON Point of feature_type
    ``unserved`` with the stop-point properties, and a row of the "未收运 / not
    collected" page of the sheets (name, id, load), which carries the synthetic banner."""
    data = make_data()
    blobs = render_all(data, _plan_with_unserved())
    rows = _csv_rows(blobs["csv"])
    assert [r["kind"] for r in rows] == [v.kind for v in ROUTE_A.visits] + ["unserved"]
    last = rows[-1]
    assert (last["id"], last["name"], last["load_after_t"]) == ("V4", "前进村", "4.5")
    assert (float(last["lon"]), float(last["lat"])) == (LON[4], LAT[4])
    for key in ("vehicle", "vehicle_type", "vehicle_no", "seq", "arrival", "arrival_s",
                "start", "departure", "trip", "unload_facility_id"):
        assert last[key] == "", key
    assert (last["synthetic"], last["crs"]) == ("true", "wgs84")

    fc = json.loads(blobs["geojson"])
    stop_keys = set(next(f["properties"] for f in fc["features"]
                         if f["properties"]["feature_type"] == "stop"))
    unserved = [f for f in fc["features"] if f["properties"]["feature_type"] == "unserved"]
    assert len(unserved) == 1
    p = unserved[0]["properties"]
    assert stop_keys <= set(p)
    assert unserved[0]["geometry"] == {"type": "Point", "coordinates": [LON[4], LAT[4]]}
    assert (p["id"], p["name"], p["index"], p["load"], p["load_dims"]) == (
        "V4", "前进村", 3, [4.5], ["t"])
    assert p["vehicle"] is None and p["trip"] is None and p["arrival_s"] is None

    html_text = blobs["html"].decode("utf-8")
    sheets = _Sections()
    sheets.feed(html_text)
    assert [c for c, _ in sheets.sections] == ["sheet", "unserved"]
    assert sheets.vehicles == ["小型车-1"]
    assert sheets.unserved == [{"data-id": "V4", "seq": "1", "name": "前进村", "id": "V4",
                                "load": "4.50 t"}]
    section = html_text[html_text.index('<section class="unserved"'):]
    assert "未收运 / not collected" in section and "合成" in section


def test_empty_plan_sheet_keeps_the_synthetic_banner() -> None:
    """The sheets of a plan without routes on synthetic data carry the synthetic-data
    banner ("合成"), with or without unserved stops; on real data there is none."""
    data = make_data()
    empty = dataclasses.replace(PLAN, routes=(), unserved=(), vehicles=0)
    text = render_all(data, empty)["html"].decode("utf-8")
    assert "没有路线" in text and "合成" in text and 'class="synthetic"' in text
    text = render_all(data, dataclasses.replace(empty, unserved=(0, 2)))["html"].decode()
    assert "合成" in text and "未收运 / not collected" in text
    real = dataclasses.replace(data, synthetic=False)
    text = render_all(real, dataclasses.replace(empty, synthetic=False))["html"].decode()
    assert "没有路线" in text and "合成" not in text


def _trip_counts(data: RoutingData, plan: RoutePlan) -> dict[str, list[int]]:
    """Trips per route as each format states them."""
    blobs = render_all(data, plan)
    labels = [r["label"] for r in plan_to_dict(data, plan)["routes"]]
    rows = _csv_rows(blobs["csv"])
    csv_n = [max((int(r["trip"]) for r in rows if r["vehicle"] == lab and r["trip"]),
                 default=0) for lab in labels]
    fc = json.loads(blobs["geojson"])
    geo_n = [sum(1 for f in fc["features"] if f["properties"]["feature_type"] == "trip"
                 and f["properties"]["vehicle"] == lab) for lab in labels]
    geo_max = [max((f["properties"]["trip"] for f in fc["features"]
                    if f["properties"].get("vehicle") == lab
                    and f["properties"].get("trip") is not None), default=0)
               for lab in labels]
    gpx_n = []
    for rte in ET.fromstring(blobs["gpx"]).iter(f"{GPX}rte"):
        desc = rte.find(f"{GPX}desc")
        m = re.search(r"(\d+) trips", desc.text or "" if desc is not None else "")
        assert m is not None
        gpx_n.append(int(m.group(1)))
    json_n = [max((v["trip"] or 0 for v in r["visits"]), default=0)
              for r in plan_to_dict(data, plan)["routes"]]
    return {"csv": csv_n, "geojson": geo_n, "geojson_max": geo_max, "gpx": gpx_n,
            "json": json_n}


def test_trip_count_is_the_same_in_every_format() -> None:
    """Vehicle 小型车-1 makes 2 trips (each ending in an unload) and 压缩车-1 makes 1;
    the empty drive back to the depot is no trip: the GPX description, the GeoJSON trip
    features, the CSV and plan.json trip numbers all say 2 and 1. A trip of stops with
    nothing to unload that returns to the depot directly is still one trip everywhere."""
    counts = _trip_counts(make_data(), PLAN)
    for key, got in counts.items():
        assert got == [2, 1], key

    d = make_data()
    demand = np.array(d.stop_demand)
    demand[0] = 0.0
    zero = dataclasses.replace(d, stop_demand=demand)
    inspect = Route(
        vehicle_type=0, vehicle=1,
        visits=(V("depot", 0, 0, 25_200.0, 25_200.0, 25_200.0, 0.0),
                V("stop", 0, 1, 26_100.0, 26_100.0, 26_700.0, 0.0),
                V("depot", 0, 0, 27_600.0, 27_600.0, 27_600.0, 0.0)),
        break_start_s=None, distance_m=20_000.0, duration_s=2_400.0, travel_s=1_800.0,
        load_total=(0.0,), tonne_km=0.0, cost_yuan=50.0)
    plan = dataclasses.replace(PLAN, routes=(ROUTE_B, inspect), vehicles=2)
    counts = _trip_counts(zero, plan)
    assert counts["csv"] == [1, 1]
    for key, got in counts.items():
        assert got == [1, 1], key


def test_coordinates_have_six_decimals_and_agree_across_formats() -> None:
    """Coordinates with 17 significant digits are written with at most 6 decimals in the
    CSV, GeoJSON and GPX (and plan.json), and every format gives the same numbers."""
    lon = tuple(x + 0.000_001_234_567_891_23 for x in LON)
    lat = tuple(y - 0.000_000_987_654_321_09 for y in LAT)
    data = make_data(lon=lon, lat=lat)
    blobs = render_all(data, PLAN)
    expect = {(round(x, 6), round(y, 6)) for x, y in zip(lon, lat, strict=True)}
    dec = re.compile(r"\d+\.(\d+)")

    rows = _csv_rows(blobs["csv"])
    csv_pts = {(float(r["lon"]), float(r["lat"])) for r in rows}
    for r in rows:
        for key in ("lon", "lat"):
            m = dec.fullmatch(r[key])
            assert m is not None and len(m.group(1)) <= 6, r[key]
    fc = json.loads(blobs["geojson"])
    geo_pts: set[tuple[float, float]] = set()
    for f in fc["features"]:
        g = f["geometry"]
        for x, y in (g["coordinates"] if g["type"] == "LineString" else [g["coordinates"]]):
            geo_pts.add((x, y))
    for num in re.findall(r"-?\d+\.\d+", json.dumps([f["geometry"] for f in fc["features"]])):
        assert len(num.split(".")[1]) <= 6, num
    gpx_pts = set()
    for pt in ET.fromstring(blobs["gpx"]).iter(f"{GPX}rtept"):
        for key in ("lon", "lat"):
            assert len(pt.attrib[key].split(".")[1]) <= 6, pt.attrib[key]
        gpx_pts.add((float(pt.attrib["lon"]), float(pt.attrib["lat"])))
    d = plan_to_dict(data, PLAN)
    json_pts = {(v["lon"], v["lat"]) for r in d["routes"] for v in r["visits"]}
    assert len(expect) == len(IDS)  # the plan visits every location
    assert csv_pts == geo_pts == gpx_pts == json_pts == expect


def test_csv_names_its_datum_in_a_last_crs_column() -> None:
    """routes.csv ends with a ``crs`` column: ``wgs84`` by default, ``gcj02`` when asked,
    on every row."""
    data = make_data()
    for crs in ("wgs84", "gcj02"):
        text = render_all(data, PLAN, crs)["csv"].decode("utf-8-sig")
        header = text.splitlines()[0].split(",")
        assert header[-1] == "crs"
        rows = _csv_rows(text.encode("utf-8"))
        assert len(rows) == 11 and {r["crs"] for r in rows} == {crs}

