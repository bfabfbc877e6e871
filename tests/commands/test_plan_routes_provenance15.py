"""A route plan is refused when the siting output was made for other villages than the
scenario's (review: "plan-routes does not cross-check seeds"): the summary's
``data_seed`` and ``village_set_sha256`` are compared with the scenario's network
(:func:`wastenet.pipeline.check_provenance`), for ``wastenet plan-routes`` and for the
pipeline functions the service and plan-province call; a summary without them (an older
siting folder) is only warned about.

Two scenarios keep it quick: the small synthetic Faku scenario of ``test_pipeline``
(36 villages, sited once for the module by ``wastenet site``) and a three-village
user-data scenario (sited in a fraction of a second by :func:`run_siting`). Routing runs
under a solution limit with a fixed seed.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

import wastenet.pipeline
from wastenet.cli import main
from wastenet.errors import ValidationError
from wastenet.scenario.network import build_network
from wastenet.scenario.schema import Scenario
from wastenet.siting.build import build_siting_data

FAKU = "210124"
DATE = "2026-12-01"
ROUTE = ["--seed", "0", "--solution-limit", "5", "--time-limit", "10"]
SMALL: dict[str, Any] = {
    "name": "faku-small",
    "data": {"counties": [FAKU], "villages_total": 2000, "seed": 11},
    "candidates": {"transfer": {"extra_per_county": 4}},
    "policy": {"sharing": "none"},
    "fleet": {"narrow_lane_fraction": 0.0},
    "solver": {"time_limit_s": 30, "routing_time_limit_s": 5},
}
VILLAGES = [("fa", 123.20, 42.40), ("fb", 123.31, 42.44), ("fc", 123.26, 42.31)]


def user_spec(shift_deg: float = 0.0) -> dict[str, Any]:
    """Three user villages in Faku (moved east by ``shift_deg``), one station S1."""
    return {
        "name": "user-faku",
        "data": {"source": "user", "counties": [FAKU],
                 "villages": [{"id": k, "lon": lon + shift_deg, "lat": lat,
                               "population": 300, "county": FAKU}
                              for k, lon, lat in VILLAGES]},
        "candidates": {"transfer": {"extra_per_county": 0, "sites": [
            {"id": "S1", "name": "站1", "lon": 123.28, "lat": 42.38}]}},
        "fleet": {"narrow_lane_fraction": 0.0,
                  "vehicles": [{"name": "truck", "count": 2, "capacity_t": 5.0}]},
    }


def write_scenario(path: Path, spec: dict[str, Any]) -> Path:
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The small Faku scenario (data seed 11) as a file and its ``wastenet site`` folder."""
    base = tmp_path_factory.mktemp("prov15")
    scenario = write_scenario(base / "faku-small.json", SMALL)
    assert main(["site", str(scenario), "--out", str(base / "site"), "--no-progress",
                 "--time-limit", "30"]) == 0
    return scenario, base / "site"


@pytest.fixture(scope="module")
def user_siting() -> dict[str, Any]:
    """:func:`run_siting` of the three-village user scenario (what the service stores)."""
    return wastenet.pipeline.run_siting(Scenario.model_validate(user_spec()),
                                        time_limit_s=20)


def plan_routes(scenario: Path, site: Path, out: Path) -> int:
    return main(["plan-routes", str(scenario), "--siting", str(site), "--county", FAKU,
                 "--date", DATE, "--out", str(out), *ROUTE])


