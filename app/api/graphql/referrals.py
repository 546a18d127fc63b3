"""GraphQL types and fields of referrals: the same use cases as /v1/referrals."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from uuid import UUID

import strawberry

from app.domain.referrals import Action
from app.domain.services.referrals import ReferralView


@strawberry.type
class ReferralSubject:
    person_id: UUID
    first_name: str
    last_name: str
    birth_date: date


@strawberry.type
class ReferralOutcome:
    person_id: UUID
    kind: str
    on: date
    note: str | None


@strawberry.type
class ReferralChange:
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    institution_id: UUID | None
    reason: str | None
    note: str | None


@strawberry.type
class Referral:
    view: strawberry.Private[ReferralView]

    @strawberry.field
    def id(self) -> UUID:
        return self.view.referral.id

    @strawberry.field
    def status(self) -> str:
        return self.view.referral.status.value

    @strawberry.field
    def sender_id(self) -> UUID:
        return self.view.referral.sender_id

    @strawberry.field
    def receiver_id(self) -> UUID:
        return self.view.referral.receiver_id

    @strawberry.field
    def reason(self) -> str:
        return self.view.referral.reason

    @strawberry.field
    def instrument(self) -> str:
        return f"{self.view.referral.instrument.code_list}:{self.view.referral.instrument.code}"

    @strawberry.field
    def respond_by(self) -> date:
        return self.view.referral.respond_by

    @strawberry.field
    def overdue(self) -> bool:
        return self.view.overdue

    @strawberry.field(description="Pass as `version` to referral_action.")
    def version(self) -> int:
        return self.view.referral.version

    @strawberry.field
    def allowed_actions(self) -> list[str]:
        return [a.value for a in self.view.allowed_actions]

    @strawberry.field
    def subjects(self) -> list[ReferralSubject]:
        return [
            ReferralSubject(
                person_id=s.person_id, first_name=s.first_name, last_name=s.last_name, birth_date=s.birth_date
            )
            for s in self.view.subjects
        ]

    @strawberry.field
    def outcomes(self) -> list[ReferralOutcome]:
        return [
            ReferralOutcome(person_id=o.person_id, kind=o.kind, on=o.on, note=o.note)
            for o in self.view.referral.outcomes
        ]

    @strawberry.field
    def history(self) -> list[ReferralChange]:
        return [
            ReferralChange(
                at=h.at,
                action=h.action.value,
                from_status=h.from_status.value if h.from_status else None,
                to_status=h.to_status.value,
                institution_id=h.institution_id,
                reason=h.reason,
                note=h.note,
            )
            for h in self.view.referral.history
        ]

    @strawberry.field(description="Code of ReferralRejectionReason when rejected (FORWARDED when forwarded).")
    def rejection_reason(self) -> str | None:
        return self.view.referral.rejection_reason

    @strawberry.field(description="Code of ReferralFailureReason when failed.")
    def failure_reason(self) -> str | None:
        return self.view.referral.failure_reason

    @strawberry.field
    def forwarded_to(self) -> UUID | None:
        return self.view.referral.forwarded_to

    @strawberry.field
    def forwarded_from(self) -> UUID | None:
        return self.view.referral.forwarded_from

    @strawberry.field(
        description="When the receiver's retention period ran out: since then only the sender sees the subjects "
        "and the notes."
    )
    def receiver_copy_purged_at(self) -> datetime | None:
        return self.view.referral.receiver_copy_purged_at


@strawberry.enum(description="What a party can do to a referral.")
class ReferralActionName(Enum):
    SEND = Action.SEND.value
    RECEIVE = Action.RECEIVE.value
    ACCEPT = Action.ACCEPT.value
    REJECT = Action.REJECT.value
    START = Action.START.value
    HOLD = Action.HOLD.value
    RESUME = Action.RESUME.value
    COMPLETE = Action.COMPLETE.value
    FAIL = Action.FAIL.value
    CANCEL = Action.CANCEL.value
    FORWARD = Action.FORWARD.value


@strawberry.input
class InstrumentInput:
    code_list: str
    code: str


@strawberry.input
class ReferralInput:
    receiver_id: UUID | None = None
    service_id: UUID | None = strawberry.field(
        default=None, description="A service of the directory; its institution receives the referral."
    )
    person_id: UUID | None = None
    family_id: UUID | None = None
    member_ids: list[UUID] = strawberry.field(default_factory=list)
    reason: str
    instrument: InstrumentInput
    justification: str = ""
    priority: str = "routine"
    respond_by: date | None = None
    send: bool = False


@strawberry.input
class OutcomeInput:
    person_id: UUID
    kind: str
    on: date
    note: str | None = None
