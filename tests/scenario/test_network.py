"""Tests of the network builder: candidates, neighbour lists and sharing."""

from __future__ import annotations

import numpy as np
import pytest

from wastenet.errors import ValidationError
from wastenet.scenario.network import allowed_pairs, build_network, sharing_matrix
from wastenet.scenario.schema import Scenario
from wastenet.siting.build import build_siting_data


def _faku(**kw) -> Scenario:
    base = {"name": "t", "data": {"counties": ["210124"]}}
    for k, v in kw.items():
        base[k] = v
    return Scenario.model_validate(base)


def test_faku_network_counts() -> None:
    """Faku: seats + extras as transfer candidates, county seat + seats as incinerators."""
    net = build_network(_faku(candidates={"transfer": {"extra_per_county": 5}}))
    assert net.counties == ("210124",)
    n_seats = len(net.seats.codes)
    assert n_seats == 17
    assert len(net.transfer) == n_seats + 5
    assert len(net.incinerator) == 1 + n_seats
    assert net.summary()["synthetic"] is True


def test_neighbour_lists_sorted_and_within_radius() -> None:
    """Neighbour rows are sorted nearest first and respect the service radius."""
    net = build_network(_faku(policy={"service_radius_km": 8.0}))
    d = net.village_to_transfer.dist_m
    finite = np.where(np.isfinite(d), d, 1e12)
    assert (np.diff(finite, axis=1) >= 0).all()
    assert (d[np.isfinite(d)] <= 8_000.0 + 1e-6).all()


def test_user_and_existing_sites_and_force_exclude() -> None:
    """User sites are added; force/exclude flags land; an unknown id is an error."""
    cand = {"transfer": {"sites": [{"id": "U1", "name": "用户站", "lon": 123.2, "lat": 42.4}],
                         "existing": [{"id": "E1", "lon": 123.25, "lat": 42.38,
                                       "remaining_capacity_t_per_day": 12}],
                         "force": ["U1"], "exclude": ["T210124101"]}}
    net = build_network(_faku(candidates=cand))
    i = net.transfer.ids.index("U1")
    assert net.transfer.forced[i] and net.transfer.county[i] == "210124"
    assert net.transfer.existing_capacity[net.transfer.ids.index("E1")] == 12
    assert net.transfer.excluded[net.transfer.ids.index("T210124101")]
    with pytest.raises(ValidationError, match="force"):
        build_network(_faku(candidates={"transfer": {"force": ["nope"]}}))


def test_site_outside_province_rejected() -> None:
    """A user site far outside Liaoning is rejected naming the field."""
    cand = {"incinerator": {"sites": [{"id": "X", "lon": 116.4, "lat": 39.9}]}}
    with pytest.raises(ValidationError, match=r"candidates\.incinerator\.sites"):
        build_network(_faku(candidates=cand))


def test_sharing_matrices() -> None:
    """none <= adjacent <= prefecture-or-adjacent; free allows everything."""
    assert allowed_pairs(["210124"], ["210123"], "adjacent").tolist() == [True]
    assert allowed_pairs(["210124"], ["210123"], "none").tolist() == [False]
    assert allowed_pairs(["210124"], ["210181"], "prefecture").tolist() == [True]
    assert allowed_pairs(["210124"], ["210212"], "prefecture").tolist() == [False]
    assert allowed_pairs(["210124"], ["210212"], "free").tolist() == [True]
    none, adj = sharing_matrix("none"), sharing_matrix("adjacent")
    assert (adj | none == adj).all() and (adj == adj.T).all()


