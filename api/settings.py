"""Service settings, read from ``WASTENET_*`` environment variables by pydantic-settings.

Every setting has a default so that ``wastenet serve`` runs with no configuration: a
SQLite file under ``data_dir``, one solver worker process, loopback listener.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wastenet"


def _default_instance_id() -> str:
    return (socket.gethostname() or "wastenet")[:64]


class Settings(BaseSettings):
    """Configuration of one service instance (``WASTENET_<NAME>`` overrides ``<name>``)."""

    model_config = SettingsConfigDict(env_prefix="WASTENET_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="where the default SQLite database lives")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite file data_dir/wastenet.db. "
        "postgresql+psycopg://user:pw@host/db switches to PostgreSQL.",
    )
    host: str = Field(default="127.0.0.1", description="listener address (serve)")
    port: int = Field(default=8000, ge=0, le=65535, description="listener port (serve)")

    max_body_bytes: int = Field(default=1_048_576, ge=1, description="413 above this")
    max_villages: int = Field(default=20_000, ge=1, description="cap on a scenario's villages")
    max_candidates: int = Field(default=20_000, ge=1,
                                description="cap on transfer plus incinerator candidates")
    max_time_limit_s: float = Field(default=3600.0, gt=0, description="cap on a run's limit")
    run_time_limit_s: float = Field(default=600.0, gt=0,
                                    description="time limit of a run that names none")
    max_concurrent_solves: int = Field(default=1, ge=1, description="solves at once")
    workers: int = Field(default=1, ge=1, description="solver worker processes")
    solver_threads: int = Field(
        default=1, ge=1, le=256,
        description="BLAS/OpenMP threads per solver worker: one solve, one core, so a "
        "solve cannot starve the server's event loop (numpy's OpenBLAS would otherwise "
        "spin a thread per core)")
    max_attempts: int = Field(default=2, ge=1,
                              description="worker deaths a run survives before it fails")
    kill_grace_s: float = Field(default=30.0, ge=0,
                                description="a run is killed this long after its time limit")
    poll_interval_s: float = Field(default=0.2, gt=0, description="job manager tick")
    instance_id: str = Field(
        default_factory=_default_instance_id, min_length=1, max_length=64,
        description="this instance's name on the runs it claims (default: the host name). "
        "Instances sharing one database need distinct ids; an instance that starts again "
        "under its old id takes its interrupted runs back at once")
    run_lease_s: float = Field(
        default=60.0, gt=0,
        description="a running run whose instance has not renewed its lease for this long "
        "is taken back by any instance on the database (a worker death: re-queued or "
        "failed); each instance renews its runs' leases every quarter of this")
    start_workers: bool = Field(default=True, description="run the job manager (tests)")
    migrate_on_start: bool = Field(default=True, description="apply Alembic migrations")

    def resolved_database_url(self) -> str:
        """The database URL in use (the SQLite default made concrete)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'wastenet.db'}"

    def solver_slots(self) -> int:
        """Concurrent solves: the smaller of the worker pool and the cap."""
        return min(self.workers, self.max_concurrent_solves)

    def loopback_only(self) -> bool:
        """True when the listener accepts connections from this machine only."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
