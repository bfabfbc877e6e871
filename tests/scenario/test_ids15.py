"""The routing depot's alias ``I<adcode>`` is reserved for the generated county-seat
incinerator candidate: a user incinerator site or existing facility of that id (possible
with ``candidates.incinerator.county_seats = false``) would otherwise lend the county's
depot its distance-matrix row from wherever it is (an audit placed one 35 km from the
seat: the depot's distances were 46 km on average where its own position gives 31 km)."""

from __future__ import annotations

from typing import Any

import pytest

from wastenet.errors import ValidationError
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario

FAKU = "210124"


def _spec(incinerator: dict[str, Any]) -> dict[str, Any]:
    return {"name": "ids15", "data": {"source": "user", "villages": [
        {"id": "v1", "lon": 123.2, "lat": 42.4, "population": 300},
        {"id": "v2", "lon": 123.3, "lat": 42.45, "population": 300}]},
        "candidates": {"incinerator": incinerator}}


@pytest.mark.parametrize(("incinerator", "field"), [
    ({"county_seats": False, "sites": [{"id": f"I{FAKU}", "lon": 123.6, "lat": 42.6}]},
     "candidates.incinerator.sites[0].id"),
    ({"county_seats": False, "existing": [{"id": f"I{FAKU}", "lon": 123.6, "lat": 42.6,
                                           "remaining_capacity_t_per_day": 50}]},
     "candidates.incinerator.existing[0].id"),
])
def test_user_incinerator_named_like_the_depot_alias_is_refused(
        incinerator: dict[str, Any], field: str) -> None:
    """A user incinerator site or existing facility with id I210124 (no county-seat
    candidate generated) is refused naming its field, the id and the depot; the same
    site under another id builds."""
    with pytest.raises(ValidationError) as err:
        build_network(Scenario.model_validate(_spec(incinerator)))
    e = err.value
    assert (e.field, e.value) == (field, f"I{FAKU}")
    assert f"routing depot of county {FAKU}" in str(e) and "names two places" in str(e)
    for part in ("sites", "existing"):
        for site in incinerator.get(part, []):
            site["id"] = "my-plant"
    net = build_network(Scenario.model_validate(_spec(incinerator)))
    assert net.incinerator.ids == ("my-plant",)


def test_generated_county_seat_candidate_keeps_the_alias() -> None:
    """With county seats on, the generated candidate I210124 (kind county_seat) is the
    depot's stand-in and builds as before."""
    net = build_network(Scenario.model_validate(_spec({"county_seats": True})))
    k = net.incinerator.ids.index(f"I{FAKU}")
    assert net.incinerator.kind[k] == "county_seat"
