"""Use cases of persons: register (or enroll a known person), read, list, change, enrollments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.domain.access_policy import AccessDecision
from app.domain.audit import AuditAction, Decision, SubjectType
from app.domain.caller import Caller, Scope
from app.domain.clock import local_date
from app.domain.data_categories import DataCategory
from app.domain.errors import DuplicateRecord, FieldError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from app.domain.ids import EnrollmentId, InstitutionId, PersonId, WorkerId, new_id
from app.domain.institutions import Institution
from app.domain.pagination import Page, PageRequest
from app.domain.persons import Enrollment, Person
from app.domain.ports import UnitOfWork
from app.domain.services.access import (
    DEFAULT_PURPOSE,
    AccessCheck,
    access_check,
    check_purpose,
    checked_on,
    holders,
    requester_of,
    status_category,
)
from app.domain.services.context import UseCaseContext, audit, audit_record
from app.domain.services.merged_records import follow_merges, merged_record_hint
from app.domain.services.views import EnrollmentView, PersonView, assemble_person_views, person_views
from app.domain.values import IdentityDocument, Pesel, Sex


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrollmentDetails:
    status: str
    since: date | None = None
    worker_id: WorkerId | None = None
    external_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterPerson:
    first_name: str
    last_name: str
    birth_date: date | None = None
    sex: Sex | None = None
    pesel: str | None = None
    identity_document: IdentityDocument | None = None
    enrollment: EnrollmentDetails


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    view: PersonView
    newly_enrolled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangePerson:
    person_id: PersonId
    expected_version: int
    first_name: str | None = None
    last_name: str | None = None
    pesel: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeEnrollment:
    enrollment_id: EnrollmentId
    expected_version: int
    status: str | None = None
    worker_id: WorkerId | None = None
    clear_worker: bool = False
    external_ref: str | None = None
    until: date | None = None


async def caller_institution(uow: UnitOfWork, caller: Caller) -> Institution:
    institution = await uow.institutions.get(caller.institution_id)
    if institution is None:
        raise PermissionDenied("the token's institution is not registered in Spójnia")
    return institution


async def _check_worker(uow: UnitOfWork, worker_id: WorkerId | None, institution_id: InstitutionId, field: str) -> None:
    if worker_id is None:
        return
    worker = await uow.workers.get(worker_id)
    if worker is None or worker.institution_id != institution_id:
        raise InvalidInput(
            "the worker is not a worker of your institution", [FieldError(field, "not a worker of your institution")]
        )


async def register_person(ctx: UseCaseContext, caller: Caller, cmd: RegisterPerson) -> Registration:
    """Registers a client of the caller's institution; a person already known is enrolled, never duplicated."""
    caller.require(Scope.PERSONS_WRITE)
    pesel = Pesel.parse(cmd.pesel) if cmd.pesel is not None else None
    try:
        return await _register(ctx, caller, cmd, pesel)
    except DuplicateRecord:
        # Two institutions registered the same PESEL at the same moment and the other one won:
        # once more, and this time the person is found and enrolled.
        return await _register(ctx, caller, cmd, pesel)


async def _register(ctx: UseCaseContext, caller: Caller, cmd: RegisterPerson, pesel: Pesel | None) -> Registration:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        institution = await caller_institution(uow, caller)
        status_list = institution.enrollment_status_list()
        ctx.codes.require(status_list, cmd.enrollment.status, field="enrollment.status", on=local_date(now))
        if cmd.identity_document is not None:
            ctx.codes.require(
                "IdentityDocumentKind", cmd.identity_document.kind, field="identity_document.kind", on=local_date(now)
            )
        await _check_worker(uow, cmd.enrollment.worker_id, institution.id, "enrollment.worker_id")
        person = await _known_person(uow, pesel, cmd.identity_document)
        if person is None:
            person = Person.register(
                id=PersonId(new_id()),
                first_name=cmd.first_name,
                last_name=cmd.last_name,
                birth_date=cmd.birth_date,
                sex=cmd.sex,
                pesel=pesel,
                identity_document=cmd.identity_document,
                at=now,
            )
            await uow.persons.add(person)
            await audit(uow, ctx, caller, AuditAction.CREATE, SubjectType.PERSON, [person.id])
        enrollment = await uow.enrollments.active_at(person.id, institution.id)
        newly_enrolled = enrollment is None
        if enrollment is None:
            enrollment = Enrollment(
                id=EnrollmentId(new_id()),
                person_id=person.id,
                institution_id=institution.id,
                status=cmd.enrollment.status,
                since=cmd.enrollment.since or local_date(now),
                until=None,
                worker_id=cmd.enrollment.worker_id,
                external_ref=cmd.enrollment.external_ref,
                created_at=now,
                updated_at=now,
            )
            await uow.enrollments.add(enrollment)
            await audit(uow, ctx, caller, AuditAction.ENROLL, SubjectType.PERSON, [person.id])
        else:
            await audit(uow, ctx, caller, AuditAction.READ, SubjectType.PERSON, [person.id])
        [view] = await person_views(uow, [person], institution.id)
        await uow.commit()
    return Registration(view=view, newly_enrolled=newly_enrolled)