def test_policy_restricts_siting_arcs() -> None:
    """With sharing 'none' no arc crosses a county border; 'adjacent' allows neighbours."""
    sc = Scenario.model_validate({"name": "two", "data": {"counties": ["210124", "210123"]},
                                  "policy": {"sharing": "none"}})
    d = build_siting_data(build_network(sc))
    vc = d.village_county[d.collect.src]
    tc = d.transfer.county[d.collect.dst]
    assert (vc == tc).all()
    assert (d.transfer.county[d.haul.src] == d.incinerator.county[d.haul.dst]).all()
    sc2 = sc.model_copy(update={"policy": sc.policy.model_copy(update={"sharing": "adjacent"})})
    d2 = build_siting_data(build_network(sc2))
    assert (d2.village_county[d2.collect.src] != d2.transfer.county[d2.collect.dst]).any()


def test_siting_data_units() -> None:
    """Collect unit cost = 2.5 yuan/t-km x km x 365; fixed costs are annualised."""
    d = build_siting_data(build_network(_faku()))
    assert np.allclose(d.collect.unit_cost, 2.5 * d.collect.distance_m / 1000 * 365)
    assert d.synthetic and d.seed == 2025
    assert d.transfer.size_fixed_cost[0, 0] > 0


def test_user_matrix_replaces_estimates(tmp_path) -> None:
    """A user distance matrix replaces the great-circle estimate on every listed arc."""
    from wastenet.geo.matrix import DistanceMatrix, save_matrix

    sc = _faku(data={"counties": ["210124"], "villages_total": 2000})
    net = build_network(sc)
    ids = (*net.villages.ids, *net.transfer.ids, *net.incinerator.ids)
    n = len(ids)
    from wastenet.geo.distance import pairwise_haversine_m

    lon = np.concatenate([net.villages.lon, net.transfer.lon, net.incinerator.lon])
    lat = np.concatenate([net.villages.lat, net.transfer.lat, net.incinerator.lat])
    rng = np.random.default_rng(0)
    # road distances 1.2-1.6 times the straight line (a matrix shorter than the straight
    # line, e.g. in km, is refused)
    dist = pairwise_haversine_m(lon, lat, lon, lat) * rng.uniform(1.2, 1.6, (n, n))
    np.fill_diagonal(dist, 0.0)
    path = tmp_path / "m.npz"
    save_matrix(DistanceMatrix(ids=ids, distance_m=dist, duration_s=dist / 10), path)
    sc2 = _faku(data={"counties": ["210124"], "villages_total": 2000,
                      "distance_matrix_file": str(path)})
    net2 = build_network(sc2)
    nb = net2.village_to_transfer
    r, c = np.nonzero(nb.idx >= 0)
    pos = {x: k for k, x in enumerate(ids)}
    want = dist[[pos[net2.villages.ids[i]] for i in r],
                [pos[net2.transfer.ids[nb.idx[i, j]]] for i, j in zip(r, c, strict=True)]]
    assert np.allclose(nb.dist_m[r, c], want)


