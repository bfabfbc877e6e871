"""Tests of the bundled Liaoning geography and county adjacency."""

from __future__ import annotations

import numpy as np

from wastenet.data import liaoning


def test_counts_match_provenance_note() -> None:
    """100 counties, 14 prefectures, 1,354 townships, 841 rural towns and townships."""
    counties = liaoning.load_counties()
    assert len(counties) == 100
    assert len(liaoning.load_prefectures()) == 14
    assert len(liaoning.load_townships()) == 1354
    assert sum(c.n_rural for c in counties) == 841
    assert sum(1 for c in counties if c.n_rural > 0) == 71


def test_each_county_knows_its_prefecture() -> None:
    """Every county names a prefecture that exists, and Faku is in Shenyang."""
    prefs = {p.adcode: p.name for p in liaoning.load_prefectures()}
    for c in liaoning.load_counties():
        assert prefs[c.prefecture_adcode] == c.prefecture_name
    assert liaoning.get_county("210124").prefecture_name == "沈阳市"


def test_adjacency_is_symmetric_and_has_known_neighbours() -> None:
    """Kangping (210123) and Faku (210124) share a border; the relation is symmetric."""
    nb = liaoning.county_neighbours()
    assert "210123" in nb["210124"] and "210124" in nb["210123"]
    for a, bs in nb.items():
        assert a not in bs
        for b in bs:
            assert a in nb[b]
    # only the island county Changhai (210224) has no land neighbour
    assert [a for a, bs in nb.items() if not bs] == ["210224"]


def test_adjacency_rejects_distant_counties() -> None:
    """Faku does not border Dalian's Lüshunkou district (far apart)."""
    assert "210212" not in liaoning.county_neighbours()["210124"]


def test_interior_points_lie_in_their_county() -> None:
    """The interior point of each county is located in that county's polygon."""
    counties = liaoning.load_counties()
    polys = liaoning.county_polygons()
    lon = np.array([c.lon for c in counties])
    lat = np.array([c.lat for c in counties])
    import shapely

    inside = [bool(shapely.contains_xy(p, x, y)) for p, x, y in zip(polys, lon, lat, strict=True)]
    assert all(inside)
    idx = liaoning.locate_points(np.array([0.0]), np.array([0.0]))
    assert idx[0] == -1