def test_plan_routes_refuses_a_siting_folder_of_another_data_seed(
        small_site: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A folder sited with data seed 11, routed with the same scenario but data seed 12
    (the same village ids, other positions and tonnages), exits with 2 and one error
    naming summary.json's data_seed, both seeds and what to do, before any output folder
    is made (it used to route the other villages, or fail with an unrelated
    infeasibility)."""
    _, site = small_site
    other = write_scenario(tmp_path / "seed12.json",
                           {**SMALL, "data": {**SMALL["data"], "seed": 12}})
    out = tmp_path / "out"
    rc = plan_routes(other, site, out)
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{site / 'summary.json'}:data_seed=11" in err
    assert "data_seed 11 in the siting output, 12 for this scenario" in err
    assert "site again with this scenario" in err and "'faku-small'" in err
    assert "infeasible" not in err and "Traceback" not in err
    assert not out.exists()


def test_plan_routes_refuses_other_villages_with_the_same_seed(
        small_site: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Same data seed, other villages_total (so other villages): refused on
    village_set_sha256, naming the folder's digest and the scenario's."""
    _, site = small_site
    summary = json.loads((site / "summary.json").read_text(encoding="utf-8"))
    other_spec = {**SMALL, "data": {**SMALL["data"], "villages_total": 2200}}
    other = write_scenario(tmp_path / "more.json", other_spec)
    ours = wastenet.pipeline.village_set_digest(
        build_siting_data(build_network(Scenario.model_validate(other_spec))))
    assert ours != summary["village_set_sha256"]
    rc = plan_routes(other, site, tmp_path / "out")
    err = capsys.readouterr().err
    assert rc == 2
    assert f"summary.json:village_set_sha256='{summary['village_set_sha256']}'" in err
    assert f"'{ours}' for this scenario" in err
    assert "have no assigned facility" not in err


def test_a_matching_siting_folder_still_plans(
        small_site: tuple[Path, Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The scenario the folder was sited with plans as before (exit 0, plan.json
    written), with no provenance warning."""
    scenario, site = small_site
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="wastenet"):
        assert plan_routes(scenario, site, out) == 0
    assert json.loads((out / "plan.json").read_text(encoding="utf-8"))["routes"]
    assert not [r for r in caplog.records if "is not checked" in r.getMessage()]


def test_route_plan_of_moved_user_villages_is_refused(
        user_siting: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's path (:func:`run_route_plan` with the stored siting dict): user
    villages with the same ids moved 0.15 degrees east are refused on
    siting.summary.village_set_sha256 with both digests, before any routing (it used
    to plan them silently against the old assignments)."""
    import wastenet.routing.solve

    def no_solve(*_a: object, **_k: object) -> None:
        raise AssertionError("routed a siting output of other villages")

    monkeypatch.setattr(wastenet.routing.solve, "solve", no_solve)
    moved = Scenario.model_validate(user_spec(0.15))
    with pytest.raises(ValidationError) as exc:
        wastenet.pipeline.run_route_plan(moved, user_siting, FAKU, DATE, seed=0,
                                         solution_limit=5)
    theirs = user_siting["summary"]["village_set_sha256"]
    assert (exc.value.field, exc.value.value) == ("siting.summary.village_set_sha256",
                                                  theirs)
    assert f"{theirs!r} in the siting output" in str(exc.value)
    assert "pass the scenario it was made from ('user-faku')" in str(exc.value)


@pytest.mark.parametrize("drop", [("data_seed", "village_set_sha256"),
                                  ("village_set_sha256",)])
def test_summary_without_provenance_only_warns(
        user_siting: dict[str, Any], drop: tuple[str, ...],
        caplog: pytest.LogCaptureFixture) -> None:
    """A summary without the provenance fields (an older siting output, a stored run
    from before them) is not refused: the route plan is made, without a warning per
    county-day, and the commands' one check with ``warn=True`` logs one warning on a
    wastenet.* logger naming the missing fields and the scenario; with the moved
    villages, only what is there (nothing, or data_seed None = None) is compared."""
    siting = copy.deepcopy(user_siting)
    for key in drop:
        del siting["summary"][key]
    moved = Scenario.model_validate(user_spec(0.15))

    def warned() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno == logging.WARNING
                and r.name.startswith("wastenet.") and "is not checked" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="wastenet"):
        res = wastenet.pipeline.run_route_plan(moved, siting, FAKU, DATE, seed=0,
                                               solution_limit=5)
        assert res["plan"]["routes"]
        assert warned() == []
        wastenet.pipeline.check_provenance(siting, build_network(moved), warn=True)
    assert len(warned()) == 1
    text = warned()[0].getMessage()
    assert "siting.summary has no" in text and "village_set_sha256" in text
    assert ("data_seed" in text) == ("data_seed" in drop) and "'user-faku'" in text


def test_plan_routes_folder_without_provenance_warns_and_plans(
        small_site: tuple[Path, Path], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """plan-routes from a copy of the folder whose summary.json lacks data_seed and
    village_set_sha256 plans (exit 0) and warns once, naming that summary.json."""
    scenario, site = small_site
    old = tmp_path / "old-site"
    old.mkdir()
    for name in ("facilities.geojson", "assignments.csv"):
        (old / name).write_bytes((site / name).read_bytes())
    summary = json.loads((site / "summary.json").read_text(encoding="utf-8"))
    for key in ("data_seed", "village_set_sha256"):
        del summary[key]
    (old / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="wastenet"):
        assert plan_routes(scenario, old, tmp_path / "out") == 0
    warned = [r.getMessage() for r in caplog.records if "is not checked" in r.getMessage()]
    assert len(warned) == 1 and str(old / "summary.json") in warned[0]


def test_the_network_digest_is_the_siting_digest_and_computed_once(
        user_siting: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest computed from the network equals the one ``wastenet site`` writes,
    and routing several days (or counties) on one network computes it once."""
    import wastenet.scenario.network as netmod
    from wastenet.pipeline import route_plan_data, route_plan_week

    sc = Scenario.model_validate(user_spec())
    network = build_network(sc)
    calls: list[int] = []
    real = netmod.villages_digest

    def counted(*a: Any) -> str:
        calls.append(1)
        return real(*a)

    monkeypatch.setattr(netmod, "villages_digest", counted)
    assert network.village_digest == user_siting["summary"]["village_set_sha256"]
    week = route_plan_week(sc, user_siting, FAKU, network=network)
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        route_plan_data(sc, user_siting, FAKU, day, network=network, week=week)
        route_plan_data(sc, dict(user_siting), FAKU, day, network=network)
    assert calls == [1]


def test_plan_province_refuses_a_siting_folder_of_another_data_seed(
        small_site: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """plan-province from a folder sited with data seed 11, with the scenario at seed
    12: one error naming summary.json's data_seed and both seeds, exit 2, no output
    folder (it used to plan every county against the other villages' assignments)."""
    _, site = small_site
    other = write_scenario(tmp_path / "seed12.json",
                           {**SMALL, "data": {**SMALL["data"], "seed": 12}})
    out = tmp_path / "out"
    rc = main(["plan-province", str(other), "--siting", str(site), "--date", DATE,
               "--out", str(out), "--workers", "1", *ROUTE])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{site / 'summary.json'}:data_seed=11" in err
    assert "data_seed 11 in the siting output, 12 for this scenario" in err
    assert not out.exists()


def test_province_units_carry_the_provenance_only(small_site: tuple[Path, Path]) -> None:
    """A province work unit's siting carries, of the summary, only the scenario's name,
    data_seed and village_set_sha256 (what the per-unit check reads), so a unit of other
    villages is still refused by :func:`route_plan_data`, and units stay small."""
    from wastenet.commands.plan_routes import load_siting_dir
    from wastenet.province import county_siting

    _, site = small_site
    siting = load_siting_dir(str(site))
    unit = county_siting(siting, FAKU)
    assert set(unit["summary"]) == {"scenario", "data_seed", "village_set_sha256"}
    assert unit["summary"]["data_seed"] == siting["summary"]["data_seed"] == 11
    other = Scenario.model_validate({**SMALL, "data": {**SMALL["data"], "seed": 12}})
    with pytest.raises(ValidationError) as exc:
        wastenet.pipeline.route_plan_data(other, unit, FAKU, DATE)
    assert (exc.value.field, exc.value.value) == ("siting.summary.data_seed", 11)
