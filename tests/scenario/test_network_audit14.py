"""Audit 14, network: the sharing policy applied before the nearest-k cut, one id
namespace for villages, candidates and routing depots, and implausible road matrices.

Before the fix each site's neighbour list took the nearest candidates of *any* county
and :func:`wastenet.siting.build.build_siting_data` then dropped what the sharing policy
forbids, so under ``none`` 1,027 of the province's 2,971 stations had fewer haul arcs
than the rule allows (48 of them without their own county-seat plant); a user village
with the id of a candidate (``I210124``) shared its distance-matrix row (0 m to the
plant); and a matrix in kilometres labelled as metres was accepted silently.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from wastenet.data import liaoning
from wastenet.errors import ValidationError
from wastenet.geo.distance import pairwise_haversine_m
from wastenet.geo.matrix import DistanceMatrix, save_matrix
from wastenet.scenario.network import (
    DIRECT_NEIGHBOURS,
    Network,
    build_network,
    sharing_matrix,
)
from wastenet.scenario.schema import Scenario, load_scenario
from wastenet.siting.build import build_siting_data
from wastenet.siting.data import Arcs, SitingData

FAKU, KANGPING = "210124", "210123"


def _with_policy(sc: Scenario, **policy: Any) -> Scenario:
    return sc.model_copy(update={"policy": sc.policy.model_copy(update=policy)})


def _county_idx(codes: tuple[str, ...]) -> NDArray[np.int64]:
    cidx = liaoning.county_index()
    return np.array([cidx[c] for c in codes], dtype=np.int64)


def _expected_rows(src_lon: NDArray[np.float64], src_lat: NDArray[np.float64],
                   src_c: NDArray[np.int64], dst_lon: NDArray[np.float64],
                   dst_lat: NDArray[np.float64], dst_c: NDArray[np.int64],
                   allowed: NDArray[np.bool_], limit_m: float, k: int, circuity: float,
                   chunk: int = 2000) -> NDArray[np.float64]:
    """Brute force: per source, the road distances of its ``k`` nearest allowed targets
    within ``limit_m`` (ascending, padded with inf), from dense haversine blocks."""
    out = np.full((len(src_lon), k), np.inf)
    for a in range(0, len(src_lon), chunk):
        s = slice(a, a + chunk)
        d = pairwise_haversine_m(src_lon[s], src_lat[s], dst_lon, dst_lat) * circuity
        d[~allowed[src_c[s][:, None], dst_c[None, :]] | (d > limit_m)] = np.inf
        d.sort(axis=1)
        w = min(k, d.shape[1])
        out[s, :w] = d[:, :w]
    return out


def _got_rows(arcs: Arcs, n: int, k: int) -> NDArray[np.float64]:
    """The arcs' road distances per source row (ascending, padded with inf)."""
    out = np.full((n, k), np.inf)
    order = np.lexsort((arcs.distance_m, arcs.src))
    src, dist = arcs.src[order], arcs.distance_m[order]
    start = np.searchsorted(src, np.arange(n))
    rank = np.arange(src.size) - start[src]
    assert rank.max(initial=0) < k, "a row holds more arcs than the rule allows"
    out[src, rank] = dist
    return out


def _assert_exact_arcs(net: Network, data: SitingData) -> None:
    """Every village and station has exactly the arcs of its nearest allowed
    candidates within the limits (no fewer, no other)."""
    sc = net.scenario
    allowed = sharing_matrix(sc.policy.sharing)
    circ = sc.network.circuity_factor
    v, t, i = net.villages, net.transfer, net.incinerator
    vc, tc, ic = _county_idx(v.county), _county_idx(t.county), _county_idx(i.county)
    for name, arcs, src, sc_, dst, dc, limit, k in (
            ("collect", data.collect, v, vc, t, tc, sc.policy.service_radius_km,
             sc.network.neighbours_per_village),
            ("direct", data.direct, v, vc, i, ic, sc.policy.direct_radius_km,
             DIRECT_NEIGHBOURS),
            ("haul", data.haul, t, tc, i, ic, sc.policy.max_transfer_haul_km,
             sc.network.incinerators_per_station)):
        want = _expected_rows(src.lon, src.lat, sc_, dst.lon, dst.lat, dc, allowed,
                              limit * 1000.0, k, circ)
        got = _got_rows(arcs, len(src.lon), k)
        short = np.isfinite(want).sum(axis=1) != np.isfinite(got).sum(axis=1)
        assert not short.any(), (f"{sc.policy.sharing}: {int(short.sum())} {name} rows "
                                 "hold another number of arcs than the rule allows")
        both = np.isfinite(want)
        assert np.allclose(got[both], want[both], rtol=1e-9, atol=1e-3), name
        assert (allowed[sc_[arcs.src], dc[arcs.dst]]).all(), name


