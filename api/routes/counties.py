"""``/v1/counties``: the bundled Liaoning county list with neighbours."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from api.deps import AnyPrincipal
from api.routes.common import errors
from api.schemas import CountyList, CountyOut

router = APIRouter(prefix="/v1", tags=["counties"])


def county_or_404(adcode: str, *, status: int = 404, loc: list[str] | None = None) -> Any:
    """The bundled county ``adcode``; 404 (or 422 at ``loc``) when unknown."""
    from wastenet.data.liaoning import county_index, load_counties

    idx = county_index().get(adcode)
    if idx is None:
        msg = f"no Liaoning county with adcode {adcode!r}"
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


@router.get("/counties", response_model=CountyList, responses=errors(401))
def list_counties(principal: AnyPrincipal) -> CountyList:
    """All 100 county-level divisions of Liaoning, with their bordering counties."""
    from wastenet.data.liaoning import county_neighbours, load_counties

    nb = county_neighbours()
    items = [_out(c, nb) for c in load_counties()]
    return CountyList(items=items, total=len(items))


@router.get("/counties/{adcode}", response_model=CountyOut, responses=errors(401, 404))
def get_county(adcode: str, principal: AnyPrincipal) -> CountyOut:
    from wastenet.data.liaoning import county_neighbours

    return _out(county_or_404(adcode), county_neighbours())
