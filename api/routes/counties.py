"""``/v1/counties``: the bundled Liaoning county list with neighbours.

The county data is bundled and immutable for the life of the process, so each answer is
serialised once and sent with a content-hash ``ETag`` (a request whose
``If-None-Match`` names it is answered 304, without the body),
``Cache-Control: private, no-cache`` (the browser keeps it but revalidates it before
each use, so that an upgrade is seen at once) and ``Vary: Authorization, X-API-Key`` (the
answer depends on the key: 401 without one). An adcode that is not six ASCII digits is a
422 naming ``adcode`` and its value (cut to a sane length); a well-formed unknown one is a
404. Unknown query parameters are ignored, as on every endpoint of the service.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response

from api.deps import AnyPrincipal
from api.routes.common import NOT_MODIFIED, cached_answer, errors, etag_of, shown
from api.schemas import ADCODE_PATTERN, CountyList, CountyOut

router = APIRouter(prefix="/v1", tags=["counties"])

JSON_MEDIA = "application/json"


def county_or_404(adcode: str, *, status: int = 404, loc: list[str] | None = None) -> Any:
    """The bundled county ``adcode``; 404 (or 422 at ``loc``) when unknown."""
    from wastenet.data.liaoning import county_index, load_counties

    idx = county_index().get(adcode)
    if idx is None:
        msg = f"no Liaoning county with adcode {shown(adcode)}"
        if status == 422:
            raise HTTPException(422, [{"loc": loc or ["path", "adcode"], "msg": msg,
                                       "type": "value_error"}])
        raise HTTPException(status, msg)
    return load_counties()[idx]


def _out(c: Any, neighbours: dict[str, tuple[str, ...]]) -> CountyOut:
    return CountyOut(adcode=c.adcode, name=c.name, type=c.type,
                     prefecture_adcode=c.prefecture_adcode, prefecture_name=c.prefecture_name,
                     lon=c.lon, lat=c.lat, area_km2=c.area_km2, n_zhen=c.n_zhen,
                     n_xiang=c.n_xiang, n_jiedao=c.n_jiedao,
                     neighbours=list(neighbours.get(c.adcode, ())))


@cache
def _county_list() -> tuple[bytes, str]:
    """The JSON of ``/v1/counties`` and its ETag, built once per process."""
    from wastenet.data.liaoning import county_neighbours, load_counties

    nb = county_neighbours()
    items = [_out(c, nb) for c in load_counties()]
    body = CountyList(items=items, total=len(items)).model_dump_json().encode("utf-8")
    return body, etag_of(body)


@cache
def _county(adcode: str) -> tuple[bytes, str]:
    """The JSON of ``/v1/counties/{adcode}`` and its ETag, built once per known adcode
    (an unknown one raises the 404 of :func:`county_or_404`, which is not cached)."""
    from wastenet.data.liaoning import county_neighbours

    body = _out(county_or_404(adcode), county_neighbours()).model_dump_json().encode("utf-8")
    return body, etag_of(body)


_CACHED = ("Sent with an ETag (If-None-Match answered 304), Cache-Control: private, "
           "no-cache and Vary: Authorization, X-API-Key.")


@router.get("/counties", response_model=CountyList, responses={**NOT_MODIFIED, **errors(401)},
            description="All 100 county-level divisions of Liaoning, with their bordering "
            f"counties. {_CACHED}")
def list_counties(request: Request, principal: AnyPrincipal) -> Response:
    body, etag = _county_list()
    return cached_answer(request, body, etag, JSON_MEDIA)


@router.get("/counties/{adcode}", response_model=CountyOut,
            responses={**NOT_MODIFIED, **errors(401, 404, 422)},
            description="One county-level division with its bordering counties: 422 for "
            "an adcode that is not six ASCII digits, 404 for an unknown one. " + _CACHED)
def get_county(adcode: Annotated[str, Path(pattern=ADCODE_PATTERN, examples=["210124"])],
               request: Request, principal: AnyPrincipal) -> Response:
    body, etag = _county(adcode)  # an unknown adcode raises its 404: it is not cached
    return cached_answer(request, body, etag, JSON_MEDIA)
