"""/informator: the public directory of services as server-rendered HTML pages, in Polish.

No login and no script: a search form submitted with GET, a list of results with a link to the next
page, and a page per service with how to apply, contact, places and opening hours. Only directory data
is shown, never personal data. The stylesheet is served by the application itself (no CDN), so the
pages keep a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.api.deps import ContextDep
from app.api.rest.directory import decode_search_cursor, directory_store, encode_search_cursor
from app.domain.directory import (
    CATEGORY_LIST,
    Place,
    SearchRequest,
    Service,
    ServiceId,
    place_label,
)
from app.domain.errors import InvalidInput, NotFound
from app.domain.services import directory as use
from app.domain.services.context import UseCaseContext
from app.domain.values import Teryt, TerytLevel

router = APIRouter(include_in_schema=False)

_HERE = Path(__file__).parent
templates = Jinja2Templates(directory=_HERE / "templates")
STYLESHEET = (_HERE / "static" / "informator.css").read_text(encoding="utf-8")
PAGE_SIZE = 20

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_MONTHS = (
    "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia".split()  # noqa: SIM905
)
LANGUAGE_NAMES = {"pl": "polski", "uk": "ukraiński", "en": "angielski", "ru": "rosyjski", "de": "niemiecki"}


def _polish_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year} r."


def _name_pl(ctx: UseCaseContext, list_name: str, code: str) -> str:
    found = ctx.codes.get(list_name)
    entry = found.get(code) if found else None
    return entry.name_pl if entry else code


def _categories(ctx: UseCaseContext) -> list[dict[str, str]]:
    found = ctx.codes.get(CATEGORY_LIST)
    codes = found.codes if found else ()
    return [{"code": c.code, "label": f"Wsparcie {c.name_pl}"} for c in codes]


def _render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/informator/styl.css")
async def stylesheet() -> Response:
    return Response(
        STYLESHEET,
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/informator", response_class=HTMLResponse)
async def search_page(
    request: Request,
    ctx: ContextDep,
    q: Annotated[str, Query(max_length=200)] = "",
    kategoria: Annotated[str, Query(max_length=40)] = "",
    miejsce: Annotated[str, Query(max_length=7)] = "",
    wolne: Annotated[str, Query(max_length=1)] = "",
    kursor: Annotated[str, Query(max_length=400)] = "",
    od: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    store = directory_store(request)
    form = {"q": q.strip(), "kategoria": kategoria, "miejsce": miejsce, "wolne": wolne == "1"}
    errors: list[str] = []
    results: list[use.SearchResultView] = []
    next_url: str | None = None
    try:
        query = use.service_query(
            ctx,
            text=q,
            categories=[kategoria] if kategoria else [],
            place=miejsce or None,
            with_open_places=wolne == "1",
        )
        found = await use.search_services(
            store, query, SearchRequest(limit=PAGE_SIZE, after=decode_search_cursor(kursor or None))
        )
        results = list(found.items)
        cursor = encode_search_cursor(found.next_after)
        if cursor:
            params = {
                k: v for k, v in (("q", q), ("kategoria", kategoria), ("miejsce", miejsce), ("wolne", wolne)) if v
            }
            next_url = "/informator?" + urlencode(params | {"kursor": cursor, "od": str(od + len(results))})
    except InvalidInput as error:
        errors = [_problem_pl(e.field) for e in error.errors] or ["Nie udało się odczytać wyszukiwania."]
    places = await use.list_places(store)
    return _render(
        request,
        "search.html",
        {
            "form": form,
            "errors": errors,
            "results": results,
            "first": od,
            "next_url": next_url,
            "searched": bool(form["q"] or kategoria or miejsce or form["wolne"]),
            "categories": _categories(ctx),
            "category_names": {c["code"]: c["label"] for c in _categories(ctx)},
            "places": places,
        },
        status=400 if errors else 200,
    )


def _problem_pl(field: str) -> str:
    return {
        "category": "Wybierz rodzaj wsparcia z listy.",
        "teryt": "Wybierz miejscowość z listy.",
        "cursor": "Ta strona wyników jest nieaktualna: wyszukaj ponownie.",
    }.get(field, "Popraw pola wyszukiwania.")


@router.get("/informator/uslugi/{service_id}", response_class=HTMLResponse)
async def service_page(service_id: str, request: Request, ctx: ContextDep) -> HTMLResponse:
    store = directory_store(request)
    try:
        view = await use.read_service(store, ServiceId(UUID(service_id)))
    except (ValueError, NotFound):
        return _render(request, "not_found.html", {}, status=404)
    service = view.service
    places = {p.teryt.value: p for p in await use.list_places(store)}
    return _render(
        request,
        "service.html",
        {
            "service": service,
            "institution": view.institution,
            "institution_kind": _name_pl(ctx, "InstitutionType", view.institution.type),
            "category_name": f"Wsparcie {_name_pl(ctx, CATEGORY_LIST, service.category)}",
            "instrument_name": _name_pl(ctx, service.instrument.code_list, service.instrument.code).capitalize()
            if service.instrument
            else None,
            "criteria": [c.label_pl for c in sorted(service.eligibility.criteria)],
            "age_range": _age_range(service),
            "areas": [_area_name(a.value, places) for a in service.areas],
            "cost": _cost(service),
            "languages": ", ".join(LANGUAGE_NAMES.get(code, code) for code in service.languages),
            "verified": _polish_date(service.last_verified_on) if service.last_verified_on else None,
        },
    )


def _age_range(service: Service) -> str | None:
    low, high = service.eligibility.min_age, service.eligibility.max_age
    if low is not None and high is not None:
        return f"od {low} do {high} lat"
    if low is not None:
        return f"od {low} lat"
    if high is not None:
        return f"do {high} lat"
    return None


def _area_name(code: str, places: dict[str, Place]) -> str:
    teryt = Teryt(code)
    if teryt.level is TerytLevel.GMINA and code in places:
        return places[code].label
    if teryt.level is TerytLevel.POWIAT:
        return f"cały powiat (TERYT {code})"
    return place_label(teryt) if teryt.level is TerytLevel.VOIVODESHIP else f"gmina (TERYT {code})"


def _cost(service: Service) -> str:
    cost = service.cost
    if cost.free:
        return "bezpłatnie" + (f" ({cost.description})" if cost.description else "")
    amount = f"{cost.amount} zł".replace(".", ",") if cost.amount is not None else "odpłatnie"
    return amount + (f" ({cost.description})" if cost.description else "")
