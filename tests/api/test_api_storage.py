"""Storage tests, run on a real SQLite file and (with WASTENET_TEST_POSTGRES_URL) on a
real PostgreSQL server: the same tests on both."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, select, text

from api.db.models import RESULT_SCHEMA_VERSION, ApiKeyRow, Base
from api.db.session import migrate
from api.db.store import IdempotencyConflict, Store, hash_secret


def _scenario(store: Store, name: str = "s") -> str:
    return store.create_scenario(name=name, source_format="json", body={"name": name},
                                 raw_text="{}", owner_key_id=None).id


def test_migrations_match_models_and_are_idempotent(store: Store) -> None:
    """Alembic's head equals the ORM metadata, and migrating twice changes nothing."""
    migrate(store.engine)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert diff == []
    assert {"scenarios", "runs", "results", "route_plans", "route_plan_exports", "api_keys",
            "idempotency_keys"} <= tables
    assert version == "0004"


def test_scenarios_round_trip_and_paging(store: Store) -> None:
    """Scenarios come back as stored, oldest first, paged with a total."""
    ids = [_scenario(store, f"s{i}") for i in range(5)]
    got = store.get_scenario(ids[2])
    assert got is not None and got.body == {"name": "s2"} and got.name == "s2"
    page, total = store.list_scenarios(limit=2, offset=1)
    assert total == 5
    assert [r.id for r in page] == ids[1:3]
    assert store.get_scenario("nope") is None


def test_claim_is_fifo_and_counts_attempts(store: Store) -> None:
    """The oldest queued run is claimed first; a claim sets running and attempts=1."""
    sid = _scenario(store)
    a, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    b, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    first = store.claim_next(pid=123)
    assert first is not None and first.id == a.id
    assert first.status == "running" and first.attempts == 1 and first.worker_pid == 123
    second = store.claim_next()
    assert second is not None and second.id == b.id
    assert store.claim_next() is None


def test_worker_death_requeues_once_then_fails(store: Store) -> None:
    """First death: queued, attempts=1, last_error set. Second: failed with the reason."""
    sid = _scenario(store)
    run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    store.claim_next()
    assert store.worker_died(run.id, "worker process 7 died (exit code -9)", 2) == "queued"
    r = store.get_run(run.id)
    assert r is not None and r.status == "queued" and r.attempts == 1
    assert r.last_error is not None and "exit code -9" in r.last_error and "re-queued" in r.last_error
    store.claim_next()
    assert store.worker_died(run.id, "worker process 8 died (exit code -9)", 2) == "failed"
    r = store.get_run(run.id)
    assert r is not None and r.status == "failed" and r.attempts == 2
    assert r.last_error is not None and "giving up" in r.last_error and r.finished_at is not None


def test_recover_interrupted_counts_as_a_death(store: Store) -> None:
    """Runs left running by a crashed process are re-queued (or failed) on start."""
    sid = _scenario(store)
    run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    store.claim_next()
    assert store.recover_interrupted(2) == {run.id: "queued"}
    r = store.get_run(run.id)
    assert r is not None and r.status == "queued" and r.attempts == 1
    assert r.last_error is not None and "service stopped" in r.last_error


def test_graceful_requeue_does_not_charge_an_attempt(store: Store) -> None:
    """A shutdown puts running runs back to queued with their attempt refunded."""
    sid = _scenario(store)
    run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    store.claim_next()
    store.requeue_unfinished([run.id])
    r = store.get_run(run.id)
    assert r is not None and r.status == "queued" and r.attempts == 0


def test_cancel_queued_and_running(store: Store) -> None:
    """A queued run is cancelled at once; a running one is flagged for the manager."""
    sid = _scenario(store)
    q, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    r = store.request_cancel(q.id)
    assert r is not None and r.status == "cancelled"
    run, _ = store.create_run(kind="sleep", scenario_id=sid, params={})
    store.claim_next()
    r = store.request_cancel(run.id)
    assert r is not None and r.status == "running" and r.cancel_requested
    assert store.cancel_requested_ids() == {run.id}
    assert store.worker_died(run.id, "killed", 2) == "cancelled"