@pytest.fixture(scope="module")
def province(repo_root: Path) -> Scenario:
    """The province scenario (adjacent sharing)."""
    return load_scenario(repo_root / "scenarios" / "liaoning-2025.toml")


@pytest.mark.parametrize("sharing", ["none", "adjacent", "prefecture"])
def test_province_arcs_are_the_nearest_allowed_ones(province: Scenario, sharing: str) -> None:
    """For the province network under none, adjacent and prefecture sharing, every
    village's collect and direct arcs and every station's haul arcs are exactly its
    nearest allowed candidates within the limits, at most k, checked against a brute
    force over all pairs (before the fix 1,027 stations were short under none, 179
    under adjacent and 789 under prefecture); and every neighbour list holds allowed
    candidates only."""
    net = build_network(_with_policy(province, sharing=sharing))
    _assert_exact_arcs(net, build_siting_data(net))
    allowed = sharing_matrix(net.scenario.policy.sharing)
    vc, tc = _county_idx(net.villages.county), _county_idx(net.transfer.county)
    ic = _county_idx(net.incinerator.county)
    for nb, src_c, dst_c in ((net.village_to_transfer, vc, tc),
                             (net.village_to_incinerator, vc, ic),
                             (net.transfer_to_incinerator, tc, ic)):
        r, c = np.nonzero(nb.idx >= 0)
        assert allowed[src_c[r], dst_c[nb.idx[r, c]]].all()


def test_no_sharing_station_hauls_to_its_own_county_seat_plant(repo_root: Path) -> None:
    """Under liaoning-2025-no-sharing every station whose own county's county-seat plant
    (the only candidate with the 100-600 t/d sizes) lies within max_transfer_haul_km has
    a haul arc to it; before the fix 48 stations in 9 counties had none, because their
    list was filled by nearer plants of other counties."""
    sc = load_scenario(repo_root / "scenarios" / "liaoning-2025-no-sharing.toml")
    assert sc.policy.sharing == "none"
    net = build_network(sc)
    data = build_siting_data(net)
    t, i = net.transfer, net.incinerator
    seat = {c: k for k, (c, kind) in enumerate(zip(i.county, i.kind, strict=True))
            if kind == "county_seat"}
    k = np.array([seat[c] for c in t.county])
    road = pairwise_haversine_m(t.lon, t.lat, i.lon, i.lat)[np.arange(len(t)), k] \
        * sc.network.circuity_factor
    reach = road <= sc.policy.max_transfer_haul_km * 1000.0
    arcs = set(zip(data.haul.src.tolist(), data.haul.dst.tolist(), strict=True))
    missing = [t.ids[j] for j in np.flatnonzero(reach) if (int(j), int(k[j])) not in arcs]
    assert reach.sum() > 2900 and missing == []


def test_network_given_another_policy_is_compiled_with_that_policy(province: Scenario) -> None:
    """A network built under free sharing and handed a scenario with sharing none
    (``dataclasses.replace``) compiles the arcs of none: its neighbour lists are rebuilt
    for the scenario it carries, so the arcs are the nearest allowed ones."""
    free = build_network(_with_policy(province, sharing="free"))
    none_sc = _with_policy(province, sharing="none")
    swapped = dataclasses.replace(free, scenario=none_sc)
    data = build_siting_data(swapped)
    _assert_exact_arcs(swapped, data)
    direct = build_siting_data(build_network(none_sc))
    for a, b in ((data.collect, direct.collect), (data.haul, direct.haul)):
        assert np.array_equal(a.src, b.src) and np.allclose(a.distance_m, b.distance_m)


def _place_table(net: Network) -> tuple[tuple[str, ...], NDArray[np.float64],
                                        NDArray[np.float64]]:
    ids, lon, lat = [], [], []
    for tab in (net.villages, net.transfer, net.incinerator):
        ids += list(tab.ids)
        lon += tab.lon.tolist()
        lat += tab.lat.tolist()
    return tuple(ids), np.array(lon), np.array(lat)


