"""Turning an HTTP body into a validated :class:`~wastenet.scenario.schema.Scenario`.

Every problem becomes an :class:`InputError` carrying FastAPI-style located items
(``loc`` starts with ``"body"``), which the app answers with 422. Checks, in order:

1. the body decodes as UTF-8 and parses as JSON or TOML (nesting too deep for the parser,
   or an integer longer than Python converts, is a 422, not a 500); JSON
   ``NaN``/``Infinity`` are refused at their location, and so is any string (or key) that
   cannot be encoded as UTF-8 (a lone surrogate sent as a JSON ``\\ud800`` escape), which
   could be stored but never sent back;
2. the top level is an object; the scenario schema validates it (its messages name the
   field and the offending value);
3. no field names a file on the server;
4. every inline coordinate lies in Liaoning (within ``PROVINCE_TOLERANCE_DEG`` of the
   simplified outline) and every county adcode exists;
5. the counts the scenario will produce stay within the server's caps, and it has at least
   one village (a selection of urban districts alone has none, and could never run).
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from api.settings import Settings

PROVINCE_TOLERANCE_DEG = 0.02  # about 2 km, the loader's snapping distance
TOML_TYPES = ("application/toml", "text/toml", "application/x-toml")


class InputError(Exception):
    """Bad input; ``items`` are ``{"loc": [...], "msg": str, "type": str}``."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        super().__init__("; ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in items))


def _err(loc: Sequence[str | int], msg: str, typ: str = "value_error") -> InputError:
    return InputError([{"loc": ["body", *loc], "msg": msg, "type": typ}])


def _non_finite(obj: Any) -> list[tuple[list[str | int], float]]:
    """Locations of the NaN/Infinity values in a parsed JSON document, in document order
    (an explicit stack: no recursion, whatever the nesting)."""
    out: list[tuple[list[str | int], float]] = []
    stack: list[tuple[list[str | int], Any]] = [([], obj)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            out.append((path, node))
        elif isinstance(node, dict):
            stack.extend(reversed([([*path, k], v) for k, v in node.items()]))
        elif isinstance(node, list):
            stack.extend(reversed([([*path, i], v) for i, v in enumerate(node)]))
    return out


def _unencodable(obj: Any) -> list[tuple[list[str | int], str, str, str]]:
    """(location, text, "key" or "value", why) of every string or object key in a parsed
    document that cannot be encoded as UTF-8 (lone surrogates), in document order (an
    explicit stack, as :func:`_non_finite`). A bad key's location ends with the key
    itself, its surrogates escaped."""
    out: list[tuple[list[str | int], str, str, str]] = []
    stack: list[tuple[list[str | int], Any]] = [([], obj)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            why = _unicode_problem(node)
            if why is not None:
                out.append((path, node, "value", why))
        elif isinstance(node, dict):
            children: list[tuple[list[str | int], Any]] = []
            for k, v in node.items():
                key = str(k)
                why = _unicode_problem(key)
                if why is not None:
                    out.append(([*path, escaped(key)], key, "key", why))
                children.append(([*path, escaped(key)], v))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([([*path, i], v) for i, v in enumerate(node)]))
    return out


def escaped(text: str) -> str:
    """``text`` with whatever UTF-8 cannot encode (lone surrogates) written as
    ``\\udXXXX`` escapes, so that it can be put in a response."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _unicode_problem(text: str) -> str | None:
    """Plain words for why ``text`` cannot be encoded as UTF-8; None when it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"Input should be valid Unicode text: character {exc.start} is a lone "
                f"surrogate {text[exc.start]!r}, which cannot be encoded as UTF-8")
    return None


