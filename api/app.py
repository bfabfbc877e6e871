"""The Wastenet scenario service: ``create_app(settings) -> FastAPI``.

No global state: the engine, the store, the job manager and the metrics live on
``app.state`` and are created in the lifespan, so several apps (tests, restarts) can
coexist in one process.

Error mapping (never a 500 on bad input)
----------------------------------------
* malformed JSON/TOML (integers too long to convert included), wrong types (a boolean is
  not a number), NaN/Infinity, text UTF-8 cannot encode (lone surrogates), coordinates
  outside the province, caps exceeded, a selection without villages,
  :class:`wastenet.errors.ValidationError` and ``DataFormatError`` -> 422 with
  ``detail = [{"loc": [...], "msg": ..., "type": ...}]``, a message naming the field and,
  for a scalar, its value (``field=value: ...``);
* a body above ``max_body_bytes`` -> 413 (declared or streamed, whichever endpoint reads
  it); a non-JSON body on a JSON-only endpoint -> 415; unknown ids -> 404; wrong key ->
  401/403; a method the path does not have -> 405 whose ``Allow`` lists every method of
  every route matching the path;
* :class:`wastenet.errors.InfeasibleError` raised by a solve -> the run ``failed`` with
  the reason (the worker catches it; nothing reaches HTTP).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from api.db.session import make_engine, migrate
from api.db.store import Store
from api.jobs import JobManager
from api.metrics import Metrics
from api.routes import counties, ops, route_plans, runs, scenarios
from api.routes import map as map_page
from api.routes.common import HEAD_SCOPE_KEY
from api.scenario_input import InputError, body_parse_problem, escaped
from api.settings import Settings

log = logging.getLogger("wastenet.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FIRST_KEY_HELP = (
    "no admin API key exists and the listener {host!r} is not loopback-only: refusing to "
    "start. Create the first admin key with\n    wastenet keys create --role admin\n"
    "(same WASTENET_DATABASE_URL / WASTENET_DATA_DIR as the server), then start again and "
    "send it as 'Authorization: Bearer <key>'."
)


class StartupRefused(RuntimeError):
    """The service may not start as configured (message says how to fix it)."""


class _TooLarge(Exception):
    """The body streamed so far exceeds ``max_bytes`` (its only argument)."""


def too_large_body(max_bytes: int) -> bytes:
    """The JSON body of every 413 answer."""
    return (b'{"detail":"request body larger than this server\'s limit of '
            + str(max_bytes).encode() + b' bytes (WASTENET_MAX_BODY_BYTES)"}')


class BodyLimitMiddleware:
    """Answer 413 when a request body exceeds ``max_bytes`` (declared or streamed).

    A streamed body (``Transfer-Encoding: chunked``) is counted as it is read; the
    :class:`_TooLarge` raised then reaches this middleware when the endpoint reads the
    body itself, or the app's error handler when FastAPI reads it for a body model
    (FastAPI wraps it in a 400): both answer the same 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return msg

        async def tracked_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = too_large_body(self.max_bytes)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Record each request's latency under its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def tracked(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status[0] = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope.get("method", "?"), path, status[0],
                                         time.perf_counter() - start)


class HeadAsGetMiddleware:
    """Answer HEAD wherever GET is answered: the request goes on as a GET and its answer
    is sent without the body (the headers, ``Content-Length`` included, as for the GET).
    One rule for every endpoint, the pages and static files included; HEAD is not a
    separate operation in the OpenAPI document. The GET's scope carries
    :data:`~api.routes.common.HEAD_SCOPE_KEY`, so that an endpoint whose body is costly
    (a route-plan download) can send GET's headers without producing the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        # a copy: the server itself still sees HEAD
        inner = {**scope, "method": "GET", HEAD_SCOPE_KEY: True}

        async def headers_only(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                await send(msg)
            elif not msg.get("more_body", False):  # the body's end (or a file to send)
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        try:
            await self.app(inner, receive, headers_only)
        finally:
            if "route" in inner:  # the route matched, for the metrics outside
                scope["route"] = inner["route"]


#: the conventional order of the methods in an ``Allow`` header
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods of every route whose path matches the request's: each method is
    tried against every route, as the router would (routes of included routers too); GET
    brings HEAD (:class:`HeadAsGetMiddleware`), and the static files answer GET and
    HEAD."""
    root = scope.get("app_root_path", scope.get("root_path", ""))
    allowed: set[str] = set()
    for method in _METHOD_ORDER:
        probe: Scope = {"type": "http", "path": scope["path"], "root_path": root,
                        "method": method, "headers": [], "path_params": {}}
        for route in app.router.routes:
            match, _ = route.matches(probe)
            if match is Match.NONE:
                continue
            if isinstance(route, Mount):  # StaticFiles: any method matches the mount
                allowed |= {"GET", "HEAD"}
            elif match is Match.FULL:
                allowed.add(method)
    if "GET" in allowed:
        allowed.add("HEAD")
    return [m for m in _METHOD_ORDER if m in allowed]


#: longest offending value quoted back in a 422 message (longer ones are cut, marked "...")
SHOWN_VALUE_CHARS = 80


def _shown(value: Any) -> str | None:
    """``repr`` of an offending scalar for a message (a TOML date, time or date-time:
    ISO 8601, unquoted as in TOML, for it is no string), ``None`` for values not worth
    quoting (containers, the whole body of a missing field, objects)."""
    if isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    elif isinstance(value, bool | int | float | str):
        text = repr(value)
    else:
        return None
    if len(text) > SHOWN_VALUE_CHARS:
        text = text[:SHOWN_VALUE_CHARS - 3] + "..."
    return text


