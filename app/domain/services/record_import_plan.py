"""Planning a file import: for each row the person it is (found or new), what changes, or why it is rejected;
then the households and the source records. Nothing is written until `ImportPlan.apply`.

Three passes: persons and enrollments row by row; households (which need every member's person); then what
each source record says (which names the household's members).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from app.domain.audit import AuditAction, SubjectType
from app.domain.errors import Conflict, InvalidInput
from app.domain.families import Family
from app.domain.ids import EnrollmentId, FamilyId, InstitutionId, MembershipId, PersonId, WorkerId, new_id
from app.domain.institutions import Institution, Worker
from app.domain.lookup_reads import folded
from app.domain.pagination import PageRequest, Position
from app.domain.persons import Enrollment, Person
from app.domain.record_imports import (
    ImportBatchId,
    ImportCounts,
    RecordImportUnitOfWork,
    Reject,
    SourceHouseholdRecord,
    SourceRow,
)
from app.domain.services.context import UseCaseContext
from app.domain.services.merged_records import follow_merges
from app.domain.source_records import SourceHouseholdMember, SourceRecord
from app.domain.values import IdentityDocument, Pesel, Sex, Teryt

# What of a source record, when it changes, is news about the enrollment.
_ENROLLMENT_KEYS = ("status", "since", "until", "worker_name", "worker_ref")


def _folded(name: str | None) -> str:
    return folded(name or "")


class _Rejected(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _refuse(error: InvalidInput | Conflict, default_field: str) -> _Rejected:
    errors = getattr(error, "errors", ())
    return _Rejected(errors[0].field if errors else default_field, error.detail)


@dataclass(slots=True, kw_only=True)
class _RowPlan:
    row: SourceRow
    person: Person
    record: SourceRecord | None
    new_person: bool = False
    person_version: int | None = None  # the version read, when the person changes
    enrollment: Enrollment | None = None  # to add (new_enrollment) or to update
    new_enrollment: bool = False
    enrollment_version: int | None = None

    @property
    def changed(self) -> bool:
        return self.new_person or self.person_version is not None or self.enrollment is not None


@dataclass(slots=True, kw_only=True)
class ImportPlan:
    institution_id: InstitutionId
    rejects: list[Reject] = field(default_factory=list)
    counts: ImportCounts = field(default_factory=ImportCounts)
    audit: list[tuple[AuditAction, SubjectType, UUID]] = field(default_factory=list)
    rows: list[_RowPlan] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    records_new: list[SourceRecord] = field(default_factory=list)
    records_changed: list[SourceRecord] = field(default_factory=list)
    refs_seen: list[str] = field(default_factory=list)
    households_new: list[SourceHouseholdRecord] = field(default_factory=list)
    households_changed: list[SourceHouseholdRecord] = field(default_factory=list)
    households_seen: list[str] = field(default_factory=list)

    async def apply(self, uow: RecordImportUnitOfWork, batch_id: ImportBatchId, at: datetime) -> None:
        await uow.bulk.add_persons([p.person for p in self.rows if p.new_person])
        for plan in self.rows:
            if plan.person_version is not None:
                await uow.persons.update(plan.person, expected_version=plan.person_version)
        await uow.bulk.add_enrollments([p.enrollment for p in self.rows if p.enrollment and p.new_enrollment])
        for plan in self.rows:
            if plan.enrollment is not None and plan.enrollment_version is not None:
                await uow.enrollments.update(plan.enrollment, expected_version=plan.enrollment_version)
        await uow.bulk.add_families(self.families)
        await uow.sources.add(self.records_new, batch_id)
        await uow.sources.replace(self.records_changed, batch_id)
        await uow.sources.add_households(self.households_new, batch_id)
        await uow.sources.replace_households(self.households_changed, batch_id)
        await uow.sources.seen(self.institution_id, self.refs_seen, at, batch_id)
        await uow.sources.households_seen(self.institution_id, self.households_seen, at, batch_id)


class _Planner:
    def __init__(
        self,
        uow: RecordImportUnitOfWork,
        ctx: UseCaseContext,
        institution: Institution,
        status_list: str,
    ) -> None:
        self.uow = uow
        self.ctx = ctx
        self.institution = institution
        self.status_list = status_list
        self.now = ctx.clock.now()
        self.today = ctx.today()
        self.plan = ImportPlan(institution_id=institution.id)
        self.records: dict[str, SourceRecord] = {}
        self.persons: dict[PersonId, Person] = {}
        self.by_pesel: dict[Pesel, Person] = {}
        self.linked: dict[PersonId, str] = {}
        self.enrollments: dict[PersonId, Enrollment] = {}
        self.workers: list[Worker] = []
        self.claimed: dict[PersonId, int] = {}  # person -> the line that took them in this file
        self.counts = defaultdict[str, int](int)

    async def load(self, rows: Sequence[SourceRow]) -> None:
        """Everything the rows need, in a few queries however many rows there are."""
        institution_id = self.institution.id
        self.records = await self.uow.sources.of_refs(institution_id, [r.person.external_ref for r in rows])
        linked_ids = [r.person_id for r in self.records.values() if r.person_id is not None]
        self.persons = await self.uow.bulk.persons(linked_ids)
        unlinked = []
        for row in rows:
            record = self.records.get(row.person.external_ref)
            person = self.persons.get(record.person_id) if record and record.person_id else None
            if row.pesel is not None and (person is None or person.pesel != row.pesel):
                unlinked.append(row.pesel)
        self.by_pesel = dict(await self.uow.bulk.persons_by_pesel(unlinked))
        found = [p.id for p in self.by_pesel.values()]
        self.linked = await self.uow.sources.refs_of_persons(institution_id, found)
        self.enrollments = await self.uow.bulk.open_enrollments(institution_id, [*linked_ids, *found])
        after: Position | None = None
        while True:
            page = await self.uow.workers.list_for_institution(institution_id, PageRequest(limit=200, after=after))
            self.workers.extend(w for w in page.items if w.active)
            if page.next_after is None:
                break
            after = page.next_after

    async def row(self, row: SourceRow) -> None:
        try:
            self._check_codes(row)
            record = self.records.get(row.person.external_ref)
            if record is not None and record.person_id is not None:
                plan = await self._known(row, record)
            else:
                plan = await self._unknown(row)
            self._enrollment(plan)
        except _Rejected as rejected:
            self.plan.rejects.append(
                Reject(
                    line=row.line, field=rejected.field, reason=rejected.reason, external_ref=row.person.external_ref
                )
            )
            return
        self.claimed[plan.person.id] = row.line
        self.plan.rows.append(plan)

    def _check_codes(self, row: SourceRow) -> None:
        try:
            self.ctx.codes.require(self.status_list, row.enrollment.status, field="status", on=self.today)
            if row.membership is not None:
                self.ctx.codes.require("FamilyRole", row.membership.role, field="role", on=self.today)
            if row.person.id_doc_kind is not None:
                self.ctx.codes.require(
                    "IdentityDocumentKind", row.person.id_doc_kind, field="id_doc_kind", on=self.today
                )
        except InvalidInput as error:
            raise _refuse(error, "status") from None

    async def _known(self, row: SourceRow, record: SourceRecord) -> _RowPlan:
        """A row of a record the institution's system sent before: its person is the one it was linked to."""
        assert record.person_id is not None  # noqa: S101 - checked by the caller
        person = self.persons.get(record.person_id)
        if person is None:
            raise _Rejected("external_ref", "the person this record was linked to is no longer in Spójnia")
        self._not_claimed(person)
        plan = _RowPlan(row=row, person=person, record=record)
        pesel = row.pesel
        if pesel is not None and person.pesel != pesel:
            if person.pesel is not None:
                raise _Rejected(
                    "pesel",
                    "this record is linked to a person with another PESEL in Spójnia; ask for the records to be merged",
                )
            holder = self.by_pesel.get(pesel)
            if holder is not None and holder.id != person.id:
                raise _Rejected("pesel", "another person in Spójnia holds this PESEL; ask for the records to be merged")
            self._change_person(plan, lambda: person.identify(pesel, self.now))
        said_before = (record.payload.get("first_name"), record.payload.get("last_name"))
        if said_before != (row.person.first_name, row.person.last_name):
            await self._rename(plan)
        before_birth = record.payload.get("birth_date")
        birth = row.person.birth_date
        if pesel is None and birth is not None and before_birth != birth.isoformat() and birth != person.birth_date:
            raise _Rejected("birth_date", "differs from Spójnia's record of the person; an import does not change it")
        return plan

    async def _unknown(self, row: SourceRow) -> _RowPlan:
        """A record new to Spójnia: its person found by PESEL (or identity document), else registered."""
        pesel = row.pesel
        document = self._document(row)
        person = self.by_pesel.get(pesel) if pesel is not None else None
        if person is None and pesel is None and document is not None:
            # A record merged into another lives on there: never enrol the merged one again.
            person = await follow_merges(self.uow, await self.uow.persons.by_identity_document(document))
        if person is None:
            try:
                person = Person.register(
                    id=PersonId(new_id()),
                    first_name=row.person.first_name,
                    last_name=row.person.last_name,
                    birth_date=row.person.birth_date,
                    sex=Sex(row.person.sex) if row.person.sex else None,
                    pesel=pesel,
                    identity_document=document,
                    at=self.now,
                )
            except InvalidInput as error:
                raise _refuse(error, "pesel") from None
            return _RowPlan(row=row, person=person, record=None, new_person=True)
        other = self.linked.get(person.id)
        if other is not None and other != row.person.external_ref:
            raise _Rejected(
                "external_ref", f"the person is already linked to record {other} of your system; one person, one record"
            )
        self._not_claimed(person)
        if pesel is None and row.person.birth_date not in (None, person.birth_date):
            raise _Rejected("birth_date", "differs from Spójnia's record of the person with this identity document")
        plan = _RowPlan(row=row, person=person, record=None)
        await self._rename(plan)
        return plan

    def _not_claimed(self, person: Person) -> None:
        line = self.claimed.get(person.id)
        if line is not None:
            raise _Rejected("external_ref", f"the same person as on line {line}, under another external ref")

    @staticmethod
    def _document(row: SourceRow) -> IdentityDocument | None:
        p = row.person
        if p.id_doc_kind and p.id_doc_number and p.id_doc_country:
            return IdentityDocument(kind=p.id_doc_kind, number=p.id_doc_number, country=p.id_doc_country)
        return None

    async def _rename(self, plan: _RowPlan) -> None:
        """The source names the person otherwise than Spójnia: renamed when no other institution serves them,
        refused when one does (it is their record too)."""
        person, source = plan.person, plan.row.person
        first = None if _folded(source.first_name) == _folded(person.first_name) else source.first_name
        last = None if _folded(source.last_name) == _folded(person.last_name) else source.last_name
        if first is None and last is None:
            return
        serving = await self.uow.shared_clients.active_enrollments([person.id])
        if any(e.institution_id != self.institution.id for e in serving):
            raise _Rejected(
                "last_name" if last is not None else "first_name",
                "the name differs from Spójnia's record of this person, whom another institution also serves; "
                "an import does not change it: check the name with them",
            )
        self._change_person(plan, lambda: person.rename(first_name=first, last_name=last, at=self.now))

    def _change_person(self, plan: _RowPlan, change: Callable[[], None]) -> None:
        if plan.person_version is None and not plan.new_person:
            plan.person_version = plan.person.version
        try:
            change()
        except (InvalidInput, Conflict) as error:
            raise _refuse(error, "pesel") from None

    def _enrollment(self, plan: _RowPlan) -> None:
        """Status and worker at the institution: changed only when the source says something new."""
        row = plan.row
        said = row.enrollment_said()
        before = plan.record.payload if plan.record is not None else None
        if before is not None and all(before.get(k) == said.get(k) for k in _ENROLLMENT_KEYS):
            return
        open_enrollment = None if plan.new_person else self.enrollments.get(plan.person.id)
        worker = self._worker(row)
        try:
            if open_enrollment is None:
                plan.enrollment = self._enroll(plan, worker)
                plan.new_enrollment = True
                return
            changed_worker = before is None or any(before.get(k) != said.get(k) for k in ("worker_name", "worker_ref"))
            new_worker = worker if changed_worker and worker != open_enrollment.worker_id else None
            clear = changed_worker and worker is None and not (row.enrollment.worker_name or row.enrollment.worker_ref)
            clear = clear and open_enrollment.worker_id is not None
            status = row.enrollment.status if row.enrollment.status != open_enrollment.status else None
            if before is not None and before.get("status") == row.enrollment.status:
                status = None
            external_ref = row.person.external_ref if open_enrollment.external_ref != row.person.external_ref else None
            ends = row.enrollment.until is not None and (before is None or before.get("until") != said.get("until"))
            if status is None and new_worker is None and not clear and external_ref is None and not ends:
                return
            version = open_enrollment.version
            if status is not None or new_worker is not None or clear or external_ref is not None:
                open_enrollment.change(
                    status=status, worker_id=new_worker, clear_worker=clear, external_ref=external_ref, at=self.now
                )
            if ends and row.enrollment.until is not None:
                open_enrollment.end(on=row.enrollment.until, at=self.now)
        except (InvalidInput, Conflict) as error:
            raise _refuse(error, "until") from None
        plan.enrollment, plan.enrollment_version = open_enrollment, version

    def _enroll(self, plan: _RowPlan, worker: WorkerId | None) -> Enrollment:
        row = plan.row
        since: date = row.enrollment.since or self.today
        enrollment = Enrollment(
            id=EnrollmentId(new_id()),
            person_id=plan.person.id,
            institution_id=self.institution.id,
            status=row.enrollment.status,
            since=since,
            until=None,
            worker_id=worker,
            external_ref=row.person.external_ref,
            created_at=self.now,
            updated_at=self.now,
        )
        if row.enrollment.until is not None:
            enrollment.end(on=row.enrollment.until, at=self.now)
            enrollment.version = 1
        return enrollment

    def _worker(self, row: SourceRow) -> WorkerId | None:
        """The institution's worker the source names: by id or identity-provider subject, else by full name when
        only one worker has it. A worker Spójnia does not know leaves the enrollment's worker as it is."""
        ref, name = row.enrollment.worker_ref, _folded(row.enrollment.worker_name)
        if ref:
            for w in self.workers:
                if ref in (str(w.id), w.idp_subject):
                    return w.id
        if name:
            named = [
                w for w in self.workers if name in (_folded(w.display_name), _folded(f"{w.last_name} {w.first_name}"))
            ]
            if len(named) == 1:
                return named[0].id
        return None

    async def households(self) -> dict[str, list[SourceHouseholdMember]]:
        """The family kept for each household new to the institution; a known one's members are only noted."""
        members: dict[str, list[tuple[_RowPlan, str]]] = defaultdict(list)
        for plan in self.plan.rows:
            row = plan.row
            if row.household_ref is not None and row.membership is not None:
                members[row.household_ref].append((plan, row.membership.role))
        known = await self.uow.sources.households_of_refs(self.institution.id, list(members))
        described: dict[str, list[SourceHouseholdMember]] = {}
        for ref, plans in members.items():
            plans.sort(key=lambda item: item[0].row.person.external_ref)
            described[ref] = [
                SourceHouseholdMember(person_id=p.person.id, role=role, person_ref=p.row.person.external_ref)
                for p, role in plans
            ]
            composition = tuple(sorted((p.person.id, role) for p, role in plans))
            record = known.get(ref)
            if record is None:
                family = self._family(plans)
                self.plan.families.append(family)
                self.plan.audit.append((AuditAction.CREATE, SubjectType.FAMILY, family.id))
                self.counts["families_created"] += 1
                self.plan.households_new.append(self._household(ref, family.id, composition))
            elif tuple(record.members) != composition:
                self.plan.households_changed.append(self._household(ref, record.family_id, composition))
            else:
                self.plan.households_seen.append(ref)
        return described

    def _household(
        self, ref: str, family_id: FamilyId, composition: tuple[tuple[PersonId, str], ...]
    ) -> SourceHouseholdRecord:
        return SourceHouseholdRecord(
            institution_id=self.institution.id,
            external_ref=ref,
            family_id=family_id,
            members=composition,
            seen_at=self.now,
        )

    def _family(self, plans: list[tuple[_RowPlan, str]]) -> Family:
        first = plans[0][0].row
        named = next((p.row.household_name for p, _ in plans if p.row.household_name), None)
        head = next((p.person for p, role in plans if role == "PARENT"), plans[0][0].person)
        teryt = next((p.row.person.address_teryt for p, _ in plans if p.row.person.address_teryt), None)
        family = Family(
            id=FamilyId(new_id()),
            name=Family.clean_name(named or f"Rodzina {head.last_name} ({first.household_ref})"),
            teryt=Teryt(teryt) if teryt else None,
            created_by=self.institution.id,
            created_at=self.now,
            updated_at=self.now,
        )
        for plan, role in plans:
            family.add_member(
                membership_id=MembershipId(new_id()), person_id=plan.person.id, role=role, since=self.today, at=self.now
            )
        family.version = 1
        return family

    def source_records(self, households: dict[str, list[SourceHouseholdMember]]) -> None:
        """What each source record says now: new, changed or the same as before; and what each row counts as."""
        for plan in self.plan.rows:
            row = plan.row
            payload = row.payload(households.get(row.household_ref) if row.household_ref else None)
            person_id = plan.person.id
            if plan.new_person:
                self.counts["created"] += 1
                self.plan.audit.append((AuditAction.CREATE, SubjectType.PERSON, person_id))
            if plan.new_enrollment:
                self.counts["enrolled"] += 0 if plan.new_person else 1
                self.plan.audit.append((AuditAction.ENROLL, SubjectType.PERSON, person_id))
            same = plan.record is not None and plan.record.person_id == person_id and plan.record.payload == payload
            if same:
                self.plan.refs_seen.append(row.person.external_ref)
            else:
                record = SourceRecord(
                    institution_id=self.institution.id,
                    external_ref=row.person.external_ref,
                    person_id=person_id,
                    payload=payload,
                    seen_at=self.now,
                    changed_at=self.now,
                )
                (self.plan.records_new if plan.record is None else self.plan.records_changed).append(record)
            if not plan.new_person and not plan.new_enrollment:
                if plan.changed or not same:
                    self.counts["updated"] += 1
                    self.plan.audit.append((AuditAction.UPDATE, SubjectType.PERSON, person_id))
                else:
                    self.counts["unchanged"] += 1
        self.plan.counts = ImportCounts(**self.counts)


async def plan_import(
    uow: RecordImportUnitOfWork,
    ctx: UseCaseContext,
    institution: Institution,
    status_list: str,
    rows: Sequence[SourceRow],
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    planner = _Planner(uow, ctx, institution, status_list)
    await planner.load(rows)
    for done, row in enumerate(rows, start=1):
        await planner.row(row)
        if progress is not None and (done % 500 == 0 or done == len(rows)):
            progress(done, len(rows))
    households = await planner.households()
    planner.source_records(households)
    return planner.plan
