"""The map page's address bar (``api/static/map/map.js``, fix of audit 15): the query
string names what each panel shows, and after a failed load the request that failed (the
run or plan the inputs, the summary and the error name), never the one shown before it
nor a value typed but not loaded; a stale answer changes nothing; clearing a panel drops
its part.

map.js runs under node (skipped when node is not installed) with the stub DOM, Leaflet
and ``fetch`` of ``test_map_page14.py``, whose ``history.replaceState`` is made to record
the addresses the page sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.api import test_map_page14 as page14
from tests.api.test_map_page14 import _base_routes, _result, needs_node

#: (text of the page-14 driver, replacement): record the addresses, snapshot the last
#: one, and let a step click a button.
PATCHES = [
    ("const groups = [];", "const groups = [];\nconst urls = [];"),
    ("history: { replaceState() {} },",
     "history: { replaceState(_s, _t, url) { urls.push(String(url)); } },"),
    ("  return {\n    status: elements.status.textContent,",
     "  return {\n    url: urls.length ? urls[urls.length - 1] : null,\n"
     "    status: elements.status.textContent,"),
    ("    if (step.submit) elements[step.submit].fire('submit');",
     "    if (step.submit) elements[step.submit].fire('submit');\n"
     "    if (step.click) elements[step.click].fire('click');"),
]


def _driver() -> str:
    text = page14.NODE_DRIVER
    for old, new in PATCHES:
        assert text.count(old) == 1, f"the page-14 driver changed: {old!r}"
        text = text.replace(old, new)
    return text


def _run_page(tmp_path: Path, scenario: dict[str, Any], monkeypatch: Any) -> dict[str, Any]:
    monkeypatch.setattr(page14, "NODE_DRIVER", _driver())
    return page14._run_page(tmp_path, scenario)


def _query(snap: dict[str, Any]) -> dict[str, str]:
    """The query of the address the page set last (no address set: empty)."""
    url = snap.get("url")
    if not url:
        return {}
    parts = urlsplit(url)
    assert parts.path == "/map", url
    return {k: v[-1] for k, v in parse_qs(parts.query).items()}


@needs_node
def test_the_address_names_what_is_shown_or_the_load_that_failed(
        tmp_path: Path, monkeypatch: Any) -> None:
    """Load run R1 and a plan; a slow failing R2 overtaken by R3 (stale: no trace); R4
    fails: the address names R4, as the inputs, the run summary and the error do (a
    reload retries it), not R1/R3 whose facilities are gone; a run id typed but not
    loaded stays out of the address when a plan loads; a plan that fails puts its day in
    the address; clearing the run, then the plan, removes their parts."""
    plan = {"type": "FeatureCollection", "features": []}
    routes = [["/v1/runs/R1/result", 200, _result("first", [10, 20])],
              ["/v1/runs/R2/result", 404, {"detail": "no run with id 'R2'"}, None, 600],
              ["/v1/runs/R3/result", 200, _result("third", [40])],
              ["/v1/runs/R4/result", 409, {"detail": "run R4 has no result: it is running"}],
              ["/v1/route-plans/210124/2026-12-02", 404, {"detail": "no plan published"}],
              *_base_routes(200, plan)]
    out = _run_page(tmp_path, {
        "search": "?run=R1&county=210124&date=2026-12-01", "routes": routes,
        "steps": [
            {"set": {"run-id": "R2"}, "submit": "run-form", "wait": 50},
            {"set": {"run-id": "R3"}, "submit": "run-form", "wait": 1000, "snap": True},
            {"set": {"run-id": "R4"}, "submit": "run-form", "wait": 300, "snap": True},
            {"set": {"run-id": "R9"}, "submit": "plan-form", "wait": 300, "snap": True},
            {"set": {"plan-date": "2026-12-02"}, "submit": "plan-form", "wait": 300,
             "snap": True},
            {"click": "run-clear", "wait": 50, "snap": True},
            {"click": "plan-clear", "wait": 50, "snap": True},
        ]}, monkeypatch)
    first, third, failed, plan_ok, plan_failed, run_cleared, all_cleared = out["steps"]
    assert _query(first) == {"run": "R1", "county": "210124", "date": "2026-12-01"}
    assert _query(third)["run"] == "R3" and "third" in third["runSummary"]
    assert "HTTP 409" in failed["status"] and "R4" in failed["runSummary"]
    assert _query(failed) == {"run": "R4", "county": "210124", "date": "2026-12-01"}
    assert _query(plan_ok) == {"run": "R4", "county": "210124", "date": "2026-12-01"}
    assert "no plan published" in plan_failed["status"]
    assert _query(plan_failed) == {"run": "R4", "county": "210124", "date": "2026-12-02"}
    assert _query(run_cleared) == {"county": "210124", "date": "2026-12-02"}
    assert all_cleared["url"] == "/map"