def test_matrix_keeps_the_k_nearest_allowed_by_road(tmp_path: Path) -> None:
    """With a user road matrix and sharing none, each village's collect arcs are its
    k nearest stations by road among the 2k nearest *allowed* ones by the estimate
    (the documented rule); before the fix the 2k were of any county, so villages near
    the Faku-Kangping border lost allowed stations."""
    base = Scenario.model_validate({
        "name": "two", "data": {"counties": [FAKU, KANGPING], "villages_total": 4000},
        "network": {"neighbours_per_village": 3},
        "candidates": {"transfer": {"extra_per_county": 20}},
        "policy": {"sharing": "none"}})
    net0 = build_network(base)
    ids, lon, lat = _place_table(net0)
    gc = pairwise_haversine_m(lon, lat, lon, lat)
    rng = np.random.default_rng(7)
    road = gc * rng.uniform(1.2, 1.6, gc.shape)
    np.fill_diagonal(road, 0.0)
    path = tmp_path / "m.npz"
    save_matrix(DistanceMatrix(ids=ids, distance_m=road, duration_s=road / 10.0), path)
    sc = base.model_copy(update={"data": base.data.model_copy(
        update={"distance_matrix_file": str(path)})})
    net = build_network(sc)
    data = build_siting_data(net)
    v, t = net.villages, net.transfer
    k = sc.network.neighbours_per_village
    circ = sc.network.circuity_factor
    pos = {x: n for n, x in enumerate(ids)}
    vp = np.array([pos[x] for x in v.ids])
    tp = np.array([pos[x] for x in t.ids])
    est = gc[np.ix_(vp, tp)] * circ
    same = np.array(v.county)[:, None] == np.array(t.county)[None, :]
    est[~same | (est > 20_000.0)] = np.inf
    first = np.argsort(est, axis=1, kind="stable")[:, :2 * k]
    cand_road = road[vp[:, None], tp[first]]
    cand_road[~np.isfinite(np.take_along_axis(est, first, axis=1))] = np.inf
    cand_road[cand_road > 20_000.0] = np.inf
    want = np.sort(cand_road, axis=1)[:, :k]
    got = _got_rows(data.collect, len(v), k)
    assert (np.isfinite(want).sum(1) == np.isfinite(got).sum(1)).all()
    assert np.allclose(got[np.isfinite(want)], want[np.isfinite(want)])


# --------------------------------------------------------------------------- ids


def _villages_csv(tmp_path: Path, rows: list[tuple[str, float, float]]) -> Path:
    path = tmp_path / "v.csv"
    path.write_text("id,lon,lat,population\n" + "".join(
        f"{i},{x},{y},500\n" for i, x, y in rows), encoding="utf-8")
    return path


def _user(tmp_path: Path, rows: list[tuple[str, float, float]],
          **extra: Any) -> Scenario:
    spec: dict[str, Any] = {"name": "ids", "data": {
        "source": "user", "villages_file": str(_villages_csv(tmp_path, rows))}}
    spec.update(extra)
    return Scenario.model_validate(spec)


def test_village_with_the_id_of_the_county_seat_plant_is_refused(tmp_path: Path) -> None:
    """A user village with id I210124 (the id of Faku's county-seat incinerator
    candidate) is refused naming the id, the village's row in its file and the plant;
    before the fix the two shared one row of the distance matrix, so the village was
    0 m from the plant (6.5 km in truth)."""
    c = liaoning.get_county(FAKU)
    sc = _user(tmp_path, [("v2", c.lon, c.lat + 0.03), (f"I{FAKU}", c.lon + 0.06, c.lat)])
    with pytest.raises(ValidationError) as err:
        build_network(sc)
    e = err.value
    assert (e.field, e.value) == ("data.villages_file", f"I{FAKU}")
    assert "row 2 of v.csv" in str(e) and "county-seat incinerator candidate" in str(e)
    assert "candidates.incinerator.county_seats" in str(e)


