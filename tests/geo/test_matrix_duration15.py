"""Audit 15: the travel times (``duration_s``) of a user distance matrix are checked
for plausibility, as its distances are: a duration labelled as seconds but given in
minutes, hours or milliseconds, a zero travel time on a positive distance, and a single
arc at an impossible speed are refused, naming ``duration_s``, the value and the pair
(with the file, and the CSV line, when read from a file); legitimate travel times
(short arcs with rounding or turn penalties, any road speed in 1..200 km/h) are kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wastenet.errors import DataFormatError, ValidationError
from wastenet.geo.matrix import DistanceMatrix, load_matrix, save_matrix

IDS = ("depot", "V1", "V2", "V3")
#: the plausible implied speeds, km/h (the bounds are kept)
MIN_SPEED_KMH, MAX_SPEED_KMH = 1.0, 200.0
#: road distances of 4..30 km between four places (asymmetric)
DIST = np.array([[0.0, 12_000.0, 25_000.0, 8_000.0],
                 [12_500.0, 0.0, 14_000.0, 18_000.0],
                 [24_000.0, 13_800.0, 0.0, 30_000.0],
                 [8_200.0, 17_500.0, 29_000.0, 0.0]])
#: travel times in seconds at 40 km/h (11.1 m/s)
DUR = DIST / (40.0 / 3.6)


def _raises(dur: np.ndarray, dist: np.ndarray = DIST) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        DistanceMatrix(ids=IDS, distance_m=dist, duration_s=dur)
    assert exc.value.field == "duration_s"
    return exc.value


@pytest.mark.parametrize(("scale", "unit"), [
    pytest.param(1 / 60, "minutes", id="minutes"),
    pytest.param(1 / 3600, "hours", id="hours"),
])
def test_durations_in_minutes_or_hours_are_refused(scale: float, unit: str) -> None:
    """Travel times given in minutes or hours but labelled as seconds imply speeds of
    2,400 or 144,000 km/h: refused, naming duration_s, the first such value, its pair
    and the count, with a hint at the unit."""
    err = _raises(DUR * scale)
    msg = str(err)
    assert err.value == pytest.approx(DUR[0, 1] * scale)
    assert "from 'depot' to 'V1'" in msg and "km/h" in msg
    assert "12 of the 12 arcs" in msg
    assert err.hint is not None and unit in err.hint and "seconds" in err.hint


def test_durations_in_milliseconds_are_refused() -> None:
    """Travel times in milliseconds labelled as seconds imply 0.04 km/h on arcs of
    kilometres: refused (too slow), with a hint at the unit."""
    err = _raises(DUR * 1000.0)
    assert err.value == pytest.approx(DUR[0, 1] * 1000.0)
    assert "from 'depot' to 'V1'" in str(err)
    assert err.hint is not None and "milliseconds" in err.hint


def test_zero_duration_on_a_positive_distance_is_refused() -> None:
    """A travel time of 0 on a positive distance (here 14 km from V1 to V2) is refused,
    naming the pair and the distance; the other arcs are plausible."""
    dur = DUR.copy()
    dur[1, 2] = 0.0
    err = _raises(dur)
    msg = str(err)
    assert err.value == 0.0
    assert "from 'V1' to 'V2'" in msg and "14000 m" in msg
    assert "1 of the 12 arcs" in msg


@pytest.mark.parametrize(("speed_kmh", "row", "col"), [
    pytest.param(250.0, 2, 3, id="too-fast"),
    pytest.param(0.5, 3, 0, id="too-slow"),
])
def test_one_arc_at_an_impossible_speed_is_refused(speed_kmh: float, row: int,
                                                   col: int) -> None:
    """One arc whose duration implies a speed outside [1, 200] km/h in an otherwise
    plausible matrix is refused, naming that pair and its value."""
    dur = DUR.copy()
    dur[row, col] = DIST[row, col] / (speed_kmh / 3.6)
    err = _raises(dur)
    assert err.value == pytest.approx(dur[row, col])
    assert f"from {IDS[row]!r} to {IDS[col]!r}" in str(err)
    assert f"{speed_kmh:g} km/h" in str(err)


def test_one_fast_arc_among_fast_roads_is_not_blamed_on_the_unit() -> None:
    """On expressway speeds (100 km/h) one arc at 300 km/h is refused, and the hint does
    not call the durations minutes (their median speed is plausible)."""
    dur = DIST / (100.0 / 3.6)
    dur[0, 2] = DIST[0, 2] / (300.0 / 3.6)
    err = _raises(dur)
    assert "from 'depot' to 'V2'" in str(err) and "300 km/h" in str(err)
    assert err.hint is not None and "look like" not in err.hint and "100 km/h" in err.hint


@pytest.mark.parametrize("bad", [np.inf, np.nan, -5.0])
def test_non_finite_or_negative_duration_names_the_pair(bad: float) -> None:
    """A non-finite or negative travel time is refused naming duration_s, the value and
    the pair (also before the speed check)."""
    dur = DUR.copy()
    dur[2, 1] = bad
    err = _raises(dur)
    assert "from 'V2' to 'V1'" in str(err)
    assert (np.isnan(err.value) if np.isnan(bad) else err.value == bad)


def test_legitimate_travel_times_are_kept() -> None:
    """Travel times a routing service gives are accepted: a zero or sub-second time on
    an arc of a few metres (rounded to whole seconds), a minute for 10 m (a turn), a ferry
    at 5 km/h, an expressway at 120 km/h, and the bounds themselves."""
    ids = ("a", "b", "c", "d", "e")
    dist = np.array([[0.0, 10.0, 30.0, 5_000.0, 100_000.0],
                     [10.0, 0.0, 3.0, 2_000.0, 1_000.0],
                     [30.0, 3.0, 0.0, 0.0, 50_000.0],
                     [5_000.0, 2_000.0, 0.0, 0.0, 1_000.0],
                     [100_000.0, 1_000.0, 50_000.0, 1_000.0, 0.0]])
    dur = np.array([[0.0, 60.0, 0.0, 5_000.0 / (5 / 3.6), 100_000.0 / (120 / 3.6)],
                    [1.0, 0.0, 0.0, 2_000.0 / (MAX_SPEED_KMH / 3.6), 3_600.0],
                    [2.0, 0.4, 0.0, 30.0, 50_000.0 / (80 / 3.6)],
                    [600.0, 150.0, 0.0, 0.0, 1_000.0 / (MIN_SPEED_KMH / 3.6)],
                    [3_000.0, 60.0, 2_500.0, 90.0, 0.0]])
    m = DistanceMatrix(ids=ids, distance_m=dist, duration_s=dur)
    assert np.array_equal(m.duration_s, dur)


def test_npz_in_minutes_is_refused_naming_the_file(tmp_path: Path) -> None:
    """An .npz whose durations are in minutes is refused by load_matrix with a
    DataFormatError naming the file, duration_s and the pair."""
    p = tmp_path / "m.npz"
    np.savez(p, ids=np.array(IDS), distance_m=DIST, duration_s=DUR / 60.0)
    with pytest.raises(DataFormatError) as exc:
        load_matrix(p)
    msg = str(exc.value)
    assert exc.value.path == str(p)
    assert "duration_s=" in msg and "from 'depot' to 'V1'" in msg and "minutes" in msg


def test_csv_in_hours_is_refused_naming_the_line(tmp_path: Path) -> None:
    """A CSV whose durations are in hours is refused with a DataFormatError naming the
    file, the line of the first implausible pair, duration_s with the value as written,
    and the hint."""
    lines = ["from_id,to_id,distance_m,duration_s"]
    for a in range(len(IDS)):
        for b in range(len(IDS)):
            if a != b:
                lines.append(f"{IDS[a]},{IDS[b]},{DIST[a, b]:g},{DUR[a, b] / 3600:.4f}")
    lines[3] = "depot,V3,8000,720"  # line 4: a plausible arc (40 km/h) first ...
    p = tmp_path / "m.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as exc:
        load_matrix(p)
    msg = str(exc.value)
    assert exc.value.line == 2  # ... the first line, depot -> V1 in hours, is named
    assert "duration_s='0.3000'" in msg and "from 'depot' to 'V1'" in msg
    assert "11 of the 12" in msg and "hours" in msg


def test_plausible_matrix_round_trips(tmp_path: Path) -> None:
    """A plausible matrix is written and read back through .npz and .csv unchanged."""
    src = DistanceMatrix(ids=IDS, distance_m=DIST, duration_s=DUR)
    for name in ("m.npz", "m.csv"):
        save_matrix(src, tmp_path / name)
        m = load_matrix(tmp_path / name)
        assert np.array_equal(m.duration_s, DUR) and np.array_equal(m.distance_m, DIST)


def test_network_refuses_a_matrix_in_minutes(tmp_path: Path) -> None:
    """build_network refuses a scenario whose distance matrix has its travel times in
    minutes (before any model is built), naming the file and duration_s; with the
    durations in seconds the same matrix is taken."""
    from wastenet.scenario.network import build_network
    from wastenet.scenario.schema import Scenario

    ids = ("a", "b", "c", "d", "S1", "I210124")
    n = len(ids)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dist = 20_000.0 + 1_370.0 * i + 710.0 * j
    np.fill_diagonal(dist, 0.0)
    dur = dist / (45.0 / 3.6)
    vil = [{"id": k, "lon": lon, "lat": lat, "population": 400, "county": "210124"}
           for k, lon, lat in (("a", 123.20, 42.40), ("b", 123.30, 42.45),
                               ("c", 123.35, 42.35), ("d", 123.25, 42.30))]

    def scenario(path: Path) -> Scenario:
        return Scenario.model_validate({
            "name": "tiny", "data": {"source": "user", "counties": ["210124"],
                                     "villages": vil, "distance_matrix_file": str(path)},
            "candidates": {"transfer": {"extra_per_county": 0, "sites": [
                {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}]}}})

    bad = tmp_path / "minutes.csv"
    save_matrix(_unchecked(ids, dist, dur / 60.0), bad)
    with pytest.raises(DataFormatError) as exc:
        build_network(scenario(bad))
    assert exc.value.path == str(bad) and "duration_s=" in str(exc.value)
    good = tmp_path / "seconds.csv"
    save_matrix(DistanceMatrix(ids=ids, distance_m=dist, duration_s=dur), good)
    net = build_network(scenario(good))
    assert net.distance_matrix is not None
    assert np.array_equal(net.distance_matrix.duration_s, dur)


def _unchecked(ids: tuple[str, ...], dist: np.ndarray, dur: np.ndarray) -> DistanceMatrix:
    """A DistanceMatrix holding ``dur`` without the constructor's checks (to write a bad
    file with :func:`save_matrix`)."""
    m = DistanceMatrix(ids=ids, distance_m=dist, duration_s=dist / 10.0)
    object.__setattr__(m, "duration_s", np.asarray(dur, dtype=np.float64))
    return m