def _cut(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def too_many_digits(exc: BaseException) -> bool:
    """Whether ``exc`` is Python refusing to convert a very long integer literal."""
    return isinstance(exc, ValueError) and "integer string conversion" in str(exc)


def digits_message(fmt: str) -> str:
    """The message for a number longer than Python converts (``fmt``: JSON or TOML)."""
    return (f"invalid {fmt}: an integer has more than {sys.get_int_max_str_digits()} "
            "digits, the most this server reads")


def body_parse_problem(exc: BaseException | None) -> str:
    """Plain words for why the framework could not parse a typed endpoint's JSON body."""
    if exc is not None and too_many_digits(exc):
        return digits_message("JSON")
    if isinstance(exc, UnicodeDecodeError):
        return f"the body is not UTF-8: {exc.reason} at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    return "the body could not be parsed as JSON"


def _json_constant(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


def parse_body(raw: bytes, content_type: str) -> tuple[dict[str, Any], str, str]:
    """Decode ``raw``; returns (object, source format, text)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _err([], f"the body is not UTF-8: {exc.reason} at byte {exc.start}",
                   "encoding_error") from exc
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in TOML_TYPES:
        try:
            obj: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _err([], f"invalid TOML: {exc}", "toml_invalid") from exc
        except RecursionError as exc:  # arrays or inline tables nested thousands deep
            raise _err([], "invalid TOML: nested too deeply", "toml_invalid") from exc
        except ValueError as exc:  # an integer of more than 4300 digits
            raise _err([], digits_message("TOML") if too_many_digits(exc) else
                       f"invalid TOML: {exc}", "toml_invalid") from exc
        fmt = "toml"
    else:
        try:
            obj = json.loads(text)  # NaN/Infinity parse here and are refused, located, below
        except json.JSONDecodeError as exc:
            raise _err([], f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                       "json_invalid") from exc
        except RecursionError as exc:  # arrays or objects nested thousands deep
            raise _err([], "invalid JSON: nested too deeply", "json_invalid") from exc
        except ValueError as exc:  # an integer of more than 4300 digits
            raise _err([], digits_message("JSON") if too_many_digits(exc) else
                       f"invalid JSON: {exc}", "json_invalid") from exc
        bad = _non_finite(obj)
        if bad:
            raise InputError([{"loc": ["body", *loc],
                               "msg": f"invalid JSON: {_json_constant(x)} is not a valid JSON "
                               "number (send a finite number)", "type": "json_invalid"}
                              for loc, x in bad[:50]])
        fmt = "json"
    bad_text = _unencodable(obj)
    if bad_text:
        raise InputError([
            {"loc": ["body", *loc], "msg": f"the object key {_cut(repr(s))}: {why}",
             "type": "string_unicode"} if what == "key" else
            {"loc": ["body", *loc], "msg": why, "type": "string_unicode", "input": s}
            for loc, s, what, why in bad_text[:50]])
    if not isinstance(obj, dict):
        raise _err([], f"the scenario must be an object, not {type(obj).__name__}",
                   "model_type")
    return obj, fmt, text


def _walk_points(obj: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any, Any]]:
    if isinstance(obj, dict):
        if "lon" in obj and "lat" in obj:
            yield path, obj["lon"], obj["lat"]
        for k, v in obj.items():
            yield from _walk_points(v, [*path, k])
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_points(v, [*path, i])


def _walk_counties(obj: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], str]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("county", "prefecture") and isinstance(v, str):
                yield [*path, k], v
            elif k in ("counties", "demonstration_counties") and isinstance(v, list):
                for i, c in enumerate(v):
                    if isinstance(c, str):
                        yield [*path, k, i], c
            else:
                yield from _walk_counties(v, [*path, k])
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_counties(v, [*path, i])


def check_geography(body: dict[str, Any]) -> None:
    """Inline coordinates inside the province; adcodes known (422 items otherwise)."""
    from wastenet.data import liaoning

    items: list[dict[str, Any]] = []
    points = list(_walk_points(body, []))
    if points:
        import shapely

        lon = np.array([float(p[1]) for p in points])
        lat = np.array([float(p[2]) for p in points])
        inside = shapely.dwithin(liaoning.province_polygon(), shapely.points(lon, lat),
                                 PROVINCE_TOLERANCE_DEG)
        for (path, x, y), ok in zip(points, np.atleast_1d(inside).tolist(), strict=True):
            if not ok:
                hint = " (longitude and latitude swapped?)" if 38 <= x <= 44 else ""
                items.append({"loc": ["body", *path], "msg": f"point lon={x}, lat={y} lies "
                              f"outside Liaoning province{hint}", "type": "value_error"})
    counties = {c.adcode for c in liaoning.load_counties()}
    prefectures = {c.prefecture_adcode for c in liaoning.load_counties()}
    for path, code in _walk_counties(body, []):
        known = prefectures if path[-1] == "prefecture" else counties
        if code not in known:
            what = "prefecture" if path[-1] == "prefecture" else "county"
            items.append({"loc": ["body", *path],
                          "msg": f"unknown Liaoning {what} adcode {code!r}",
                          "type": "value_error"})
    if items:
        raise InputError(items[:50])


def check_caps(scenario: Any, settings: Settings) -> None:
    """Villages, candidates and time limits within this server's caps, and at least one
    village (the run would fail at once without one)."""
    items: list[dict[str, Any]] = []
    for name in ("time_limit_s", "routing_time_limit_s"):
        v = float(getattr(scenario.solver, name))
        if v > settings.max_time_limit_s:
            items.append({"loc": ["body", "solver", name],
                          "msg": f"solver.{name}={v:g} exceeds this server's cap of "
                          f"{settings.max_time_limit_s:g} s (WASTENET_MAX_TIME_LIMIT_S)",
                          "type": "less_than_equal"})
    counts = scenario_limits(scenario)
    if counts["villages"] == 0:
        from wastenet.errors import ValidationError

        # the same message as the network builder's, which a run would fail with
        field = "data.counties" if scenario.data.source != "user" else "data.villages"
        value = scenario.data.counties if scenario.data.source != "user" else []
        items.append({"loc": ["body", *field.split(".")],
                      "msg": str(ValidationError(field, value, "the selection contains no "
                                                 "rural villages")),
                      "type": "value_error"})
    if counts["villages"] > settings.max_villages:
        items.append({"loc": ["body", "data", "villages_total" if
                              scenario.data.source != "user" else "villages"],
                      "msg": f"the scenario produces {counts['villages']} villages, above this "
                      f"server's cap of {settings.max_villages} (WASTENET_MAX_VILLAGES)",
                      "type": "less_than_equal"})
    cands = counts["transfer_candidates"] + counts["incinerator_candidates"]
    if cands > settings.max_candidates:
        items.append({"loc": ["body", "candidates"],
                      "msg": f"the scenario produces {cands} candidate sites "
                      f"({counts['transfer_candidates']} transfer, "
                      f"{counts['incinerator_candidates']} incinerator), above this server's "
                      f"cap of {settings.max_candidates} (WASTENET_MAX_CANDIDATES)",
                      "type": "less_than_equal"})
    if items:
        raise InputError(items)


def scenario_limits(scenario: Any) -> dict[str, int]:
    """Counts of villages and candidates the scenario will produce, for the caps
    (:func:`wastenet.scenario.limits`: exact for the bundled data, no network built)."""
    from wastenet.scenario import limits

    out = limits(scenario)
    return {k: int(out[k]) for k in ("villages", "transfer_candidates", "incinerator_candidates")}


def _named(value: Any) -> str | None:
    """``repr`` of a scalar offending value for a message (cut to 80 characters); None
    for containers and objects."""
    if isinstance(value, bool | int | float | str):
        return _cut(repr(value))
    return None


def revalidate_stored(body: Any, scenario_id: str) -> Any:
    """The stored scenario ``body`` (of scenario ``scenario_id``) validated again by the
    current schema: a :class:`~wastenet.scenario.schema.Scenario`.

    A scenario stored before the schema was tightened may hold values it refuses now;
    a run of it would fail in the worker. Each problem becomes an :class:`InputError`
    item located at ``["scenario", <field path>]`` whose message names the field and its
    value (the schema's own field and value when it names them, as for a check across
    fields) and the scenario."""
    from pydantic import ValidationError as PydanticError

    from wastenet.errors import DataFormatError, ValidationError
    from wastenet.scenario.schema import Scenario

    stale = (f"(stored scenario {scenario_id} does not pass the current schema; submit it "
             "again, corrected)")
    try:
        return Scenario.model_validate(body)
    except PydanticError as exc:
        items = []
        for e in exc.errors()[:50]:
            ctx = e.get("ctx") or {}
            path: list[str | int] = list(e.get("loc", ()))
            value = e.get("input")
            if isinstance(ctx.get("domain_field"), str):  # the field the schema blames
                path = [int(x) if x.isdigit() else x for x in ctx["domain_field"].split(".")]
                value = ctx.get("domain_value")
            field = ".".join(str(x) for x in path) or "scenario"
            shown = None if e.get("type") == "missing" else _named(value)
            where = field if shown is None else f"{field}={shown}"
            items.append({"loc": ["scenario", *path],
                          "msg": f"{where}: {e.get('msg', 'invalid')} {stale}",
                          "type": str(e.get("type", "value_error"))})
        raise InputError(items) from exc
    except ValidationError as exc:
        raise InputError([{"loc": ["scenario", *exc.field.split(".")],
                           "msg": f"{exc} {stale}", "type": "value_error"}]) from exc
    except DataFormatError as exc:
        raise InputError([{"loc": ["scenario"], "msg": f"{exc} {stale}",
                           "type": "format_error"}]) from exc


def validate_scenario(raw: bytes, content_type: str, settings: Settings) -> tuple[Any, str, str]:
    """Parse and check a scenario body: (Scenario, format, text) or :class:`InputError`."""
    from pydantic import ValidationError as PydanticError

    from wastenet.errors import DataFormatError, ValidationError
    from wastenet.scenario.schema import Scenario

    obj, fmt, text = parse_body(raw, content_type)
    try:
        scenario = Scenario.model_validate(obj)
    except PydanticError as exc:
        # ``input`` lets the app quote a scalar offending value in the message
        raise InputError([{"loc": ["body", *e.get("loc", ())], "msg": e.get("msg", "invalid"),
                           "type": e.get("type", "value_error"), "input": e.get("input")}
                          for e in exc.errors()[:50]]) from exc
    except ValidationError as exc:
        raise _err(exc.field.split("."), str(exc)) from exc
    except DataFormatError as exc:
        raise _err([], str(exc)) from exc
    files = scenario.server_file_fields()
    if files:
        raise InputError([{"loc": ["body", *f.split(".")],
                           "msg": f"{f} names a file on the server, which HTTP scenarios may "
                           "not do; send villages inline in data.villages",
                           "type": "value_error"} for f in files])
    check_geography(scenario.model_dump(mode="json"))
    try:
        check_caps(scenario, settings)
    except ValidationError as exc:
        raise _err(exc.field.split("."), str(exc)) from exc
    return scenario, fmt, text
