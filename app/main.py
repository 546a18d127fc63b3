"""create_app(): the REST routers and the GraphQL endpoint over one container."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter

from app.api.errors import install_error_handlers
from app.api.graphql.context import graph_context
from app.api.graphql.schema import build_schema
from app.api.middleware import RequestContextMiddleware
from app.api.openapi import install_openapi
from app.api.rest import (
    audit,
    directory,
    events,
    families,
    family_work,
    imports,
    institutions,
    meta,
    oauth,
    person_merges,
    persons,
    reconciliation,
    referrals,
    restricted_records,
    sharing,
)
from app.api.web import informator
from app.bootstrap import Container, bootstrap
from app.config import Settings
from app.logs import configure_logging

DESCRIPTION = """
Spójnia is the shared layer between social-assistance centres (OPS/MOPS/GOPS, PCPR), county labour
offices (PUP) and partner NGOs working with the same families.

Conventions: JSON with snake_case fields, UUID ids, ISO 8601 dates, UTC timestamps; errors are
RFC 9457 problem details (`application/problem+json`, each `type` documented at `/problems/{slug}`);
lists are cursor-paginated (`?limit=&cursor=` → `{"items": [...], "next_cursor": ...}`); creation
honours `Idempotency-Key`; changes need `If-Match` with the ETag last read (428 without, 412 when stale).
A PESEL never goes in a URL. A record your institution may not see answers 404.
"""


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or bootstrap(settings)
        if owned:
            # What the process built to start (the app, its schema, settings, modules) lives as long as it does:
            # kept out of the collector's generations, so a full collection under load has less to walk.
            gc.freeze()
        try:
            yield
        finally:
            if owned:
                await app.state.container.aclose()

    app = FastAPI(
        title="Spójnia API",
        version="1.0.0",
        description=DESCRIPTION,
        license_info={"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        lifespan=lifespan,
        openapi_tags=[
            {"name": "persons", "description": "Persons and their enrollments at your institution."},
            {"name": "families", "description": "Households, members and their history."},
            {"name": "institutions", "description": "OPS, PUP, NGO... with REGON, NIP and TERYT."},
            {"name": "workers", "description": "Who is the person's worker."},
            {"name": "referrals", "description": "Referrals between institutions, answered by actions."},
            {
                "name": "partnerships",
                "description": "Local partnerships with their coordinating (PZKW) and mobile (MGI) teams.",
            },
            {"name": "contracts", "description": "Tri-party family contracts, social contracts and support plans."},
            {"name": "deliveries", "description": "Specialist hours, cash benefits and outcomes."},
            {"name": "reports", "description": "Monitoring figures for the coordinating team."},
            {
                "name": "restricted-records",
                "description": "Niebieska Karta procedure records: only the owning interdisciplinary team sees them.",
            },
            {
                "name": "sharing",
                "description": "The grounds of sharing: agreements between institutions acting under statute, a "
                "person's consents for partner organisations, and the shared-client lookup that rests on them.",
            },
            {
                "name": "reconciliation",
                "description": "Where the institutions' record systems (and Spójnia's records) disagree about a "
                "person: household, registered-unemployed status, gmina; a worker's decision about each. Nothing "
                "is overwritten.",
            },
            {
                "name": "audit",
                "description": "The audit trail (data-protection officer): who read or changed personal data, when "
                "and why; a person's access report (GDPR art. 15).",
            },
            {"name": "events", "description": "The change feed of your institution's records."},
            {"name": "webhooks", "description": "Signed deliveries of the change feed, retried and replayable."},
            {
                "name": "directory",
                "description": "The directory of services (informator): search and read without a token, "
                "the Open Referral (HSDS 3) export, and your institution's own services. Public page: /informator.",
            },
            {
                "name": "imports",
                "description": "File batches: your record system's export (POMOST Std, TT-Pomoc, Syriusz Std or a "
                "generic CSV, XLSX, XML) imported as your clients by a mapping profile, with a reject report.",
            },
            {"name": "code-lists", "description": "Code lists with validity and legal basis."},
            {"name": "oauth", "description": "Tokens for registered clients."},
            {"name": "operations", "description": "Health, metrics, problem types."},
        ],
    )
    if container is not None:
        app.state.container = container
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    graphql = GraphQLRouter(
        build_schema(settings), context_getter=graph_context, graphql_ide=None, include_in_schema=False
    )
    # First: routes are matched in order, and /graphql (one route, no path parameters, outside the OpenAPI
    # document) would otherwise be tried against every REST route on every query.
    app.include_router(graphql, prefix="/graphql")
    for module in (meta, oauth, institutions, persons, families, family_work, referrals, events, directory):
        app.include_router(module.router)
    app.include_router(restricted_records.router)
    app.include_router(sharing.router)
    app.include_router(audit.router)
    app.include_router(person_merges.router)
    app.include_router(reconciliation.router)
    app.include_router(imports.router)
    app.include_router(informator.router)  # the public HTML page; not part of the OpenAPI document
    install_openapi(app)
    return app
