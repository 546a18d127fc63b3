"""Helpers of the directory tests: the app with the directory mounted, and request bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

# The tables must be on the metadata before the first test empties the database.
from app.adapters.db import directory_tables  # noqa: F401
from app.api.rest import directory
from app.api.web import informator


def with_directory(app: FastAPI) -> FastAPI:
    """The app with the directory's routers, unless create_app() mounts them already (after the wiring)."""
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/v1/services" not in paths:
        app.include_router(directory.router)
    if "/informator" not in paths:
        app.include_router(informator.router)
    return app


def service_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Poradnictwo psychologiczne dla rodzin",
        "description": "Konsultacje psychologa dla rodziców i dzieci w kryzysie.",
        "category": "SOCIAL",
        "instrument": {"code_list": "AssistanceForm", "code": "COUNSELLING"},
        "eligibility": {"description": "Rodziny z Bartoszyc.", "criteria": ["FAMILY_IN_CRISIS"], "min_age": 0},
        "areas": ["2801011"],
        "locations": [
            {
                "name": "Gabinet",
                "street": "ul. Kętrzyńska 1",
                "postal_code": "11-200",
                "city": "Bartoszyce",
                "teryt": "2801011",
                "opening_hours": [{"day": "MO", "opens": "08:00", "closes": "16:00"}],
            }
        ],
        "contact": {"email": "psycholog@example.pl", "phone": "+48 89 000 00 09"},
        "application_process": "Zadzwoń i umów wizytę.",
        "languages": ["pl"],
        "last_verified_on": "2026-11-02",
    }
    return body | overrides
