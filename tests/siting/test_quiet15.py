"""scipy's HiGHS writes debug lines to descriptor 1 from C++ (13 lines
``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` in the
audit's run below); the SCIPY backend now sends them to standard error, so that a
command's standard output holds only what the command prints."""

from __future__ import annotations

import os
import threading

import pytest

from wastenet.siting.quiet import stdout_to_stderr
from wastenet.siting.solve import SiteParams, solve
from wastenet.siting.synthetic import synthetic_province


def test_native_writes_to_descriptor_1_go_to_standard_error(
        capfd: pytest.CaptureFixture[str]) -> None:
    """Bytes written to descriptor 1 inside the context land on standard error; before
    and after it, on standard output."""
    os.write(1, b"before\n")
    with stdout_to_stderr():
        os.write(1, b"inside\n")
    os.write(1, b"after\n")
    out, err = capfd.readouterr()
    assert out == "before\nafter\n"
    assert err == "inside\n"


def test_threads_share_one_redirection(capfd: pytest.CaptureFixture[str]) -> None:
    """Two threads inside at once: descriptor 1 stays redirected until the last leaves,
    then is restored (the sub-MIPs of the decomposition run two at a time)."""
    inside = threading.Barrier(2)
    first_left = threading.Event()

    def first() -> None:
        with stdout_to_stderr():
            inside.wait()
        first_left.set()

    def second() -> None:
        with stdout_to_stderr():
            inside.wait()
            first_left.wait(5)
            os.write(1, b"still inside\n")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.write(1, b"restored\n")
    out, err = capfd.readouterr()
    assert out == "restored\n" and err == "still inside\n"


def test_scipy_backend_prints_nothing_on_standard_output(
        capfd: pytest.CaptureFixture[str]) -> None:
    """The audit's case: the decomposition under an iteration limit (the SCIPY backend)
    on a seeded synthetic province wrote 13 HiGHS debug lines to standard output; now
    none, and the solve's result is unchanged by where they go."""
    data = synthetic_province(150, 30, 10, n_counties=5, n_prefectures=1, seed=1,
                              policy="free", k_collect=6, k_haul=6, transfer_target=10,
                              incinerator_target=5, width_km=80, height_km=50)
    res = solve(data, SiteParams(time_limit_s=None, max_iterations=5,
                                 method="decomposition"))
    out, _ = capfd.readouterr()
    assert "HighsMipSolverData" not in out and out == ""
    assert res.total_cost > 0
