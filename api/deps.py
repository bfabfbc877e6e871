"""FastAPI dependencies: the store, settings, job manager and the caller's principal.

Access control
--------------
A key is sent as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Roles:

* ``admin``: everything;
* ``engineer``: submits and reads scenarios and runs, requests and reads route plans;
* ``county``: reads and requests route plans of its own counties only (403 otherwise),
  and reads the route-plan runs of those counties.

When the database holds no live key and the listener is loopback-only, the service runs
*open*: every caller acts as admin (the start-up log says so). Any other listener
refuses to start until a live admin key exists, whatever other keys there are (see
:func:`api.app.create_app`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from api.db.store import Store
from api.jobs import JobManager
from api.settings import Settings


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, role and counties (``open`` in open mode)."""

    key_id: str
    role: str
    counties: frozenset[str]
    open_mode: bool = False

    def may_county(self, adcode: str) -> bool:
        """Whether this caller may read or request plans of county ``adcode``."""
        return self.role in ("admin", "engineer") or adcode in self.counties


# The trivial dependencies are ``async``: FastAPI would run a plain ``def`` dependency in
# the thread pool, one hop per dependency per request.
async def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_jobs(request: Request) -> JobManager | None:
    return request.app.state.jobs  # type: ignore[no-any-return]


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return auth.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key else None


_HAS_KEYS_TTL_S = 1.0


async def _has_keys_cached(request: Request, store: Store) -> bool:
    """Whether any live key exists, re-read at most once a second (per app): open mode
    ends within a second of ``wastenet keys create``."""
    cached = getattr(request.app.state, "has_keys_cache", None)
    now = time.monotonic()
    if cached is not None and now - cached[1] < _HAS_KEYS_TTL_S:
        return bool(cached[0])
    value = await run_in_threadpool(store.has_keys)
    request.app.state.has_keys_cache = (value, now)
    return value


async def get_principal(request: Request,
                        store: Annotated[Store, Depends(get_store)]) -> Principal:
    """Authenticate the caller (401 on a missing or unknown key, unless open mode).
    Database reads go to the thread pool; the event loop never blocks on them."""
    token = _token(request)
    if token:
        row = await run_in_threadpool(store.verify_key, token)
        if row is None:
            raise HTTPException(401, "invalid or revoked API key",
                                headers={"WWW-Authenticate": "Bearer"})
        return Principal(row.id, row.role, frozenset(str(c) for c in row.counties or ()))
    settings: Settings = request.app.state.settings
    if settings.loopback_only() and not await _has_keys_cached(request, store):
        return Principal("open", "admin", frozenset(), open_mode=True)
    raise HTTPException(401, "an API key is required: send 'Authorization: Bearer <key>'",
                        headers={"WWW-Authenticate": "Bearer"})


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency factory: the principal, if its role is one of ``roles`` (else 403)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role!r} may not do this "
                                f"(needs one of: {', '.join(roles)})")
        return principal

    return check


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
JobsDep = Annotated["JobManager | None", Depends(get_jobs)]
AnyPrincipal = Annotated[Principal, Depends(get_principal)]
Engineer = Annotated[Principal, Depends(require("engineer", "admin"))]