def test_results_keep_schema_version_and_drop_nan(store: Store) -> None:
    """A siting result is stored with its schema version; NaN becomes null (PostgreSQL's
    json type rejects NaN)."""
    sid = _scenario(store)
    run, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    store.claim_next()
    store.update_progress(run.id, {"fraction": 0.5, "incumbent": math.inf})
    assert store.get_run(run.id).progress == {"fraction": 0.5, "incumbent": None}  # type: ignore[union-attr]
    result = {"summary": {"gap": math.nan, "total_cost_yuan_per_year": 10.0},
              "facilities": {"type": "FeatureCollection", "features": []},
              "assignments": [{"village_id": "v1", "county": "210124"}]}
    store.finish_siting(run.id, result, 1.5)
    res = store.get_result(run.id)
    assert res is not None and res.schema_version == RESULT_SCHEMA_VERSION
    assert res.summary == {"gap": None, "total_cost_yuan_per_year": 10.0}
    assert res.assignments == [{"village_id": "v1", "county": "210124"}]
    r = store.get_run(run.id)
    assert r is not None and r.status == "succeeded" and r.solve_seconds == 1.5
    assert store.count_runs_by_status()["succeeded"] == 1


def test_route_plan_publication(store: Store) -> None:
    """The newest plan of a county-day is the published one; older ones stay readable by
    run id."""
    sid = _scenario(store)
    siting, _ = store.create_run(kind="siting", scenario_id=sid, params={})
    plans = []
    for i in range(2):
        rp, _ = store.create_run(kind="route_plan", scenario_id=sid, params={},
                                 parent_run_id=siting.id, county="210124",
                                 plan_date="2026-12-01")
        store.claim_next()
        store.finish_route_plan(rp.id, {"plan": {"n": i}, "exports": {"csv": f"c{i}"}}, 1.0)
        plans.append(rp.id)
    pub = store.get_route_plan("210124", "2026-12-01")
    assert pub is not None and pub.plan == {"n": 1} and pub.run_id == plans[1]
    old = store.get_route_plan("210124", "2026-12-01", plans[0])
    assert old is not None and store.route_plan_exports(old.id) == {"csv": "c0"}
    assert store.get_route_plan_export("210124", "2026-12-01", "csv") == (True, "c1")
    assert store.get_route_plan_export("210124", "2026-12-01", "gpx") == (True, None)
    assert store.get_route_plan_export("210124", "2026-12-09", "csv") == (False, None)
    assert store.get_route_plan("210124", "2026-12-02") is None
    assert store.get_route_plan("210123", "2026-12-01") is None


def test_idempotency_returns_the_first_run(store: Store) -> None:
    """The same (key, principal) yields the run created first; another principal not."""
    sid = _scenario(store)
    a, created_a = store.create_run(kind="siting", scenario_id=sid, params={},
                                    idempotency=("k1", "p1", "h"))
    b, created_b = store.create_run(kind="siting", scenario_id=sid, params={},
                                    idempotency=("k1", "p1", "h"))
    c, created_c = store.create_run(kind="siting", scenario_id=sid, params={},
                                    idempotency=("k1", "p2", "h"))
    assert created_a and not created_b and created_c
    assert a.id == b.id != c.id


def test_concurrent_requests_with_one_idempotency_key_share_one_run(store: Store) -> None:
    """Requests racing on the same Idempotency-Key (threads released together) all get
    the same run, without an error, and only one run is stored per key."""
    sid = _scenario(store)
    for trial in range(5):
        barrier = threading.Barrier(6)
        got: list[str] = []
        errors: list[BaseException] = []

        def request(trial: int = trial, barrier: threading.Barrier = barrier,
                    got: list[str] = got, errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                run, _ = store.create_run(kind="siting", scenario_id=sid, params={},
                                          idempotency=(f"race-{trial}", "p", "h"))
                got.append(run.id)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=request) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(got) == 6 and len(set(got)) == 1
    runs, total = store.list_runs(scenario_id=sid, limit=100)
    assert total == 5 and len(runs) == 5


def test_idempotency_key_with_another_request_conflicts(store: Store) -> None:
    """A key reused with a different request hash raises IdempotencyConflict, both on the
    sequential path and when such requests race (threads released together): exactly one
    run is stored and every other request conflicts or gets that same run."""
    sid = _scenario(store)
    store.create_run(kind="siting", scenario_id=sid, params={}, idempotency=("kc", "p", "A"))
    with pytest.raises(IdempotencyConflict):
        store.create_run(kind="siting", scenario_id=sid, params={},
                         idempotency=("kc", "p", "B"))
    for trial in range(5):
        barrier = threading.Barrier(6)
        got: list[tuple[str, str]] = []
        conflicts: list[str] = []
        errors: list[BaseException] = []

        def request(h: str, trial: int = trial, barrier: threading.Barrier = barrier,
                    got: list[tuple[str, str]] = got, conflicts: list[str] = conflicts,
                    errors: list[BaseException] = errors) -> None:
            barrier.wait()
            try:
                run, _ = store.create_run(kind="siting", scenario_id=sid, params={},
                                          idempotency=(f"mixed-{trial}", "p", h))
                got.append((h, run.id))
            except IdempotencyConflict:
                conflicts.append(h)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=request, args=("AB"[t % 2],)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(got) + len(conflicts) == 6
        winners = {h for h, _ in got}
        assert len(winners) == 1 and len({rid for _, rid in got}) == 1
        assert winners.isdisjoint(conflicts)
    _, total = store.list_runs(scenario_id=sid, limit=100)
    assert total == 6


