"""``wastenet serve [--host 127.0.0.1] [--port 8000]``: run the scenario service.

Settings come from ``WASTENET_*`` environment variables (see :mod:`api.settings`);
``--host``/``--port``/``--workers`` override them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

log = logging.getLogger("wastenet.commands.serve")


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the HTTP scenario service (uvicorn)",
                       description="Run the scenario service: SQLite (or WASTENET_DATABASE_URL), "
                       "a pool of solver worker processes, the bundled Liaoning data.")
    p.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="listen port (default 8000)")
    p.add_argument("--workers", type=int, default=None,
                   help="solver worker processes (default WASTENET_WORKERS or 1)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import FIRST_KEY_HELP, create_app
    from api.db.session import make_engine, migrate
    from api.db.store import Store
    from api.settings import Settings

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.workers is not None:
        overrides["workers"] = args.workers
        overrides["max_concurrent_solves"] = max(args.workers, 1)
    settings = Settings(**overrides)
    engine = make_engine(settings.resolved_database_url())
    try:
        migrate(engine)
        has_keys = Store(engine).has_keys()
    finally:
        engine.dispose()
    if not has_keys and not settings.loopback_only():
        print("wastenet: error: " + FIRST_KEY_HELP.format(host=settings.host), file=sys.stderr)
        return 2
    log.info("serving on http://%s:%d (database %s)", settings.host, settings.port,
             settings.resolved_database_url())
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_config=None, access_log=bool(args.access_log))
    return 0
