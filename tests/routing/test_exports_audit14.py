"""Audit 14, route exports: a name given through the library API (not the scenario
schema) that holds a lone surrogate or another character XML 1.0 forbids is written in
every format alike, with U+FFFD in its place, and a warning names it.

Before the fix the CSV and JSON exports (``routes.csv``, ``routes.geojson``,
``plan.json``) raised UnicodeEncodeError on a lone surrogate, and wrote a vertical tab
verbatim where GPX and the driver sheets wrote U+FFFD.

They reuse the hand-made plan of ``test_exports.py`` (two vehicles, four villages, one
depot and two transfer stations).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_exports import NAMES, PLAN, make_data

from wastenet.routing.data import RoutePlan, RoutingData
from wastenet.routing.exports import plan_from_dict, plan_to_dict, render_all, write_all

GPX = "{http://www.topografix.com/GPX/1/1}"


def _bad_data() -> tuple[RoutingData, RoutePlan]:
    """The test plan with village 三台子村 (V3, a stop of 小型车-1) named with a lone
    surrogate, station 大民屯转运站 (T1) with a vertical tab and the vehicle type 压缩车
    with a lone surrogate."""
    names = list(NAMES)
    names[3] = "三台\ud800子村"
    names[5] = "大民屯\x0b转运站"
    d = make_data(names=tuple(names))
    vts = (d.vehicle_types[0], dataclasses.replace(d.vehicle_types[1], name="压缩车\ud800"))
    return dataclasses.replace(d, vehicle_types=vts), PLAN


def _names_everywhere(blobs: dict[str, bytes]) -> dict[str, set[str]]:
    """Every place name and vehicle label each export writes, read back from the bytes
    (each file decoded as strict UTF-8)."""
    text = {k: b.decode("utf-8") for k, b in blobs.items()}
    rows = list(csv.DictReader(io.StringIO(text["csv"].lstrip("\ufeff"))))
    geo = json.loads(text["geojson"])["features"]
    plan = json.loads(text["json"])
    gpx = ET.fromstring(blobs["gpx"])
    return {
        "csv": {r["name"] for r in rows} | {r["vehicle"] for r in rows},
        "geojson": {f["properties"].get("name") for f in geo} - {None}
        | {f["properties"].get("vehicle") for f in geo} - {None},
        "json": {v["name"] for r in plan["routes"] for v in r["visits"]}
        | {r["label"] for r in plan["routes"]},
        "gpx": {el.text or "" for el in gpx.iter(f"{GPX}name")},
        "html": {n for n in ("三台\ufffd子村", "大民屯\ufffd转运站", "压缩车\ufffd-1")
                 if n in text["html"]},
    }


def test_lone_surrogate_names_are_written_as_u_fffd_in_every_format(tmp_path: Path) -> None:
    """A village named "三台\\ud800子村" and a vehicle type "压缩车\\ud800" no longer crash
    render_all or write_all: all five files are valid UTF-8 and each of them writes
    "三台\\ufffd子村" and the label "压缩车\\ufffd-1", as GPX and the sheets already did;
    plan_to_dict encodes as UTF-8 JSON and reads back with plan_from_dict."""
    data, plan = _bad_data()
    blobs = render_all(data, plan)
    seen = _names_everywhere(blobs)
    for key, names in seen.items():
        assert "三台\ufffd子村" in names, key
        assert "压缩车\ufffd-1" in names, key
        assert not any("\ud800" in n for n in names), key
    paths = write_all(data, plan, tmp_path)
    for key, path in paths.items():
        assert path.read_bytes() == blobs[key], key
    doc = plan_to_dict(data, plan)
    json.dumps(doc, ensure_ascii=False).encode("utf-8")
    assert plan_from_dict(doc).routes == plan.routes


def test_a_control_character_reads_the_same_in_every_format() -> None:
    """Station "大民屯\\x0b转运站": the CSV, GeoJSON and plan.json write "大民屯\\ufffd转运站"
    like GPX and the sheets (before, they wrote the vertical tab: a raw CSV byte, a
    ``\\u000b`` JSON escape), so the station's name is the same text in all five files."""
    names = list(NAMES)
    names[5] = "大民屯\x0b转运站"  # no surrogate here: the old code wrote this file
    blobs = render_all(make_data(names=tuple(names)), PLAN)
    seen = _names_everywhere(blobs)
    for key, names_seen in seen.items():
        assert "大民屯\ufffd转运站" in names_seen, key
        assert not any("\x0b" in n for n in names_seen), key
    rows = list(csv.DictReader(io.StringIO(blobs["csv"].decode("utf-8-sig"))))
    assert {r["unload_facility_name"] for r in rows} >= {"大民屯\ufffd转运站"}
    assert b"\x0b" not in blobs["csv"] and b"\\u000b" not in blobs["geojson"]
    assert b"\\u000b" not in blobs["json"]


def test_one_warning_names_each_replaced_text(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """write_all logs exactly one warning on wastenet.routing.exports naming each text it
    replaced, field and value (repr); clean data logs none."""
    data, plan = _bad_data()
    with caplog.at_level(logging.WARNING, logger="wastenet.routing.exports"):
        write_all(data, plan, tmp_path / "bad")
    warned = [r for r in caplog.records if r.name == "wastenet.routing.exports"
              and r.levelno == logging.WARNING]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    msg = warned[0].getMessage()
    assert "3 text(s)" in msg
    for part in ("data.names[3]='三台\\ud800子村'", "data.names[5]='大民屯\\x0b转运站'",
                 "data.vehicle_types[1].name='压缩车\\ud800'"):
        assert part in msg
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wastenet.routing.exports"):
        write_all(make_data(), PLAN, tmp_path / "ok")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
