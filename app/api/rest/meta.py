"""Health, metrics, code lists and problem-type documentation: no personal data here."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from app.adapters.db.migrate import shipped_revisions
from app.api.deps import ContainerDep, ContextDep
from app.api.problems import PROBLEM_TYPES, problem_responses
from app.domain.code_lists import CodeList
from app.domain.errors import NotFound

router = APIRouter()


class CodeOut(BaseModel):
    code: str
    name_pl: str
    name_en: str
    legal_basis: str
    valid_from: date
    valid_to: date | None
    group: str | None


class CodeListOut(BaseModel):
    name: str
    description: str
    codes: list[CodeOut]

    @classmethod
    def of(cls, cl: CodeList) -> CodeListOut:
        return cls(
            name=cl.name,
            description=cl.description,
            codes=[
                CodeOut(
                    code=c.code,
                    name_pl=c.name_pl,
                    name_en=c.name_en,
                    legal_basis=c.legal_basis,
                    valid_from=c.valid_from,
                    valid_to=c.valid_to,
                    group=c.group,
                )
                for c in cl.codes
            ],
        )


class CodeListsOut(BaseModel):
    version: str
    items: list[CodeListOut]


class ProblemTypeOut(BaseModel):
    type: str
    title: str
    status: int
    description: str


class LiveOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["up", "down"]
    # Where the database is against this release's migrations: a process of a new release is not ready while the
    # database is behind (until `spojnia migrate` has run); one of the release before stays ready on a newer
    # schema, so that the old processes serve on while the new ones start.
    schema_: Literal["current", "behind", "newer", "unknown"] = Field(alias="schema", serialization_alias="schema")


@router.get(
    "/health/live",
    operation_id="healthLive",
    summary="The process answers",
    tags=["operations"],
    response_model=LiveOut,
)
async def live() -> LiveOut:
    return LiveOut(status="ok")


@router.get(
    "/health/ready",
    operation_id="healthReady",
    summary="The database answers, at the schema this release expects",
    tags=["operations"],
    response_model=ReadyOut,
    responses={
        503: {
            "model": ReadyOut,
            "description": "The database does not answer, or is not at the migration this release expects.",
        }
    },
)
async def ready(app: ContainerDep) -> JSONResponse:
    try:
        async with app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            try:
                revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            except Exception:
                revision = None  # never migrated
    except Exception:
        return _readiness("unavailable", "down", "unknown")
    head, shipped = shipped_revisions()
    if revision == head:
        return _readiness("ok", "up", "current")
    if revision is not None and revision not in shipped:
        return _readiness("ok", "up", "newer")
    return _readiness("unavailable", "up", "unknown" if revision is None else "behind")


def _readiness(status: str, database: str, schema: str) -> JSONResponse:
    answer = ReadyOut.model_validate({"status": status, "database": database, "schema": schema})
    return JSONResponse(answer.model_dump(by_alias=True), status_code=200 if status == "ok" else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics",
    tags=["operations"],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/code-lists",
    operation_id="listCodeLists",
    summary="All code lists with validity and legal basis",
    tags=["code-lists"],
    response_model=CodeListsOut,
)
async def code_lists(ctx: ContextDep) -> CodeListsOut:
    lists = [ctx.codes.get(name) for name in ctx.codes.names()]
    return CodeListsOut(version=ctx.codes.version, items=[CodeListOut.of(cl) for cl in lists if cl])


@router.get(
    "/v1/code-lists/{name}",
    operation_id="getCodeList",
    summary="One code list",
    tags=["code-lists"],
    response_model=CodeListOut,
    responses=problem_responses("not-found"),
)
async def code_list(name: str, ctx: ContextDep) -> CodeListOut:
    found = ctx.codes.get(name)
    if found is None:
        raise NotFound(f"no code list named '{name}'")
    return CodeListOut.of(found)


@router.get(
    "/problems/{slug}",
    operation_id="getProblemType",
    summary="What a problem type means",
    tags=["operations"],
    response_model=ProblemTypeOut,
    responses=problem_responses("not-found"),
)
async def problem_type(slug: str) -> ProblemTypeOut:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None:
        raise NotFound("no such problem type")
    return ProblemTypeOut(type=kind.uri, title=kind.title, status=kind.status, description=kind.description)