def _located(items: list[dict[str, Any]], *, name_value: bool = False
             ) -> list[dict[str, Any]]:
    """The 422 items: ``loc``, ``msg``, ``type``. With ``name_value`` (validation errors
    that carry their ``input``) a message about a scalar input is prefixed with
    ``field=value: ``, so that it names both, as the domain errors do (unless it already
    does). Text UTF-8 cannot encode (a lone surrogate in a key) is escaped, so that the
    answer can always be sent."""
    out = []
    for e in items:
        loc = [x if isinstance(x, int) else escaped(str(x)) for x in e.get("loc", ())]
        msg = escaped(str(e.get("msg", "invalid")))
        shown = _shown(e.get("input")) if name_value and "input" in e else None
        field = ".".join(str(x) for x in loc[1:])
        if (shown is not None and field and e.get("type") != "missing"
                and not msg.startswith(f"{field}=") and f" {field}=" not in msg):
            msg = f"{field}={escaped(shown)}: {msg}"
        out.append({"loc": loc, "msg": msg, "type": str(e.get("type", "value_error"))})
    return out


def _install_error_handlers(app: FastAPI) -> None:
    from wastenet.errors import DataFormatError, InfeasibleError, ValidationError

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        # ``input``/``ctx`` are not passed on as fields (they may hold NaN or objects JSON
        # cannot carry); a scalar input is quoted in the message instead.
        return JSONResponse({"detail": _located(list(exc.errors()), name_value=True)},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(req: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, _TooLarge):
            # a streamed body over the limit, read by FastAPI for a body model: the 413 of
            # BodyLimitMiddleware, not a parse error
            return Response(too_large_body(exc.__cause__.args[0]), status_code=413,
                            media_type="application/json")
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. not UTF-8 JSON)
            # the parser's exception is the cause: name the problem, not just "an error"
            why = body_parse_problem(exc.__cause__)
            return JSONResponse({"detail": [{"loc": ["body"], "type": "json_invalid",
                                             "msg": f"malformed request body: {why}"}]},
                                status_code=422)
        if exc.status_code == 405:  # Starlette names the methods of one matching route
            allowed = _allowed_methods(req.app, req.scope)
            if allowed:
                exc = StarletteHTTPException(405, exc.detail, headers={
                    **(exc.headers or {}), "Allow": ", ".join(allowed)})
        return await http_exception_handler(req, exc)

    @app.exception_handler(InputError)
    async def _input_invalid(_req: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": _located(exc.items, name_value=True)},
                            status_code=422)

    @app.exception_handler(ValidationError)
    async def _domain_invalid(_req: Request, exc: ValidationError) -> JSONResponse:
        loc: list[Any] = ["body", *exc.field.split(".")]
        return JSONResponse({"detail": [{"loc": loc, "msg": str(exc), "type": "value_error"}]},
                            status_code=422)

    @app.exception_handler(DataFormatError)
    async def _format_invalid(_req: Request, exc: DataFormatError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc),
                                         "type": "format_error"}]}, status_code=422)

    @app.exception_handler(InfeasibleError)
    async def _infeasible(_req: Request, exc: InfeasibleError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc),
                                         "type": "infeasible"}]}, status_code=422)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes, tags=app.openapi_tags)
    from wastenet.scenario.schema import Scenario

    sc = Scenario.model_json_schema(ref_template="#/components/schemas/{model}")
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in sc.pop("$defs", {}).items():
        comps.setdefault(name, sub)
    comps["Scenario"] = sc
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    }
    schema["security"] = [{"bearer": []}, {"apiKey": []}, {}]
    app.openapi_schema = schema
    return schema


SWAGGER_UI = "/static/vendor/swagger-ui"
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:")


def _docs_page() -> HTMLResponse:
    """The interactive API documentation (Swagger UI), from the vendored copy under
    ``/static/vendor/swagger-ui/``, so that it works with no network; the validator badge
    (which would call validator.swagger.io) is off. Its ``Content-Security-Policy`` lets
    the browser load nothing from elsewhere (the page's own set-up script is inline)."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="Wastenet scenario service - API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None})
    page.headers["Content-Security-Policy"] = DOCS_CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service. Storage, migrations and workers start in the lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.resolved_database_url()
        engine = make_engine(url)
        if settings.migrate_on_start:
            migrate(engine)
        store = Store(engine)
        if not settings.loopback_only() and not store.has_admin_key():
            # a listener others can reach needs an admin key, not just any key
            engine.dispose()
            raise StartupRefused(FIRST_KEY_HELP.format(host=settings.host))
        if not store.has_keys():
            log.warning("OPEN MODE: no API key exists and the listener %s is loopback-only, "
                        "so every local caller acts as admin. Create keys with "
                        "'wastenet keys create --role admin' to require them.", settings.host)
        jobs = JobManager(store, settings, app.state.metrics) if settings.start_workers else None
        app.state.store, app.state.jobs = store, jobs
        if jobs is not None:
            jobs.start()
        log.info("Wastenet service ready (database %s)", engine.url.render_as_string())
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()
            engine.dispose()

    app = FastAPI(
        title="Wastenet scenario service",
        version="1",
        description="Submit rural waste siting scenarios for Liaoning, run them in the "
        "background, fetch results, and publish and download daily route plans per county.",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.store = None
    app.state.jobs = None
    for module in (scenarios, runs, route_plans, counties, ops, map_page):
        app.include_router(module.router)
    app.include_router(map_page.page_router)  # GET /map, not in the OpenAPI document
    app.add_api_route("/docs", _docs_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)
    app.mount("/static", map_page.SecuredStaticFiles(directory=map_page.STATIC_DIR),
              name="static")
    _install_error_handlers(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
