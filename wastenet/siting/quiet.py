"""Keep a native solver's console output off the process's standard output.

scipy's bundled HiGHS (:func:`scipy.optimize.milp`) writes debug lines such as
``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` to file
descriptor 1 from C++, where no option of scipy's reaches them; on the command line they
mix with what the commands print on standard output (``wastenet solve``'s summary). While
at least one call runs inside :func:`stdout_to_stderr`, descriptor 1 points at
descriptor 2, so such lines land on standard error with the logs.

Descriptor 1 belongs to the whole process, so the redirection is shared by the threads
that solve at once (the sub-MIPs of the decomposition): the first to enter redirects, the
last to leave restores, under a lock. Python code that writes to ``sys.stdout`` while it
is redirected keeps its text in ``sys.stdout``'s buffer until a flush, which normally
comes after; the solvers' threads write nothing there. Where descriptor 1 or 2 cannot be
duplicated (closed, as in some daemons), nothing is redirected.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Redirect:
    """The shared state of the redirection: how many calls are inside, and the saved
    descriptor 1 (None when not redirected)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: int | None = None

    def enter(self) -> None:
        with self.lock:
            if self.depth == 0:
                # what Python holds for descriptor 1 goes there first (no usable
                # sys.stdout: nothing to flush)
                with contextlib.suppress(AttributeError, OSError, ValueError):
                    sys.stdout.flush()
                try:
                    saved = os.dup(1)
                except OSError:
                    saved = None
                if saved is not None:
                    try:
                        os.dup2(2, 1)
                    except OSError:
                        os.close(saved)
                        saved = None
                self.saved = saved
            self.depth += 1

    def leave(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth == 0 and self.saved is not None:
                os.dup2(self.saved, 1)
                os.close(self.saved)
                self.saved = None


_REDIRECT = _Redirect()


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point descriptor 1 at descriptor 2 for the duration (shared across threads; see
    the module docstring)."""
    _REDIRECT.enter()
    try:
        yield
    finally:
        _REDIRECT.leave()
