"""User-given names in the scenario schema: vehicle type names are unique within the
fleet, and no name (scenario, village, site, existing facility, module size, vehicle
type) holds a control character or another character XML 1.0 forbids, which would make
the route exports (routes.gpx) malformed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from wastenet.errors import ValidationError
from wastenet.scenario.schema import load_scenario

_VILLAGE = {"lon": 123.2, "lat": 42.4, "population": 300}
_SITE = {"id": "S1", "lon": 123.28, "lat": 42.38}
_TRUCK = {"count": 2, "capacity_t": 8.0}


def _write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_vehicle_names_are_refused(tmp_path: Path) -> None:
    """Two ``[[fleet.vehicles]]`` both named 垃圾车 (8 t and 2 t) are refused, naming the
    field of the second, its index and the duplicated name, and the first that has it;
    distinct names load."""
    toml = """name = "dup"
[[fleet.vehicles]]
name = "压缩车"
count = 4
capacity_t = 8.0
[[fleet.vehicles]]
name = "垃圾车"
count = 4
capacity_t = 8.0
[[fleet.vehicles]]
name = "垃圾车"
count = 6
capacity_t = 2.0
"""
    with pytest.raises(ValidationError) as err:
        load_scenario(_write(tmp_path, toml, "dup.toml"))
    assert err.value.field == "fleet.vehicles.2.name" and err.value.value == "垃圾车"
    assert "duplicate vehicle name '垃圾车' at fleet.vehicles.2" in str(err.value)
    assert "fleet.vehicles.1 has it too" in str(err.value)
    ok = load_scenario(_write(tmp_path, toml.replace('"垃圾车"\ncount = 6', '"三轮车"\ncount = 6'),
                              "ok.toml"))
    assert [v.name for v in ok.fleet.vehicles] == ["压缩车", "垃圾车", "三轮车"]


def _scenario(name: str) -> dict[str, Any]:
    """A scenario whose every user-given name field is ``name`` (a clean one loads)."""
    return {
        "name": f"s {name}",
        "data": {"source": "user", "villages": [{"id": "V1", "name": f"村{name}", **_VILLAGE}]},
        "candidates": {
            "transfer": {"sites": [{**_SITE, "name": f"站{name}"}],
                         "sizes": [{"name": f"T{name}", "capacity_t_per_day": 10,
                                    "capex_yuan": 400_000}]},
            "incinerator": {"existing": [{**_SITE, "id": "E1", "name": f"厂{name}",
                                          "remaining_capacity_t_per_day": 50}]},
        },
        "fleet": {"vehicles": [{"name": f"车{name}", **_TRUCK}]},
    }


_NAME_FIELDS = [
    ("name", ("name",)),
    ("data.villages.0.name", ("data", "villages", 0, "name")),
    ("candidates.transfer.sites.0.name", ("candidates", "transfer", "sites", 0, "name")),
    ("candidates.transfer.sizes.0.name", ("candidates", "transfer", "sizes", 0, "name")),
    ("candidates.incinerator.existing.0.name",
     ("candidates", "incinerator", "existing", 0, "name")),
    ("fleet.vehicles.0.name", ("fleet", "vehicles", 0, "name")),
]


@pytest.mark.parametrize(("field", "path"), _NAME_FIELDS, ids=[f for f, _ in _NAME_FIELDS])
@pytest.mark.parametrize("bad", ["\x0b", "\x00", "\t", "\n", "\r", "\x1f", "\x7f", "\x85",
                                 "\ufffe", "\uffff"],
                         ids=["VT", "NUL", "TAB", "LF", "CR", "US", "DEL", "NEL", "FFFE",
                              "FFFF"])
def test_control_characters_in_names_are_refused(tmp_path: Path, field: str,
                                                 path: tuple[Any, ...], bad: str) -> None:
    """A name holding a control character (C0 including tab and newline, DEL, C1) or
    U+FFFE/U+FFFF is refused with a ValidationError naming the field and showing the
    value with repr; the same scenario with a clean name (Chinese, spaces, '#', '-')
    loads."""
    clean = _scenario("大民屯 #1-转运")
    assert load_scenario(_write(tmp_path, json.dumps(clean), "ok.json")).name == clean["name"]
    raw = copy.deepcopy(clean)
    node: Any = raw
    for key in path[:-1]:
        node = node[key]
    value = f"大民屯{bad}转运站"
    node[path[-1]] = value
    with pytest.raises(ValidationError) as err:
        load_scenario(_write(tmp_path, json.dumps(raw), "bad.json"))
    assert err.value.field == field and err.value.value == value
    assert f"{field}={value!r}" in str(err.value)
    assert repr(bad) in str(err.value) and "control characters" in str(err.value)


def test_vertical_tab_in_a_toml_vehicle_name_is_refused(tmp_path: Path) -> None:
    """The audit's case: a TOML fleet type named "压缩车\\u000B8吨" is refused, naming
    fleet.vehicles.0.name; a lone surrogate in a JSON name (``"\\ud800"``) is refused too."""
    toml = ('name = "vt"\n[[fleet.vehicles]]\nname = "压缩车\\u000B8吨"\ncount = 2\n'
            "capacity_t = 8.0\n")
    with pytest.raises(ValidationError) as err:
        load_scenario(_write(tmp_path, toml, "vt.toml"))
    assert err.value.field == "fleet.vehicles.0.name"
    assert "'压缩车\\x0b8吨'" in str(err.value) and "'\\x0b' at position 3" in str(err.value)
    text = json.dumps(_scenario("")).replace('"\\u7ad9"', '"\\u7ad9\\ud800"')
    assert "\\ud800" in text
    with pytest.raises(ValidationError) as err:
        load_scenario(_write(tmp_path, text, "sur.json"))
    assert err.value.field == "candidates.transfer.sites.0.name"
