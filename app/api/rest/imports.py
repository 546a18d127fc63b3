"""/v1/imports: an institution's export file uploaded, read with a mapping profile and imported as a batch
(the same use case as `spojnia sync import`); a batch's report read back later."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.adapters.record_systems.file_batches import column_of, import_command
from app.adapters.record_systems.profiles import Profile, ProfileError, load_profile, shipped_profiles
from app.adapters.record_systems.readers import FileProblem
from app.api.deps import ContainerDep, caller_with
from app.api.idempotency import IdempotencyKey, idempotent
from app.api.problems import AUTH_PROBLEMS, IDEMPOTENCY_PROBLEMS, problem_responses
from app.api.rest.responses import json_body
from app.bootstrap import Container
from app.domain.caller import Caller, Scope
from app.domain.errors import FieldError, InvalidInput
from app.domain.record_imports import BatchStatus, ImportBatch, ImportBatchId, ImportMode
from app.domain.services import record_imports as use

router = APIRouter(tags=["imports"])


class ImportCountsOut(BaseModel):
    rows_read: int
    created: int = Field(description="Persons new to Spójnia, registered and enrolled at your institution.")
    enrolled: int = Field(description="Persons Spójnia knew, newly enrolled at your institution.")
    updated: int = Field(description="Rows that changed a person, an enrollment or what your system last said.")
    unchanged: int
    rejected: int = Field(description="Rows rejected (see `rejects`).")
    families_created: int


class RejectOut(BaseModel):
    line: int = Field(description="The line (CSV), row (XLSX) or start tag's line (XML) of the row.")
    column: str = Field(description="The column (or XML path) as the profile names it.")
    field: str = Field(description="Spójnia's field.")
    reason: str = Field(description="Why; a PESEL in it is masked.")
    external_ref: str | None = Field(default=None, description="The row's id in your system.")


class ImportBatchOut(BaseModel):
    id: UUID
    institution_id: UUID
    profile: str
    profile_version: int
    file_name: str
    sha256: str
    mode: ImportMode
    status: BatchStatus = Field(description="`rejected`: nothing was imported; see `rejects`.")
    counts: ImportCountsOut
    rejects: list[RejectOut]
    created_at: datetime

    @classmethod
    def of(cls, batch: ImportBatch, profile: Profile | None) -> ImportBatchOut:
        c = batch.counts
        return cls(
            id=batch.id,
            institution_id=batch.institution_id,
            profile=batch.profile,
            profile_version=batch.profile_version,
            file_name=batch.file_name,
            sha256=batch.sha256,
            mode=batch.mode,
            status=batch.status,
            counts=ImportCountsOut(
                rows_read=c.rows_read,
                created=c.created,
                enrolled=c.enrolled,
                updated=c.updated,
                unchanged=c.unchanged,
                rejected=c.rejected,
                families_created=c.families_created,
            ),
            rejects=[
                RejectOut(
                    line=r.line,
                    column=column_of(profile, r.field) if profile else r.field,
                    field=r.field,
                    reason=r.reason,
                    external_ref=r.external_ref,
                )
                for r in batch.rejects
            ],
            created_at=batch.created_at,
        )


class _Fingerprint(BaseModel):
    """What makes two uploads the same request, for Idempotency-Key."""

    profile: str
    skip_rejects: bool
    file_name: str
    sha256: str


def _profile(app: Container, caller: Caller, name: str) -> Profile:
    try:
        return load_profile(name, institution_id=caller.institution_id, overrides_dir=app.settings.sync.overrides_dir)
    except ProfileError as error:
        raise InvalidInput(str(error), [FieldError("profile", str(error))]) from None


@router.post(
    "/v1/imports",
    operation_id="importRecordFile",
    status_code=201,
    response_model=ImportBatchOut,
    summary="Import an export file of your record system",
    description="Reads the file (CSV in UTF-8 or Windows-1250, XLSX or XML) with the mapping profile of your system "
    f"({', '.join(shipped_profiles())}, with your institution's override when the service has one) and imports "
    "its rows as clients of your institution: a person Spójnia knows is enrolled, never duplicated; a repeated "
    "file changes nothing. Without `skip_rejects` a file with any rejected row imports nothing (status "
    "`rejected`); with it, the valid rows are imported in one transaction. Either way the batch and its reject "
    "report are kept (201, `Location`). A file that cannot be read at all answers 422.",
    responses=problem_responses(*AUTH_PROBLEMS, *IDEMPOTENCY_PROBLEMS),
)
async def import_record_file(
    request: Request,
    app: ContainerDep,
    file: Annotated[UploadFile, File(description="The export: .csv, .xlsx or .xml.")],
    profile: Annotated[str, Form(description="The mapping profile: " + ", ".join(shipped_profiles()))],
    skip_rejects: Annotated[bool, Form(description="Import the valid rows of a file with rejected ones.")] = False,
    key: IdempotencyKey = None,
    caller: Caller = caller_with(Scope.PERSONS_WRITE),
) -> Response:
    mapping = _profile(app, caller, profile)
    limit = app.settings.sync.max_upload_mb * 1024 * 1024
    data = await file.read(limit + 1)
    if len(data) > limit:
        message = f"the file is larger than {app.settings.sync.max_upload_mb} MB"
        raise InvalidInput(message, [FieldError("file", message)])
    name = file.filename or "upload"
    try:
        command = await run_in_threadpool(import_command, data, name, mapping, skip_rejects=skip_rejects)
    except FileProblem as problem:
        message = f"line {problem.line}: {problem.message}"
        raise InvalidInput(f"the file cannot be read: {message}", [FieldError("file", message)]) from None

    async def run() -> Response:
        batch = await use.import_file(app.ctx, app.record_imports, caller, command)
        return json_body(ImportBatchOut.of(batch, mapping), status=201, location=f"/v1/imports/{batch.id}")

    fingerprint = _Fingerprint(profile=profile, skip_rejects=skip_rejects, file_name=name, sha256=command.sha256)
    return await idempotent(app.idempotency, caller, key, request.url.path, fingerprint, run)


@router.get(
    "/v1/imports/{batch_id}",
    operation_id="readImportBatch",
    response_model=ImportBatchOut,
    summary="Read an import batch of your institution, with its reject report",
    responses=problem_responses(*AUTH_PROBLEMS, "not-found"),
)
async def read_import_batch(
    batch_id: UUID, app: ContainerDep, caller: Caller = caller_with(Scope.PERSONS_WRITE)
) -> ImportBatchOut:
    batch = await use.read_batch(app.record_imports, caller, ImportBatchId(batch_id))
    try:
        mapping: Profile | None = _profile(app, caller, batch.profile)
    except InvalidInput:
        mapping = None
    return ImportBatchOut.of(batch, mapping)
