"""End to end over HTTP with real solves of ``scenarios/faku.toml`` (marked slow: the
siting alone takes 20-40 s on a busy 2-core machine). This is the README curl walk-through
as a test: submit the TOML, run it to ``succeeded``, fetch the result, request the Faku
route plan for a date, download it as GPX and as the HTML driver sheet."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import gpxpy
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _finish(c: TestClient, run_id: str, timeout: float = 240) -> dict[str, Any]:
    return wait_for(lambda: (j := c.get(f"/v1/runs/{run_id}").json())["status"]
                    in ("succeeded", "failed", "cancelled") and j, timeout, interval=0.5,
                    what=f"run {run_id}")


def test_faku_over_http(settings_factory: Callable[..., Settings]) -> None:
    """Submit, solve, read the result, plan a day and download GPX and HTML."""
    app = create_app(settings_factory(start_workers=True, kill_grace_s=60))
    with TestClient(app) as c:
        toml = (ROOT / "scenarios" / "faku.toml").read_text(encoding="utf-8")
        r = c.post("/v1/scenarios", content=toml, headers={"Content-Type": "application/toml"})
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = c.post(f"/v1/scenarios/{sid}/runs", json={"time_limit_s": 20})
        assert r.status_code == 202
        run = _finish(c, r.json()["id"])
        assert run["status"] == "succeeded", run["last_error"]
        res = c.get(f"/v1/runs/{run['id']}/result?limit=5").json()
        s = res["summary"]
        assert s["lower_bound_yuan_per_year"] <= s["total_cost_yuan_per_year"] * (1 + 1e-9)
        assert s["synthetic"] is True
        assert res["facilities"]["type"] == "FeatureCollection"
        assert len(res["assignments"]) == 5
        assert res["assignments_total"] == s["kpis"]["villages_covered"]
        cmp = c.get(f"/v1/runs/{run['id']}/compare/{run['id']}")
        assert cmp.status_code == 200

        r = c.post(f"/v1/runs/{run['id']}/route-plans",
                   json={"county": "210124", "date": "2026-12-01"})
        assert r.status_code == 202
        plan_run = _finish(c, r.json()["id"])
        assert plan_run["status"] == "succeeded", plan_run["last_error"]
        gpx = c.get("/v1/route-plans/210124/2026-12-01?format=gpx")
        assert gpx.status_code == 200
        assert gpx.headers["content-disposition"].startswith("attachment")
        parsed = gpxpy.parse(gpx.text)
        assert parsed.routes and all(rt.points for rt in parsed.routes)
        html = c.get("/v1/route-plans/210124/2026-12-01?format=html")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        tags: list[str] = []

        class P(HTMLParser):
            def handle_starttag(self, tag: str, attrs: Any) -> None:
                tags.append(tag)

        P().feed(html.text)
        assert "table" in tags or "ol" in tags


def test_worker_killed_during_a_real_siting(settings_factory: Callable[..., Settings]) -> None:
    """Kill the worker in the middle of the Faku siting: the run is re-queued once and its
    second attempt succeeds."""
    app = create_app(settings_factory(start_workers=True, kill_grace_s=60))
    with TestClient(app) as c:
        toml = (ROOT / "scenarios" / "faku.toml").read_text(encoding="utf-8")
        sid = c.post("/v1/scenarios", content=toml,
                     headers={"Content-Type": "application/toml"}).json()["id"]
        rid = c.post(f"/v1/scenarios/{sid}/runs", json={"time_limit_s": 10}).json()["id"]
        pid = wait_for(lambda: app.state.jobs.worker_pids().get(rid), 60, what="start")
        wait_for(lambda: c.get(f"/v1/runs/{rid}").json()["progress"]["message"], 60,
                 what="solver progress")
        os.kill(pid, signal.SIGKILL)
        run = _finish(c, rid)
        assert run["status"] == "succeeded" and run["attempts"] == 2
        assert f"worker process {pid} died" in run["last_error"]
