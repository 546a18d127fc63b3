"""Use cases of institutions and their workers. Administrators register them; anyone may read."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.caller import Caller, Scope
from app.domain.clock import local_date
from app.domain.errors import NotFound, StaleVersion
from app.domain.ids import InstitutionId, WorkerId, new_id
from app.domain.institutions import Institution, Worker
from app.domain.pagination import Page, PageRequest
from app.domain.services.context import UseCaseContext
from app.domain.values import Address, Contact, Nip, Regon, Teryt, clean_text


@dataclass(frozen=True, slots=True, kw_only=True)
class InstitutionData:
    type: str
    name: str
    teryt: str
    regon: str | None = None
    nip: str | None = None
    address: Address = field(default_factory=Address)
    contact: Contact = field(default_factory=Contact)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewWorker:
    institution_id: InstitutionId
    first_name: str
    last_name: str
    role: str
    contact: Contact = field(default_factory=Contact)
    idp_subject: str | None = None


async def register_institution(
    ctx: UseCaseContext, caller: Caller | None, data: InstitutionData, institution_id: InstitutionId | None = None
) -> Institution:
    """`caller` None is the command line acting as the operator."""
    if caller is not None:
        caller.require(Scope.ADMIN)
    now = ctx.clock.now()
    Institution.validate_type(ctx.codes, data.type, now)
    institution = Institution(
        id=institution_id or InstitutionId(new_id()),
        type=data.type,
        name=clean_text(data.name, field="name", max_length=300),
        regon=Regon.parse(data.regon) if data.regon else None,
        nip=Nip.parse(data.nip) if data.nip else None,
        teryt=Teryt.parse(data.teryt),
        address=data.address,
        contact=data.contact,
        created_at=now,
        updated_at=now,
    )
    async with ctx.uow() as uow:
        await uow.institutions.add(institution)
        await uow.commit()
    return institution


async def change_institution(
    ctx: UseCaseContext, caller: Caller, institution_id: InstitutionId, expected_version: int, data: InstitutionData
) -> Institution:
    caller.require(Scope.ADMIN)
    now = ctx.clock.now()
    Institution.validate_type(ctx.codes, data.type, now)
    async with ctx.uow() as uow:
        institution = await uow.institutions.get(institution_id)
        if institution is None:
            raise NotFound("no such institution")
        if institution.version != expected_version:
            raise StaleVersion("the institution has changed since you read it", institution.version)
        institution.type = data.type
        institution.name = clean_text(data.name, field="name", max_length=300)
        institution.regon = Regon.parse(data.regon) if data.regon else None
        institution.nip = Nip.parse(data.nip) if data.nip else None
        institution.teryt = Teryt.parse(data.teryt)
        institution.address = data.address
        institution.contact = data.contact
        institution.touch(now)
        await uow.institutions.update(institution, expected_version=expected_version)
        await uow.commit()
    return institution


async def read_institution(ctx: UseCaseContext, institution_id: InstitutionId) -> Institution:
    async with ctx.uow() as uow:
        institution = await uow.institutions.get(institution_id)
    if institution is None:
        raise NotFound("no such institution")
    return institution


async def list_institutions(ctx: UseCaseContext, page: PageRequest) -> Page[Institution]:
    async with ctx.uow() as uow:
        return await uow.institutions.list(page)


async def add_worker(ctx: UseCaseContext, caller: Caller | None, data: NewWorker) -> Worker:
    if caller is not None:
        caller.require(Scope.ADMIN)
    now = ctx.clock.now()
    ctx.codes.require("SpecialistRole", data.role, field="role", on=local_date(now))
    async with ctx.uow() as uow:
        if await uow.institutions.get(data.institution_id) is None:
            raise NotFound("no such institution")
        worker = Worker(
            id=WorkerId(new_id()),
            institution_id=data.institution_id,
            first_name=clean_text(data.first_name, field="first_name", max_length=100),
            last_name=clean_text(data.last_name, field="last_name", max_length=100),
            role=data.role,
            contact=data.contact,
            idp_subject=data.idp_subject,
            created_at=now,
        )
        await uow.workers.add(worker)
        await uow.commit()
    return worker


async def list_workers(ctx: UseCaseContext, institution_id: InstitutionId, page: PageRequest) -> Page[Worker]:
    async with ctx.uow() as uow:
        if await uow.institutions.get(institution_id) is None:
            raise NotFound("no such institution")
        return await uow.workers.list_for_institution(institution_id, page)


async def read_worker(ctx: UseCaseContext, worker_id: WorkerId) -> Worker:
    async with ctx.uow() as uow:
        worker = await uow.workers.get(worker_id)
    if worker is None:
        raise NotFound("no such worker")
    return worker
