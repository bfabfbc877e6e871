"""The atomic-write helper :func:`wastenet.atomicio.write_atomic`.

It replaced three private helpers (routing exports, the facility benchmark's OUT.json,
and, once swapped, ``plan-province``'s ``write_atomic``); the byte-for-byte tests compare
it with those helpers' own code, copied here as it was, so that a change of what lands on
disk (encoding, byte-order mark, newline translation) is caught.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from wastenet import atomicio
from wastenet.atomicio import default_temp_path, write_atomic

#: text with what could be written differently: non-ASCII, a BOM-sensitive start, both
#: kinds of line ending (csv's "\r\n" and a plain "\n"), no final newline
TEXT = "村名,吨/日\r\n大孤家子村,0.45\r\n\"三台子\n村\",1\nlast"
BYTES = b"\xef\xbb\xbfid,t\r\nV1,0.5\n\x00\xff"


def _old_plan_province(path: Path, text: str, encoding: str) -> None:
    """plan_province.write_atomic as it was (success path)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding=encoding)
    os.replace(tmp, path)


def _old_facility(path: Path, doc: dict[str, object]) -> None:
    """facility._write_json as it was (success path)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    os.replace(tmp, path)


def _old_exports(path: Path, blob: bytes) -> None:
    """The loop body of exports.write_all as it was."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_text_bytes_match_plan_province_helper(tmp_path: Path, encoding: str) -> None:
    """Text written with an encoding (UTF-8 with a BOM and UTF-16 included: one mark, at
    the start) gives exactly the bytes of plan_province's Path.write_text helper, newline
    translation included, and leaves only the target in the folder."""
    old, new = tmp_path / "old" / "province.csv", tmp_path / "new" / "province.csv"
    old.parent.mkdir()
    new.parent.mkdir()
    _old_plan_province(old, TEXT, encoding)
    write_atomic(new, TEXT, encoding,
                 temp_path=new.with_name(f".{new.name}.{os.getpid()}.tmp"))
    assert new.read_bytes() == old.read_bytes()
    if encoding == "utf-8-sig":
        assert new.read_bytes().startswith(b"\xef\xbb\xbf")
        assert new.read_bytes().count(b"\xef\xbb\xbf") == 1
    assert _only(new.parent) == ["province.csv"]


def test_newline_empty_writes_text_untranslated(tmp_path: Path) -> None:
    """newline='' writes the text exactly as encoded ("\\r\\n" and "\\n" kept), like
    open(..., newline='')."""
    path = tmp_path / "a.csv"
    write_atomic(path, TEXT, "utf-8", newline="")
    assert path.read_bytes() == TEXT.encode("utf-8")


def test_json_bytes_match_facility_helper(tmp_path: Path) -> None:
    """A compact JSON document and a newline, as the facility benchmark writes OUT.json,
    gives exactly the bytes of its former json.dump helper (non-ASCII escaped, NaN kept
    as json writes it)."""
    doc: dict[str, object] = {"instance": "p0 \u6751", "cost": 1.5e-7, "gap": float("nan"),
                              "open": [0, 2], "flows": [[0, 1, 0.6], [0, 2, 0.4]]}
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _old_facility(old, doc)
    write_atomic(new, json.dumps(doc, separators=(",", ":")) + "\n", "utf-8")
    assert new.read_bytes() == old.read_bytes()


def test_bytes_match_exports_helper(tmp_path: Path) -> None:
    """Bytes are written as they are (BOM, "\\r\\n", NUL), exactly as the exports'
    write_bytes helper wrote them."""
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    _old_exports(old, BYTES)
    write_atomic(new, BYTES)
    assert new.read_bytes() == old.read_bytes() == BYTES


