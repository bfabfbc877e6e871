"""Atomic file replacement: readers see the old file or the whole new one, never a part.

:func:`write_atomic` writes the content to a temporary file in the same folder as the
target, then renames it over the target with :func:`os.replace` (atomic on POSIX and on
Windows when both names are on one file system, which the same folder guarantees). On
any error (including an interrupt) the temporary file is removed and the target is left
as it was, and the error is raised again unchanged: each caller decides how to report it
(an ``OSError`` as a :class:`~wastenet.errors.ValidationError` naming its ``out``, or not).

What it does not do, like the helpers it replaces: it does not create the folder, and
it does not ``fsync`` the file or the folder. The replacement is atomic for concurrent
readers, but after a power loss or an operating-system crash the new file may be empty
or missing; a process crash (or kill) never leaves a part file under the target's name.

The content is written exactly as the built-in :func:`open` would write it: ``bytes``
as they are (mode ``"wb"``); ``str`` in text mode with the given ``encoding`` (required:
no locale-dependent default) and ``newline`` (default ``None``: each ``"\\n"`` becomes
:data:`os.linesep`, as :meth:`pathlib.Path.write_text` and ``open(..., "w")`` do; pass
``""`` to write the text untranslated). An encoding with a byte-order mark such as
``"utf-8-sig"`` writes the mark once, at the start of the file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("wastenet.atomicio")

#: what :func:`default_temp_path` appends to the target's file name
TEMP_SUFFIX = ".tmp"


def default_temp_path(path: str | os.PathLike[str]) -> Path:
    """The temporary file :func:`write_atomic` uses unless told otherwise: the target's
    name plus ``.tmp`` in the same folder (``out/plan.json`` -> ``out/plan.json.tmp``)."""
    p = Path(path)
    return p.with_name(p.name + TEMP_SUFFIX)


def write_atomic(path: str | os.PathLike[str], data: str | bytes,
                 encoding: str | None = None, *, newline: str | None = None,
                 temp_path: str | os.PathLike[str] | None = None) -> None:
    """Replace the file ``path`` with ``data`` in one step, through a temporary file.

    ``data`` is ``bytes`` (written as they are; ``encoding`` and ``newline`` must then be
    None) or ``str`` (written in text mode with ``encoding``, which is required, and
    ``newline``, as :func:`open` takes them). ``temp_path`` is the temporary file, which
    must be in the same folder as ``path`` and differ from it; by default
    :func:`default_temp_path` (``<name>.tmp``). A file already at ``temp_path`` is
    overwritten (it is taken for the leftover of an earlier write).

    On success ``path`` holds exactly the new content and ``temp_path`` is gone. On any
    error (the temporary file cannot be created or written, the text cannot be encoded,
    the rename fails, an interrupt) the temporary file is removed (a failure to remove it
    is logged as a warning, not raised) and the error propagates unchanged; ``path`` is
    left untouched. Misuse of the arguments raises :class:`TypeError` or
    :class:`ValueError` before anything is written.
    """
    target = Path(path)
    tmp = default_temp_path(target) if temp_path is None else Path(temp_path)
    if os.path.dirname(os.path.abspath(tmp)) != os.path.dirname(os.path.abspath(target)):
        raise ValueError(f"temp_path {str(tmp)!r} is not in the folder of {str(target)!r} "
                         "(os.replace is atomic only within one file system)")
    if os.path.abspath(tmp) == os.path.abspath(target):
        raise ValueError(f"temp_path {str(tmp)!r} is the target itself")
    if isinstance(data, bytes):
        if encoding is not None or newline is not None:
            raise TypeError("bytes are written as they are: give no encoding or newline")
    elif isinstance(data, str):
        if encoding is None:
            raise TypeError("text needs an encoding (no locale-dependent default)")
    else:
        raise TypeError(f"data must be str or bytes, not {type(data).__name__}")
    try:
        if isinstance(data, bytes):
            with open(tmp, "wb") as fh:
                fh.write(data)
        else:
            with open(tmp, "w", encoding=encoding, newline=newline) as fh:
                fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            log.warning("%s: could not remove the temporary file", tmp)
        raise