def test_api_keys_are_stored_as_hashes_only(store: Store) -> None:
    """The secret never reaches the database; verification needs the exact token; a
    revoked key stops working."""
    key = store.create_key("county", ["210124"], "faku team")
    secret = key.token.split("_", 2)[2]
    with store.session() as s:
        rows = s.scalars(select(ApiKeyRow)).all()
    assert len(rows) == 1
    row = rows[0]
    assert secret not in (row.secret_hash, row.id, row.label)
    assert row.secret_hash == hash_secret(secret)
    ok = store.verify_key(key.token)
    assert ok is not None and ok.role == "county" and ok.counties == ["210124"]
    assert store.verify_key(key.token[:-1] + ("A" if key.token[-1] != "A" else "B")) is None
    assert store.verify_key("wn_unknown_secret") is None
    assert store.verify_key("garbage") is None
    assert store.has_keys()
    assert store.revoke_key(key.key_id)
    assert store.verify_key(key.token) is None
    assert not store.has_keys()


def test_migration_0002_moves_exports_and_downgrades(db_url: str) -> None:
    """Plans stored under schema 0001 keep their exports through 0002 and back."""
    from api.db.session import make_engine

    engine = make_engine(db_url)
    try:
        migrate(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO scenarios (id, name, source_format, body, raw_text, "
                              "created_at) VALUES ('s', 's', 'json', '{}', '{}', "
                              "CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO runs (id, kind, scenario_id, status, attempts, params,"
                              " progress, cancel_requested, created_at) VALUES ('r', "
                              "'route_plan', 's', 'succeeded', 1, '{}', '{}', false, "
                              "CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO route_plans (id, run_id, siting_run_id, county, "
                              "plan_date, schema_version, plan, exports, published, created_at)"
                              " VALUES ('p', 'r', 'x', '210124', '2026-12-01', 1, '{}', "
                              "'{\"gpx\": \"<gpx/>\", \"csv\": \"a,b\"}', true, "
                              "CURRENT_TIMESTAMP)"))
        migrate(engine)
        store = Store(engine)
        assert store.route_plan_exports("p") == {"gpx": "<gpx/>", "csv": "a,b"}
        from alembic import command

        from api.db.session import alembic_config

        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001")
        with engine.connect() as conn:
            raw = conn.execute(text("SELECT exports FROM route_plans WHERE id = 'p'")).scalar()
        data = raw if isinstance(raw, dict) else __import__("json").loads(raw)
        assert data == {"gpx": "<gpx/>", "csv": "a,b"}
    finally:
        engine.dispose()


@pytest.mark.parametrize(("call", "index"), [
    (lambda st: st.list_runs(limit=5), "ix_runs_created"),
    (lambda st: st.list_scenarios(limit=5, offset=0), "ix_scenarios_created"),
])
def test_list_pages_read_their_index_in_order(store: Store, call: Any, index: str) -> None:
    """The newest-first run list and the oldest-first scenario list are served by an index
    on ``(created_at, id)``, not by sorting the table: the page query's plan names the
    index and no sort step (PostgreSQL is asked with sorting disabled, since on a table
    this small it would rightly prefer a sort)."""
    sid = _scenario(store)
    for _ in range(3):
        store.create_run(kind="sleep", scenario_id=sid, params={})
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any,
             _many: bool) -> None:
        if "ORDER BY" in statement:
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        call(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    assert len(seen) == 1, seen
    statement, parameters = seen[0]
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        if store.engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " / ".join(str(row[-1]) for row in cur.fetchall())
            assert index in plan and "TEMP B-TREE" not in plan, plan
        else:
            cur.execute("SET enable_sort = off")
            cur.execute("EXPLAIN " + statement, parameters)
            plan = " / ".join(str(row[0]) for row in cur.fetchall())
            assert index in plan and "Sort" not in plan, plan
        cur.close()