async def _known_person(uow: UnitOfWork, pesel: Pesel | None, document: IdentityDocument | None) -> Person | None:
    if pesel is not None:
        return await uow.persons.by_pesel(pesel)
    if document is not None:
        # A merged record keeps its document when the kept one has its own: the person is the kept one.
        return await follow_merges(uow, await uow.persons.by_identity_document(document))
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class _PersonAccess:
    """What the caller may see of one person: its own records, or what the access policy opens."""

    own: bool
    identity: AccessDecision | None
    check: AccessCheck
    elsewhere: list[Enrollment]
    places: dict[InstitutionId, Institution]

    @property
    def readable(self) -> bool:
        return self.own or self.identity is not None

    def denial(self, person_id: PersonId) -> str:
        return self.check.explain_denial(person_id, DataCategory.IDENTITY, holders(self.elsewhere, person_id))


async def _person_access(
    uow: UnitOfWork, ctx: UseCaseContext, caller: Caller, institution: Institution, person_id: PersonId, purpose: str
) -> _PersonAccess:
    enrollments = await uow.shared_clients.active_enrollments([person_id])
    elsewhere = [e for e in enrollments if e.institution_id != caller.institution_id]
    places = {i.id: i for i in await uow.institutions.get_many(list({e.institution_id for e in elsewhere}))}
    check = await access_check(uow, ctx, caller, institution, purpose, [person_id])
    own = await uow.persons.visible_to(person_id, caller.institution_id)
    identity = None if own else check.first_allowed(person_id, DataCategory.IDENTITY, holders(elsewhere, person_id))
    return _PersonAccess(own=own, identity=identity, check=check, elsewhere=elsewhere, places=places)


async def read_person(ctx: UseCaseContext, caller: Caller, person_id: PersonId) -> PersonView:
    """A client of the caller's (or of a family it keeps) in full; anyone else's person as far as the access
    policy opens it for the purpose: identity from an institution that serves them, each status elsewhere alone.

    Two trips to storage: the grounds, then the audit record."""
    caller.require(Scope.PERSONS_READ)
    purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
    grounds = await ctx.reads.persons.grounds(person_id, caller.institution_id)
    person = grounds.person
    if person is None:
        raise NotFound("no such person")
    if person.merged_into is not None:
        async with ctx.uow() as uow:
            raise await merged_record_hint(uow, caller, person)
    institution = grounds.caller_institution
    if institution is None:
        raise PermissionDenied("the token's institution is not registered in Spójnia")
    check = checked_on(ctx, requester_of(caller, institution, purpose), grounds.agreements, grounds.consents)
    elsewhere = [e for e in grounds.active_enrollments if e.institution_id != caller.institution_id]
    identity = (
        None if grounds.own else check.first_allowed(person_id, DataCategory.IDENTITY, holders(elsewhere, person_id))
    )
    if not (grounds.own or identity):
        denial = check.explain_denial(person_id, DataCategory.IDENTITY, holders(elsewhere, person_id))
        record = audit_record(
            caller,
            AuditAction.READ,
            SubjectType.PERSON,
            person_id,
            at=check.at,
            categories=(DataCategory.IDENTITY,),
            purpose=purpose,
            decision=Decision.DENY,
            reason=denial,
        )
        await ctx.reads.persons.record([record])
        raise NotFound("no such person")
    places = grounds.institutions
    opened = [
        (e, decision)
        for e in elsewhere
        if (decision := check.decide(person_id, status_category(places[e.institution_id].type), e.institution_id))
    ]
    [view] = assemble_person_views(
        [person], grounds.own_enrollments, grounds.workers, {person_id: grounds.family_ids}, [e for e, _ in opened]
    )
    reasons = [identity.reason if identity else "your institution's own client"]
    reasons += [d.reason for _, d in opened]
    categories = {DataCategory.IDENTITY, *(status_category(places[e.institution_id].type) for e, _ in opened)}
    if view.enrollments:
        categories.add(status_category(institution.type))
    record = audit_record(
        caller,
        AuditAction.READ,
        SubjectType.PERSON,
        person.id,
        at=check.at,
        categories=tuple(sorted(categories)),
        purpose=purpose,
        reason="; ".join(dict.fromkeys(reasons)),
    )
    await ctx.reads.persons.record([record])
    return view


