"""Benchmark-file samples and paths shared by the reader and ``wastenet solve`` tests
(imported by name: ``tests/formats`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITING = REPO / "benchmarks" / "data" / "siting"
CVRPLIB = REPO / "benchmarks" / "data" / "routing" / "cvrplib"
KIM_102 = REPO / "benchmarks" / "data" / "routing" / "wcvrptw" / "102_stop.txt"

#: an orlib-cap file: 2 sites (capacity, fixed cost), 3 customers (demand, then the cost
#: of serving all of it from each site). Multi-source optimum 330, single-source 360
#: (see tests/formats/test_facility.py).
TINY_CAP = "2 3\n8 100\n11 50\n5\n50 100\n5\n50 150\n6\n240 60\n"

# line numbers: 1 NAME, 2 TYPE, 3 DIMENSION, 4 EDGE_WEIGHT_TYPE, 5 CAPACITY,
# 6 NODE_COORD_SECTION, 7-9 coordinates, 10 DEMAND_SECTION, 11-13 demands,
# 14 DEPOT_SECTION, 15 "1", 16 "-1", 17 EOF
#: a CVRPLIB file with a depot and two customers
VRP = """NAME : tri
TYPE : CVRP
DIMENSION : 3
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 0 2.5
DEMAND_SECTION
1 0
2 6
3 5
DEPOT_SECTION
1
-1
EOF
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """Write ``text`` (UTF-8) or bytes to ``tmp_path / name``; return the path."""
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p
