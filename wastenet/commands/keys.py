"""``wastenet keys create|list|revoke``: manage the service's API keys.

Keys are stored as SHA-256 hashes only; ``create`` prints the secret once on stdout (a
note goes to stderr, so ``KEY=$(wastenet keys create --role admin)`` captures the key). The database is
the service's (``WASTENET_DATABASE_URL`` or the SQLite file under ``WASTENET_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wastenet.errors import ValidationError


def register(sub: Any) -> None:
    p = sub.add_parser("keys", help="manage API keys of the HTTP service")
    ks = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    c = ks.add_parser("create", help="create a key and print its secret once")
    c.add_argument("--role", required=True, choices=("engineer", "county", "admin"))
    c.add_argument("--county", nargs="+", action="extend", default=[], metavar="ADCODE",
                   help="counties a county key may access (required for --role county); "
                   "list several after one --county or repeat the option")
    c.add_argument("--label", default="", help="a note on who holds the key")
    c.add_argument("--json", action="store_true", help="print a JSON object")
    c.set_defaults(func=create)
    li = ks.add_parser("list", help="list keys (ids, roles, counties; never secrets)")
    li.set_defaults(func=list_keys)
    r = ks.add_parser("revoke", help="revoke a key by its id")
    r.add_argument("key_id")
    r.set_defaults(func=revoke)


def _store() -> Any:
    from api.db.session import make_engine, migrate
    from api.db.store import Store
    from api.settings import Settings

    engine = make_engine(Settings().resolved_database_url())
    migrate(engine)
    return Store(engine)


def create(args: argparse.Namespace) -> int:
    from wastenet.data.liaoning import county_index

    counties = [str(c) for c in args.county]
    known = county_index()
    for code in counties:
        if code not in known:
            raise ValidationError("--county", code, "unknown Liaoning county adcode")
    if args.role == "county" and not counties:
        raise ValidationError("--county", None, "a county key needs at least one --county")
    if args.role != "county" and counties:
        raise ValidationError("--county", counties, "only county keys are limited to counties")
    store = _store()
    try:
        key = store.create_key(args.role, counties, args.label)
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps({"id": key.key_id, "key": key.token, "role": key.role,
                          "counties": list(key.counties)}))
    else:
        print(key.token)
        extra = f" for counties {', '.join(key.counties)}" if key.counties else ""
        print(f"# key id {key.key_id}, role {key.role}{extra}. The secret above is shown once; "
              "send it as 'Authorization: Bearer <key>'.", file=sys.stderr)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    store = _store()
    try:
        for row in store.list_keys():
            state = "revoked" if row.revoked_at is not None else "active"
            print(f"{row.id}\t{row.role}\t{','.join(row.counties or []) or '-'}\t{state}\t"
                  f"{row.label}")
    finally:
        store.engine.dispose()
    return 0


def revoke(args: argparse.Namespace) -> int:
    store = _store()
    try:
        if not store.revoke_key(args.key_id):
            raise ValidationError("key_id", args.key_id, "no active key with this id")
    finally:
        store.engine.dispose()
    print(f"revoked {args.key_id}")
    return 0
