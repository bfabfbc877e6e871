"""``wastenet keys`` and ``wastenet serve`` start-up checks, through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.db.session import make_engine
from api.db.store import Store
from wastenet.cli import main


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the service settings at a fresh data directory."""
    monkeypatch.setenv("WASTENET_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WASTENET_DATABASE_URL", raising=False)
    monkeypatch.delenv("WASTENET_HOST", raising=False)
    return tmp_path


def test_keys_create_prints_a_working_secret_once(data_dir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The printed token verifies against the database, which holds only its hash."""
    assert main(["keys", "create", "--role", "county", "--county", "210124", "210123"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    engine = make_engine(f"sqlite:///{data_dir / 'wastenet.db'}")
    try:
        row = Store(engine).verify_key(token)
        assert row is not None and row.role == "county"
        assert sorted(row.counties) == ["210123", "210124"]
        assert token.split("_", 2)[2] not in (data_dir / "wastenet.db").read_bytes().decode(
            "latin-1")
    finally:
        engine.dispose()
    assert main(["keys", "list"]) == 0
    assert row.id in capsys.readouterr().out


def test_keys_create_repeated_county_options_add_up(data_dir: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``--county A --county B`` gives the key both counties (the second option does not
    replace the first)."""
    assert main(["keys", "create", "--role", "county", "--county", "210124",
                 "--county", "210123", "210181"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    engine = make_engine(f"sqlite:///{data_dir / 'wastenet.db'}")
    try:
        row = Store(engine).verify_key(token)
        assert row is not None
        assert sorted(row.counties) == ["210123", "210124", "210181"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("argv", [
    ["keys", "create", "--role", "county"],
    ["keys", "create", "--role", "county", "--county", "999999"],
    ["keys", "create", "--role", "engineer", "--county", "210124"],
    ["keys", "revoke", "nope"],
])
def test_keys_bad_arguments_exit_2(data_dir: Path, argv: list[str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Bad key requests fail with exit code 2 and a message naming the field."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--county" in err or "key_id" in err


def test_serve_refuses_a_public_listener_without_keys(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``serve --host 0.0.0.0`` with no key exits 2 and says how to create one."""
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "wastenet keys create --role admin" in capsys.readouterr().err