def test_user_matrix_drops_pairs_beyond_the_limits(tmp_path) -> None:
    """With a user distance matrix, a listed pair whose road distance exceeds its limit
    (service radius 20 km, direct radius 10 km, maximum haul 150 km) is dropped from the
    neighbour lists and the siting arcs, rows are sorted again by the matrix distance, and
    the siting data record the three limits."""
    from wastenet.geo.matrix import DistanceMatrix, save_matrix

    ids = ("a", "b", "U1", "U2", "I210124", "IU")
    dist = np.full((6, 6), 2000.0)
    np.fill_diagonal(dist, 0.0)
    pos = {x: k for k, x in enumerate(ids)}
    for src, dst, m in (("a", "U1", 25_000.0), ("b", "U1", 3000.0), ("b", "U2", 500.0),
                        ("b", "IU", 12_000.0), ("U2", "I210124", 200_000.0)):
        dist[pos[src], pos[dst]] = m
    path = tmp_path / "m.npz"
    save_matrix(DistanceMatrix(ids=ids, distance_m=dist, duration_s=dist / 10), path)
    sc = Scenario.model_validate({
        "name": "m",
        "data": {"source": "user", "counties": ["210124"], "distance_matrix_file": str(path),
                 "villages": [{"id": "a", "lon": 123.16, "lat": 42.39, "population": 500},
                              {"id": "b", "lon": 123.18, "lat": 42.40, "population": 800}]},
        "candidates": {
            "transfer": {"extra_per_county": 0,
                         "sites": [{"id": "U1", "lon": 123.17, "lat": 42.395},
                                   {"id": "U2", "lon": 123.15, "lat": 42.385}]},
            "incinerator": {"sites": [{"id": "IU", "lon": 123.165, "lat": 42.392}]}}})
    net = build_network(sc)
    assert net.transfer.ids == ("U1", "U2") and net.incinerator.ids == ("I210124", "IU")

    def row(nb, r: int) -> list[tuple[int, float]]:
        keep = nb.idx[r] >= 0
        assert not (~keep[:-1] & keep[1:]).any()  # missing entries only at the end
        return list(zip(nb.idx[r][keep].tolist(), nb.dist_m[r][keep].tolist(), strict=True))

    assert row(net.village_to_transfer, 0) == [(1, 2000.0)]  # a -> U1 (25 km) dropped
    assert row(net.village_to_transfer, 1) == [(1, 500.0), (0, 3000.0)]  # re-sorted
    assert row(net.village_to_incinerator, 1) == [(0, 2000.0)]  # b -> IU (12 km) dropped
    assert row(net.transfer_to_incinerator, 1) == [(1, 2000.0)]  # U2 -> I210124 dropped
    assert sorted(row(net.transfer_to_incinerator, 0)) == [(0, 2000.0), (1, 2000.0)]
    d = build_siting_data(net)
    assert (d.service_radius_m, d.direct_radius_m, d.max_haul_m) == (20_000.0, 10_000.0,
                                                                     150_000.0)

    def pairs(arcs) -> set[tuple[int, int]]:
        return set(zip(arcs.src.tolist(), arcs.dst.tolist(), strict=True))

    assert pairs(d.collect) == {(0, 1), (1, 0), (1, 1)}  # no a -> U1
    assert (1, 1) not in pairs(d.direct)  # no b -> IU
    assert (1, 0) not in pairs(d.haul)  # no U2 -> I210124
    for arcs, lim in ((d.collect, d.service_radius_m), (d.direct, d.direct_radius_m),
                      (d.haul, d.max_haul_m)):
        assert lim is not None and (arcs.distance_m <= lim).all()


def test_user_villages_outside_selection_warn(tmp_path) -> None:
    """Inline user villages outside data.counties are reported, never dropped silently."""
    sc = Scenario.model_validate({"name": "u", "data": {
        "source": "user", "counties": ["210124"],
        "villages": [{"id": "a", "lon": 123.16, "lat": 42.39, "population": 500},
                     {"id": "b", "lon": 123.45, "lat": 41.80, "population": 800}]}})
    net = build_network(sc)
    assert net.villages.ids == ("a",)
    assert any("outside data.counties" in w for w in net.warnings)


@pytest.mark.parametrize("path", ["faku.toml", "liaoning-2025.toml"])
def test_limits_match_the_built_network(repo_root, path) -> None:
    """The cheap counts used for the service caps equal the built network's counts."""
    from wastenet.scenario import limits
    from wastenet.scenario.schema import load_scenario

    sc = load_scenario(repo_root / "scenarios" / path)
    net = build_network(sc)
    assert limits(sc) == {"villages": len(net.villages), "transfer_candidates": len(net.transfer),
                          "incinerator_candidates": len(net.incinerator)}


@pytest.fixture(scope="module")
def province_network(repo_root):
    """The province scenario's network, built once for the tests below."""
    from wastenet.scenario.schema import load_scenario

    return build_network(load_scenario(repo_root / "scenarios" / "liaoning-2025.toml"))