def test_default_and_given_temp_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the temporary file is ``<name>.tmp`` beside the target; a given
    temp_path (plan_province's hidden, per-process name) is used instead. Either way
    only the target is left."""
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        renamed.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(atomicio.os, "replace", spy)
    path = tmp_path / "plan.json"
    assert default_temp_path(path) == tmp_path / "plan.json.tmp"
    write_atomic(path, b"{}")
    hidden = tmp_path / f".plan.json.{os.getpid()}.tmp"
    write_atomic(path, "[]", "utf-8", temp_path=hidden)
    assert renamed == [("plan.json.tmp", "plan.json"), (hidden.name, "plan.json")]
    assert _only(tmp_path) == ["plan.json"] and path.read_text(encoding="utf-8") == "[]"


def test_failed_rename_leaves_no_temp_and_the_old_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """When the rename fails (a full disk, a read-only folder) the OSError propagates
    unchanged, the temporary file is removed and the existing target keeps its old
    content."""
    path = tmp_path / "routes.csv"
    path.write_bytes(b"old content")

    def fail(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomicio.os, "replace", fail)
    with pytest.raises(OSError, match="No space left") as err:
        write_atomic(path, "new content", "utf-8")
    assert err.value.errno == 28
    assert path.read_bytes() == b"old content"
    assert _only(tmp_path) == ["routes.csv"]


def test_failed_write_leaves_no_temp_and_the_old_file(tmp_path: Path) -> None:
    """When the content cannot be written (text the encoding cannot hold, found half-way
    through the write) the error propagates, no temporary file is left (neither the
    default name nor a given one) and the existing target is untouched."""
    path = tmp_path / "province.json"
    path.write_text('{"old": true}\n', encoding="utf-8")
    hidden = tmp_path / ".province.json.1.tmp"
    for temp in (None, hidden):
        with pytest.raises(UnicodeEncodeError):
            write_atomic(path, "x" * 100_000 + "村", "ascii", temp_path=temp)
        with pytest.raises(UnicodeEncodeError):
            write_atomic(path, "lone surrogate \ud800", "utf-8", temp_path=temp)
    assert path.read_text(encoding="utf-8") == '{"old": true}\n'
    assert _only(tmp_path) == ["province.json"]


def test_interrupt_during_write_removes_the_temp(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupt (not an OSError) while the rename is pending removes the temporary
    file too, and propagates as it is."""
    path = tmp_path / "o.json"

    def interrupt(_src: object, _dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomicio.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, b"data")
    assert _only(tmp_path) == []


def test_missing_folder_is_an_oserror_and_creates_nothing(tmp_path: Path) -> None:
    """The folder is not created (callers do that): writing into a missing one is
    FileNotFoundError, and nothing is created."""
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "a.txt", "a", "utf-8")
    assert _only(tmp_path) == []


def test_a_stale_temp_file_is_overwritten(tmp_path: Path) -> None:
    """A temporary file left by an earlier, killed write is overwritten and renamed; the
    target gets only the new content."""
    path = tmp_path / "sheets.html"
    default_temp_path(path).write_bytes(b"half a file from a killed run" * 100)
    write_atomic(path, "<html></html>\n", "utf-8")
    assert path.read_bytes() == b"<html></html>\n"
    assert _only(tmp_path) == ["sheets.html"]


def test_an_unremovable_temp_is_logged_and_the_first_error_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """When the temporary file cannot be removed after a failure, a warning names it and
    the original error (not the removal's) propagates."""
    path = tmp_path / "a.json"

    def fail_replace(_src: object, _dst: object) -> None:
        raise OSError(30, "Read-only file system")

    def fail_unlink(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomicio.os, "replace", fail_replace)
    monkeypatch.setattr(Path, "unlink", fail_unlink)
    with caplog.at_level(logging.WARNING, logger="wastenet.atomicio"), \
            pytest.raises(OSError, match="Read-only") as err:
        write_atomic(path, "{}", "utf-8")
    assert err.value.errno == 30
    assert "a.json.tmp: could not remove the temporary file" in caplog.text


@pytest.mark.parametrize(("data", "kwargs", "error", "fragment"), [
    (b"x", {"encoding": "utf-8"}, TypeError, "bytes"),
    (b"x", {"newline": ""}, TypeError, "bytes"),
    ("x", {}, TypeError, "encoding"),
    (["x"], {}, TypeError, "str or bytes"),
    ("x", {"encoding": "utf-8", "temp_path": "elsewhere/a.txt.tmp"}, ValueError,
     "not in the folder"),
    ("x", {"encoding": "utf-8", "temp_path": "SELF"}, ValueError, "the target itself"),
])
def test_misuse_is_refused_before_writing(tmp_path: Path, data: object,
                                          kwargs: dict[str, str], error: type[Exception],
                                          fragment: str) -> None:
    """Bytes with an encoding or newline, text without an encoding, another type, a
    temporary file in another folder or equal to the target: refused with TypeError or
    ValueError before anything is written."""
    path = tmp_path / "a.txt"
    if kwargs.get("temp_path") == "SELF":
        kwargs = {**kwargs, "temp_path": str(path)}
    elif "temp_path" in kwargs:
        kwargs = {**kwargs, "temp_path": str(tmp_path / kwargs["temp_path"])}
    with pytest.raises(error, match=fragment):
        write_atomic(path, data, **kwargs)  # type: ignore[arg-type]
    assert _only(tmp_path) == []
