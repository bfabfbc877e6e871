"""Tests of the Kim, Kim & Sahoo (2006) instance reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wastenet.errors import DataFormatError
from wastenet.formats.wcvrptw import hhmm_to_s, read_wcvrptw

REPO = Path(__file__).resolve().parents[2]
KIM_102 = REPO / "benchmarks" / "data" / "routing" / "wcvrptw" / "102_stop.txt"

HEADER = (
    "100.0 \t\t// vehicle capacity (yards), real number\r\n"
    "150.0\t\t// total yardage allowed for a vehicle per day\r\n"
    "3\t\t// total number of regular stops\r\n"
    "3600\t\t// lunch time duration in second\r\n"
    "30\t\t// speed: MPH\r\n"
    "Stop_ID\tX(feet)\tY(feet)\tEarly\tLate\tService\tLoad\tType\r\n"
)


def write(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    p = tmp_path / "tiny.txt"
    p.write_bytes((header + rows).encode())
    return p


TINY_ROWS = (
    "0   0.0   0.0  0400 1500 0  9999.00 0\r\n"
    "7\t4400\t0\t0\t2400\t600\t9999\t2\t\t\t\r\n"      # tabs and trailing empty fields
    "3   0.0   2200.0  1675 2400 180    12.00 1\r\n"   # 1675 = 17:15
    "4   1100.0 1100.0  300 0775 30     4.50 1\r\n"    # 03:00 to 08:15
    "\r\n"
)


def test_real_102_stop_first_leg_is_262_3_seconds() -> None:
    """Stop 0 to stop 1 of 102_stop.txt takes 262.3 s (Manhattan feet at 40 mph)."""
    data = read_wcvrptw(KIM_102)
    i, j = data.ids.index("0"), data.ids.index("1")
    assert data.duration_s[i, j] == pytest.approx(262.3, abs=0.05)
    assert data.distance_m[i, j] == pytest.approx((14096 + 1291) * 0.3048)
    assert len(data.depots) == 1 and len(data.facilities) == 2 and data.n_stops == 99
    vt = data.vehicle_types[0]
    assert vt.capacity == (280.0,) and vt.route_capacity == (400.0,) and vt.max_stops == 500
    assert (vt.break_duration_s, vt.break_earliest_s, vt.break_latest_s) == (3600, 39600, 43200)
    assert vt.count == 99
    assert (vt.shift_start_s, vt.shift_end_s) == (4 * 3600, 15 * 3600)
    assert data.load_dims == ("yd3",)
    assert np.all(data.stop_facility == -1)


def test_hhmm_quirks() -> None:
    """HHMM is HH*3600 + MM*60 even when MM >= 60; three digits and zero are fine."""
    assert hhmm_to_s("1675") == 17 * 3600 + 15 * 60
    assert hhmm_to_s("300") == 3 * 3600
    assert hhmm_to_s("0775") == 8 * 3600 + 15 * 60
    assert hhmm_to_s("0") == 0
    assert hhmm_to_s("2400") == 86400
    with pytest.raises(ValueError):
        hhmm_to_s("12.5")


def test_tiny_file_roles_windows_and_matrices(tmp_path: Path) -> None:
    """A hand-written file with CRLF, tabs and empty fields gives the expected model."""
    data = read_wcvrptw(write(tmp_path, TINY_ROWS))
    assert data.ids == ("0", "7", "3", "4")
    assert data.depots.tolist() == [0] and data.facilities.tolist() == [1]
    assert data.stops.tolist() == [2, 3]
    assert data.stop_open_s.tolist() == [17 * 3600 + 15 * 60, 3 * 3600]
    assert data.stop_close_s.tolist() == [86400, 8 * 3600 + 15 * 60]
    assert data.stop_demand.tolist() == [[12.0], [4.5]]
    assert data.stop_service_s.tolist() == [180, 30]
    assert data.facility_unload_s.tolist() == [600]
    assert data.facility_capacity.tolist() == [np.inf]
    # 30 mph = 44 ft/s; depot -> landfill 4400 ft = 100 s; stop 3 -> stop 4: 1100+1100 ft
    assert data.duration_s[0, 1] == pytest.approx(100.0)
    assert data.duration_s[2, 3] == pytest.approx(2200 / 44)
    assert data.distance_m[2, 3] == pytest.approx(2200 * 0.3048)
    assert np.allclose(data.duration_s, data.duration_s.T)
    vt = data.vehicle_types[0]
    assert vt.capacity == (100.0,) and vt.route_capacity == (150.0,) and vt.max_stops == 3


@pytest.mark.parametrize(
    ("rows", "line", "needle"),
    [
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 0 2400 10 x 1\n", 9,
         "not numbers"),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 0 2400 10 1\n", 9,
         "expected 8 fields"),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 0 2400 10 1 7\n", 9,
         "type="),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 1200 0800 10 1 1\n", 9,
         "closes"),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n1 5 5 0 2400 10 1 1\n", 9,
         "duplicate stop id"),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 0 24:00 10 1 1\n", 9,
         "time window"),
        ("0 0 0 0400 1500 0 9999 0\n1 1 1 0 2400 10 9999 2\n2 5 5 0 2400 10 101 1\n", 9,
         "exceeds the vehicle capacity"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, rows: str, line: int, needle: str) -> None:
    """Malformed stop rows raise DataFormatError with the 1-based line number."""
    with pytest.raises(DataFormatError) as err:
        read_wcvrptw(write(tmp_path, rows))
    assert err.value.line == line
    assert f"tiny.txt:{line}:" in str(err.value)
    assert needle in str(err.value)


def test_bad_header_names_the_line(tmp_path: Path) -> None:
    """A non-numeric header value is reported on its own line."""
    bad = HEADER.replace("30\t\t// speed", "fast\t\t// speed")
    with pytest.raises(DataFormatError) as err:
        read_wcvrptw(write(tmp_path, "0 0 0 0400 1500 0 9999 0\n", header=bad))
    assert err.value.line == 5 and "speed" in str(err.value)


def test_missing_depot_or_landfill(tmp_path: Path) -> None:
    """A file without a depot or without a landfill is rejected."""
    with pytest.raises(DataFormatError, match="no depot"):
        read_wcvrptw(write(tmp_path, "1 1 1 0 2400 10 9999 2\n2 5 5 0 2400 10 1 1\n"))
    with pytest.raises(DataFormatError, match="no landfill"):
        read_wcvrptw(write(tmp_path, "0 0 0 0400 1500 0 9999 0\n2 5 5 0 2400 10 1 1\n"))


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    """A missing file is a DataFormatError naming the path, not an OSError."""
    with pytest.raises(DataFormatError, match="cannot read"):
        read_wcvrptw(tmp_path / "nope.txt")