@pytest.mark.parametrize(("village_id", "cands", "field", "needles"), [
    ("S1", {"transfer": {"sites": [{"id": "S1", "lon": 123.26, "lat": 42.42}]}},
     "candidates.transfer.sites[0].id", ["data.villages[1].id", "transfer site"]),
    ("v9", {"transfer": {"sites": [{"id": "X1", "lon": 123.26, "lat": 42.42}]},
            "incinerator": {"existing": [{"id": "X1", "lon": 123.3, "lat": 42.4,
                                          "remaining_capacity_t_per_day": 50}]}},
     "candidates.incinerator.existing[0].id",
     ["candidates.transfer.sites[0].id", "incinerator existing facility"]),
    (f"D{FAKU}", {}, "data.villages[1].id", [f"routing depot of county {FAKU}"]),
    ("v9", {"incinerator": {"county_seats": False},
            "transfer": {"sites": [{"id": f"I{FAKU}", "lon": 123.26, "lat": 42.42}]}},
     "candidates.transfer.sites[0].id", [f"routing depot of county {FAKU}",
                                         f"lacks D{FAKU}"]),
])
def test_ids_shared_by_two_places_are_refused(village_id: str, cands: dict[str, Any],
                                              field: str, needles: list[str]) -> None:
    """An id shared by a village and a transfer site, by a transfer site and an existing
    incinerator, a village named like a county's routing depot (D<adcode>), or a
    transfer site named like the depot's alias I<adcode> when there is no county-seat
    plant is refused, naming the id and both places; before the fix such places shared
    one distance-matrix row silently. Distinct ids build."""
    spec: dict[str, Any] = {"name": "ids", "data": {"source": "user", "villages": [
        {"id": "v1", "lon": 123.2, "lat": 42.4, "population": 300},
        {"id": village_id, "lon": 123.3, "lat": 42.45, "population": 300}]},
        "candidates": cands}
    with pytest.raises(ValidationError) as err:
        build_network(Scenario.model_validate(spec))
    e = err.value
    assert e.field == field and "names two places" in str(e)
    assert all(n in str(e) for n in needles), str(e)
    spec["data"]["villages"][1]["id"] = "v2"
    for echelon in cands.values():
        for part in ("sites", "existing"):
            for r, site in enumerate(echelon.get(part, [])):
                site["id"] = f"{part}-{r}-{id(echelon)}"
    assert len(build_network(Scenario.model_validate(spec)).villages) == 2


# --------------------------------------------------------------------------- matrix


@pytest.fixture(scope="module")
def faku_places() -> tuple[Scenario, tuple[str, ...], NDArray[np.float64]]:
    """Faku's scenario, its places' ids and their great-circle distances."""
    sc = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "faku.toml")
    ids, lon, lat = _place_table(build_network(sc))
    return sc, ids, pairwise_haversine_m(lon, lat, lon, lat)


def _with_matrix(sc: Scenario, path: Path, ids: tuple[str, ...],
                 dist: NDArray[np.float64]) -> Scenario:
    save_matrix(DistanceMatrix(ids=ids, distance_m=dist, duration_s=dist / 10.0), path)
    return sc.model_copy(update={"data": sc.data.model_copy(
        update={"distance_matrix_file": str(path)})})


def test_matrix_in_kilometres_is_refused(tmp_path: Path, faku_places: Any) -> None:
    """A road matrix in kilometres labelled as metres (1000 times too short) is refused
    naming data.distance_matrix_file, with the median road / great-circle ratio and a
    hint that the distances look like kilometres; the same matrix in metres builds
    without a warning. Before the fix every pair then lay "within" every radius."""
    sc, ids, gc = faku_places
    with pytest.raises(ValidationError) as err:
        build_network(_with_matrix(sc, tmp_path / "km.npz", ids, gc * 1.3 / 1000.0))
    e = err.value
    assert e.field == "data.distance_matrix_file" and str(e.value).endswith("km.npz")
    assert "median ratio" in str(e) and e.hint is not None and "kilometres" in e.hint
    ok = build_network(_with_matrix(sc, tmp_path / "m.npz", ids, gc * 1.3))
    assert ok.warnings == ()


def test_matrix_with_pairs_shorter_than_the_straight_line_warns(
        tmp_path: Path, faku_places: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A plausible road matrix with a few pairs far shorter than the great-circle
    distance between their places (here 40 pairs at a tenth of it) builds, with a
    warning on the wastenet.network logger and in Network.warnings that counts them and
    names the worst pair."""
    sc, ids, gc = faku_places
    net0 = build_network(sc)
    nb = net0.village_to_transfer
    rows = np.flatnonzero((nb.idx[:, 0] >= 0) & (nb.dist_m[:, 0] > 5_000.0))[:40]
    assert rows.size == 40
    pos = {x: n for n, x in enumerate(ids)}
    road = gc * 1.3
    a = [pos[net0.villages.ids[r]] for r in rows]
    b = [pos[net0.transfer.ids[int(nb.idx[r, 0])]] for r in rows]
    road[a, b] = gc[a, b] / 10.0
    with caplog.at_level(logging.WARNING, logger="wastenet.network"):
        net = build_network(_with_matrix(sc, tmp_path / "m.npz", ids, road))
    msg = [w for w in net.warnings if "shorter than the great-circle distance" in w]
    assert len(msg) == 1 and msg[0].split(": ", 1)[1].startswith("40 of the ")
    assert "worst:" in msg[0]
    assert any("shorter than the great-circle" in r.getMessage() and
               r.name.startswith("wastenet.") for r in caplog.records)