def test_every_county_gets_the_configured_extras(province_network) -> None:
    """Every county with villages has extra_per_county extras (>= 15), even the urban
    districts with fewer villages than that, and every extra lies inside its county."""
    import shapely

    from wastenet.data import liaoning

    net = province_network
    k = net.scenario.candidates.transfer.extra_per_county
    assert k >= 15
    kind = np.array(net.transfer.kind)
    county = np.array(net.transfer.county)
    vil = np.array(net.villages.county)
    few = [c for c in net.counties if (vil == c).sum() < k]
    assert few, "the province has counties with fewer villages than extras"
    polys = liaoning.county_polygons()
    cidx = liaoning.county_index()
    for c in net.counties:
        rows = np.flatnonzero((kind == "extra") & (county == c))
        assert len(rows) >= k, c
        assert shapely.contains_xy(polys[cidx[c]], net.transfer.lon[rows],
                                   net.transfer.lat[rows]).all(), c
    assert (kind == "extra").sum() == k * len(net.counties)


def test_surplus_extras_near_villages_distinct_and_seeded(province_network, repo_root) -> None:
    """Surplus extras are deterministic per seed, distinct, near the county's villages,
    and move with another seed."""
    from wastenet.geo.distance import haversine_m
    from wastenet.scenario.schema import load_scenario

    net = province_network
    t = net.transfer
    surplus = np.array([i.startswith(f"TX{c}-P") for i, c in zip(t.ids, t.county, strict=True)])
    assert surplus.any()
    xy = np.column_stack([t.lon[surplus], t.lat[surplus]])
    assert len(np.unique(xy, axis=0)) == len(xy)
    vil = np.array(net.villages.county)
    for r in np.flatnonzero(surplus)[:40]:
        m = vil == t.county[r]
        d = haversine_m(net.villages.lon[m], net.villages.lat[m], t.lon[r], t.lat[r])
        assert d.min() < 20_000.0, t.ids[r]
    sc = load_scenario(repo_root / "scenarios" / "liaoning-2025.toml")
    dz = sc.data.model_dump()
    c = t.county[int(np.flatnonzero(surplus)[0])]
    again = build_network(sc.model_copy(update={"data": sc.data.model_copy(
        update={"counties": [c]})}))
    mine = [k for k, i in enumerate(t.ids) if i.startswith(f"TX{c}-P")]
    theirs = [k for k, i in enumerate(again.transfer.ids) if i.startswith(f"TX{c}-P")]
    assert np.array_equal(t.lon[mine], again.transfer.lon[theirs])
    other = build_network(sc.model_copy(update={"data": sc.data.model_copy(
        update={"counties": [c], "seed": dz["seed"] + 1})}))
    moved = [k for k, i in enumerate(other.transfer.ids) if i.startswith(f"TX{c}-P")]
    assert len(moved) == len(theirs)
    assert not np.array_equal(other.transfer.lon[moved], again.transfer.lon[theirs])


@pytest.mark.parametrize(
    ("prefecture", "needle"),
    [("210124", "county adcode"), ("219900", "unknown prefecture"),
     ("210200", "no transfer candidate")],
)
def test_count_prefecture_must_be_a_prefecture_of_the_network(prefecture, needle) -> None:
    """policy.counts[].prefecture must be a prefecture of the scenario's network: a county
    code, an unknown code or a prefecture without candidates (Dalian for Faku) is refused,
    naming the field and the value."""
    counts = [{"echelon": "incinerator", "value": 2, "sense": "le"},
              {"echelon": "transfer", "value": 3, "sense": "le", "prefecture": prefecture}]
    with pytest.raises(ValidationError) as err:
        build_network(_faku(policy={"counts": counts}))
    assert err.value.field == "policy.counts[1].prefecture"
    assert err.value.value == prefecture and needle in str(err.value)
    ok = [{**counts[1], "prefecture": "210100"}]  # Shenyang holds Faku
    assert len(build_network(_faku(policy={"counts": ok})).transfer) > 0
