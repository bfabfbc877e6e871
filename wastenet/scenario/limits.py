"""Cheap counts of what a scenario will produce, without building its network.

Used by the HTTP service to enforce its caps before accepting a scenario. For the
bundled synthetic data the counts are exact (the generator's per-county allocation, the
township seats, and ``min(extra_per_county, villages)`` extra candidates per county, as
:func:`wastenet.scenario.network.build_network` builds them). For user villages, whose
counties are only known after point-in-polygon, the candidate counts are upper bounds.
"""

from __future__ import annotations

from wastenet.data.generator import allocate_villages
from wastenet.data.liaoning import load_counties
from wastenet.scenario.schema import Scenario


def limits(scenario: Scenario) -> dict[str, int]:
    """``{"villages", "transfer_candidates", "incinerator_candidates"}`` of a scenario."""
    data = scenario.data
    chosen = set(data.counties)
    t = scenario.candidates.transfer
    i = scenario.candidates.incinerator
    user_t = len(t.sites) + len(t.existing)
    user_i = len(i.sites) + len(i.existing)
    if data.source == "user":
        villages = len(data.villages) if data.villages else 0
        n_counties = len({v.county for v in data.villages if v.county}) or len(
            [c for c in load_counties() if not chosen or c.adcode in chosen])
        return {"villages": villages,
                "transfer_candidates": min(villages, t.extra_per_county * n_counties) + user_t,
                "incinerator_candidates": (n_counties if i.county_seats else 0) + user_i}
    per_county = allocate_villages(int(data.villages_total))
    rural = [c for c in load_counties()
             if c.adcode in per_county and (not chosen or c.adcode in chosen)]
    villages = sum(per_county[c.adcode] for c in rural)
    seats = sum(c.n_rural for c in rural)
    extras = sum(min(t.extra_per_county, per_county[c.adcode]) for c in rural)
    return {
        "villages": villages,
        "transfer_candidates": (seats if t.township_seats else 0) + extras + user_t,
        "incinerator_candidates": (len(rural) if i.county_seats else 0)
        + (seats if i.township_seats else 0) + user_i,
    }
