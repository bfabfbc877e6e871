"""Cheap counts of what a scenario will produce, without building its network.

Used by the HTTP service to enforce its caps before accepting a scenario. For the
bundled synthetic data the counts are exact (the generator's per-county allocation, the
township seats, and exactly ``extra_per_county`` extra candidates per county with
villages, as :func:`wastenet.scenario.network.build_network` builds them). For user
villages, whose counties are only known after point-in-polygon, the candidate counts
are upper bounds.
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
        given = {v.county for v in data.villages if v.county}
        if data.villages and all(v.county for v in data.villages):
            n_counties = len(given)
        else:
            n_counties = len([c for c in load_counties() if not chosen or c.adcode in chosen])
        return {"villages": villages,
                "transfer_candidates": t.extra_per_county * min(villages, n_counties) + user_t,
                "incinerator_candidates": (n_counties if i.county_seats else 0) + user_i}
    per_county = allocate_villages(int(data.villages_total))
    rural = [c for c in load_counties()
             if c.adcode in per_county and (not chosen or c.adcode in chosen)]
    villages = sum(per_county[c.adcode] for c in rural)
    seats = sum(c.n_rural for c in rural)
    extras = t.extra_per_county * len(rural)
    return {
        "villages": villages,
        "transfer_candidates": (seats if t.township_seats else 0) + extras + user_t,
        "incinerator_candidates": (len(rural) if i.county_seats else 0)
        + (seats if i.township_seats else 0) + user_i,
    }