async def list_persons(ctx: UseCaseContext, caller: Caller, page: PageRequest) -> Page[PersonView]:
    """The caller's institution's clients; each person listed is an audited read."""
    caller.require(Scope.PERSONS_READ)
    async with ctx.uow() as uow:
        found = await uow.persons.list_visible(caller.institution_id, page)
        views = await person_views(uow, found.items, caller.institution_id)
        await audit(uow, ctx, caller, AuditAction.LIST, SubjectType.PERSON, [p.id for p in found.items])
        await uow.commit()
    return Page(items=views, next_after=found.next_after)


async def change_person(ctx: UseCaseContext, caller: Caller, cmd: ChangePerson) -> PersonView:
    """Only an institution that enrolls the person corrects their identity."""
    caller.require(Scope.PERSONS_WRITE)
    now = ctx.clock.now()
    pesel = Pesel.parse(cmd.pesel) if cmd.pesel is not None else None
    async with ctx.uow() as uow:
        person = await uow.persons.get(cmd.person_id)
        if person is None:
            raise NotFound("no such person")
        if await uow.enrollments.active_at(person.id, caller.institution_id) is None:
            # A partner that may read the person is told why not; to anyone else the person does not exist.
            purpose = check_purpose(ctx, caller.purpose, "X-Purpose") or DEFAULT_PURPOSE
            access = await _person_access(uow, ctx, caller, await caller_institution(uow, caller), person.id, purpose)
            if not access.readable:
                raise NotFound("no such person")
            raise PermissionDenied("only an institution that enrolls the person may change their data")
        if person.version != cmd.expected_version:
            raise StaleVersion("the person has changed since you read it", person.version)
        if pesel is not None and pesel != person.pesel:
            holder = await uow.persons.by_pesel(pesel)
            if holder is not None:
                raise InvalidInput(
                    "the PESEL cannot be given to this person",
                    [FieldError("pesel", "cannot be given to this person; ask to merge records instead")],
                )
            person.identify(pesel, now)
        if cmd.first_name is not None or cmd.last_name is not None:
            person.rename(first_name=cmd.first_name, last_name=cmd.last_name, at=now)
        if person.version != cmd.expected_version:
            await uow.persons.update(person, expected_version=cmd.expected_version)
            await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.PERSON, [person.id])
        [view] = await person_views(uow, [person], caller.institution_id)
        await uow.commit()
    return view


async def change_enrollment(ctx: UseCaseContext, caller: Caller, cmd: ChangeEnrollment) -> EnrollmentView:
    """An institution changes only its own enrollments; others' are invisible to it (404)."""
    caller.require(Scope.PERSONS_WRITE)
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        enrollment = await uow.enrollments.get(cmd.enrollment_id)
        if enrollment is None or enrollment.institution_id != caller.institution_id:
            raise NotFound("no such enrollment")
        if enrollment.version != cmd.expected_version:
            raise StaleVersion("the enrollment has changed since you read it", enrollment.version)
        institution = await caller_institution(uow, caller)
        if cmd.status is not None:
            ctx.codes.require(institution.enrollment_status_list(), cmd.status, field="status", on=local_date(now))
        await _check_worker(uow, cmd.worker_id, institution.id, "worker_id")
        if cmd.status is not None or cmd.worker_id is not None or cmd.clear_worker or cmd.external_ref is not None:
            enrollment.change(
                status=cmd.status,
                worker_id=cmd.worker_id,
                clear_worker=cmd.clear_worker,
                external_ref=cmd.external_ref,
                at=now,
            )
        if cmd.until is not None:
            enrollment.end(on=cmd.until, at=now)
        await uow.enrollments.update(enrollment, expected_version=cmd.expected_version)
        await audit(uow, ctx, caller, AuditAction.UPDATE, SubjectType.PERSON, [enrollment.person_id])
        worker = await uow.workers.get(enrollment.worker_id) if enrollment.worker_id else None
        await uow.commit()
    return EnrollmentView(enrollment=enrollment, worker=worker)
