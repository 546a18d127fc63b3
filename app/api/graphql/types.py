"""GraphQL types: thin wrappers over the same read models REST serialises."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

import strawberry

from app.api.graphql import family_work as fw
from app.api.graphql.referrals import Referral
from app.domain.institutions import Worker as WorkerModel
from app.domain.services.views import EnrollmentView, FamilyView, MemberView, PersonView

if TYPE_CHECKING:
    from app.api.graphql.context import GraphContext


@strawberry.type
class Worker:
    id: UUID
    institution_id: UUID
    first_name: str
    last_name: str
    role: str
    email: str | None
    phone: str | None

    @classmethod
    def of(cls, w: WorkerModel) -> Worker:
        return cls(
            id=w.id,
            institution_id=w.institution_id,
            first_name=w.first_name,
            last_name=w.last_name,
            role=w.role,
            email=w.contact.email,
            phone=w.contact.phone,
        )


@strawberry.type(description="That an institution serves the person: its status there and the worker to contact.")
class Enrollment:
    id: UUID
    institution_id: UUID
    status: str
    since: date
    until: date | None
    external_ref: str | None
    version: int
    worker: Worker | None

    @classmethod
    def of(cls, v: EnrollmentView, *, shared: bool = False) -> Enrollment:
        e = v.enrollment
        return cls(
            id=e.id,
            institution_id=e.institution_id,
            status=e.status,
            since=e.since,
            until=e.until,
            # Another institution's own reference into its record system is not for the caller.
            external_ref=None if shared else e.external_ref,
            version=e.version,
            worker=Worker.of(v.worker) if v.worker else None,
        )


@strawberry.type
class Person:
    view: strawberry.Private[PersonView]

    @strawberry.field
    def id(self) -> UUID:
        return self.view.person.id

    @strawberry.field
    def first_name(self) -> str:
        return self.view.person.first_name

    @strawberry.field
    def last_name(self) -> str:
        return self.view.person.last_name

    @strawberry.field
    def birth_date(self) -> date:
        return self.view.person.birth_date

    @strawberry.field
    def sex(self) -> str | None:
        return self.view.person.sex.value if self.view.person.sex else None

    @strawberry.field
    def version(self) -> int:
        return self.view.person.version

    @strawberry.field(description="The caller's institution's enrollments only.")
    def enrollments(self) -> list[Enrollment]:
        return [Enrollment.of(e) for e in self.view.enrollments]

    @strawberry.field(
        description="Where else the person is served now, as far as the caller's agreements or the person's consent "
        "open it for the purpose (X-Purpose header)."
    )
    def served_elsewhere(self) -> list[Enrollment]:
        return [Enrollment.of(e, shared=True) for e in self.view.elsewhere]

    @strawberry.field(description="Referrals about the person that the caller's institution sent, received or follows.")
    async def referrals(self, info: strawberry.Info[GraphContext, None]) -> list[Referral] | None:
        # Nullable: without referrals:read this field errs alone and the person still comes.
        return [Referral(view=v) for v in await info.context.referral_loader.load(self.view.person.id)]

    @strawberry.field(description="Families the person currently belongs to and the caller may see.")
    async def families(self, info: strawberry.Info[GraphContext, None]) -> list[Family]:
        views = await info.context.family_loader.load_many(list(self.view.family_ids))
        return [Family(view=v) for v in views if v is not None]


@strawberry.type
class Member:
    view: strawberry.Private[MemberView]

    @strawberry.field
    def membership_id(self) -> UUID:
        return self.view.membership.id

    @strawberry.field
    def role(self) -> str:
        return self.view.membership.role

    @strawberry.field
    def since(self) -> date:
        return self.view.membership.since

    @strawberry.field
    def until(self) -> date | None:
        return self.view.membership.until

    @strawberry.field
    def current(self) -> bool:
        return self.view.membership.current

    @strawberry.field
    def person(self) -> Person:
        return Person(view=self.view.person)


@strawberry.type
class Family:
    view: strawberry.Private[FamilyView]

    @strawberry.field
    def id(self) -> UUID:
        return self.view.family.id

    @strawberry.field
    def name(self) -> str:
        return self.view.family.name

    @strawberry.field
    def teryt(self) -> str | None:
        return self.view.family.teryt.value if self.view.family.teryt else None

    @strawberry.field(description="Pass as `version` to mutations of this family (the If-Match of GraphQL).")
    def version(self) -> int:
        return self.view.family.version

    @strawberry.field(description="The latest diagnosis: the one the family's programme rests on.")
    async def current_diagnosis(self, info: strawberry.Info[GraphContext, None]) -> fw.Diagnosis | None:
        found = await info.context.diagnosis_loader.load(self.view.family.id)
        return fw.Diagnosis.of(found[-1]) if found else None

    @strawberry.field(description="Every diagnosis, oldest first.")
    async def diagnoses(self, info: strawberry.Info[GraphContext, None]) -> list[fw.Diagnosis]:
        return [fw.Diagnosis.of(d) for d in await info.context.diagnosis_loader.load(self.view.family.id)]

    @strawberry.field(description="Contracts of the family to which the caller's institution is a party.")
    async def contracts(self, info: strawberry.Info[GraphContext, None]) -> list[fw.Contract] | None:
        return [fw.Contract.of(c) for c in await info.context.contract_loader.load(self.view.family.id)]

    @strawberry.field
    async def delivery_record(self, info: strawberry.Info[GraphContext, None]) -> fw.DeliveryRecord:
        members = tuple(m.person.person.id for m in self.view.members)
        record = await info.context.record_loader.load((self.view.family.id, members))
        return fw.DeliveryRecord(
            hours=[fw.Hours.of(h) for h in record.hours],
            benefits=[fw.Benefit.of(b) for b in record.benefits],
            outcomes=[fw.Outcome.of(o) for o in record.outcomes],
        )

    @strawberry.field(description="Referrals about the family's current members that the caller may see.")
    async def referrals(self, info: strawberry.Info[GraphContext, None]) -> list[Referral] | None:
        ids = [m.person.person.id for m in self.view.members if m.membership.current]
        seen: dict[object, Referral] = {}
        for views in await info.context.referral_loader.load_many(ids):
            for v in views:
                seen.setdefault(v.referral.id, Referral(view=v))
        return list(seen.values())

    @strawberry.field
    def members(self, current_only: bool = False) -> list[Member]:
        return [Member(view=m) for m in self.view.members if m.membership.current or not current_only]


@strawberry.type
class FamilyPage:
    items: list[Family]
    next_cursor: str | None


@strawberry.input
class MemberInput:
    person_id: UUID
    role: str
    since: date | None = None


@strawberry.input
class FamilyInput:
    name: str
    teryt: str | None = None
    members: list[MemberInput] = strawberry.field(default_factory=list)
