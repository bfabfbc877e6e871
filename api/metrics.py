"""Prometheus text exposition (format 0.0.4), written by hand to avoid a dependency.

One :class:`Metrics` object lives on ``app.state``; the HTTP middleware and the job
manager record into it from several threads, so every update holds a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SOLVE_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0)


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_esc(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _num(x: float) -> str:
    if x == float("inf"):
        return "+Inf"
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


class Histogram:
    """Cumulative-bucket histogram keyed by a label tuple."""

    def __init__(self, name: str, help_text: str, label_names: tuple[str, ...],
                 buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.label_names, self.buckets = name, help_text, label_names, buckets
        self._data: dict[tuple[str, ...], list[float]] = {}  # counts per bucket + sum + count

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        row = self._data.setdefault(labels, [0.0] * (len(self.buckets) + 2))
        for i, b in enumerate(self.buckets):
            if value <= b:
                row[i] += 1
        row[-2] += value
        row[-1] += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for labels, row in sorted(self._data.items()):
            base = list(zip(self.label_names, labels, strict=True))
            for i, b in enumerate(self.buckets):
                out.append(f"{self.name}_bucket{_labels([*base, ('le', _num(b))])} "
                           f"{_num(row[i])}")
            out.append(f"{self.name}_bucket{_labels([*base, ('le', '+Inf')])} {_num(row[-1])}")
            out.append(f"{self.name}_sum{_labels(base)} {_num(row[-2])}")
            out.append(f"{self.name}_count{_labels(base)} {_num(row[-1])}")
        return out


class Metrics:
    """Request counts and latencies, solve durations and run outcomes of one app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.request_latency = Histogram(
            "wastenet_http_request_duration_seconds", "HTTP request latency by route",
            ("method", "route"), REQUEST_BUCKETS)
        self.solve_duration = Histogram(
            "wastenet_solve_duration_seconds", "Wall time of finished solves by kind and outcome",
            ("kind", "status"), SOLVE_BUCKETS)
        self.worker_deaths = 0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            self.request_latency.observe((method, route), seconds)

    def observe_solve(self, kind: str, status: str, seconds: float) -> None:
        with self._lock:
            self.solve_duration.observe((kind, status), seconds)

    def observe_worker_death(self) -> None:
        with self._lock:
            self.worker_deaths += 1

    def render(self, runs_by_status: Mapping[str, int], workers_alive: int) -> str:
        """The exposition text; ``runs_by_status`` comes from the database."""
        with self._lock:
            lines = ["# HELP wastenet_runs Runs in the database by status",
                     "# TYPE wastenet_runs gauge"]
            for status, n in sorted(runs_by_status.items()):
                lines.append(f"wastenet_runs{_labels([('status', status)])} {n}")
            lines += ["# HELP wastenet_workers_alive Solver worker processes alive",
                      "# TYPE wastenet_workers_alive gauge",
                      f"wastenet_workers_alive {workers_alive}",
                      "# HELP wastenet_worker_deaths_total Solver worker processes that died",
                      "# TYPE wastenet_worker_deaths_total counter",
                      f"wastenet_worker_deaths_total {self.worker_deaths}",
                      "# HELP wastenet_http_requests_total HTTP requests by route and status",
                      "# TYPE wastenet_http_requests_total counter"]
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append("wastenet_http_requests_total"
                             f"{_labels([('method', method), ('route', route), ('status', status)])}"
                             f" {n}")
            lines += self.request_latency.render()
            lines += self.solve_duration.render()
            return "\n".join(lines) + "\n"
