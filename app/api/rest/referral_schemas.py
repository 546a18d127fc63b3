"""Bodies of the referral, event-feed and webhook endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from app.api.rest.schemas import Strict
from app.domain.deliveries import Delivery
from app.domain.events import PublishedEvent
from app.domain.services.referrals import ReferralView
from app.domain.webhooks import Subscription

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Z0-9_]+$")]
Note = Annotated[str, StringConstraints(max_length=2000)]


class InstrumentBody(Strict):
    code_list: Literal["LabourMarketInstrument", "AssistanceForm"]
    code: Code = Field(examples=["CAREER_GUIDANCE"])


class ReferralIn(Strict):
    receiver_id: UUID | None = Field(default=None, description="The institution asked to act; or name a service.")
    service_id: UUID | None = Field(
        default=None, description="A service of the directory; its institution receives the referral."
    )
    person_id: UUID | None = Field(default=None, description="The person referred; or give family_id.")
    family_id: UUID | None = None
    member_ids: list[UUID] = Field(
        default_factory=list, max_length=30, description="Family members concerned; all current members when empty."
    )
    reason: Code = Field(description="Code of ReasonForAssistance.", examples=["UNEMPLOYMENT"])
    instrument: InstrumentBody
    justification: Note = ""
    priority: Literal["routine", "urgent", "asap"] = "routine"
    respond_by: date | None = Field(default=None, description="Response deadline; by default set per instrument.")
    due: date | None = None
    contract_action_ref: str | None = Field(default=None, max_length=100)
    send: bool = Field(default=False, description="Send at once instead of keeping a draft.")


class ActionIn(Strict):
    note: Note | None = None


class ReasonedActionIn(Strict):
    reason: Code = Field(description="ReferralRejectionReason for reject, ReferralFailureReason for fail.")
    note: Note | None = None


class OutcomeBody(Strict):
    person_id: UUID
    kind: Code = Field(description="Code of OutcomeKind.", examples=["TRAINING_COMPLETED"])
    on: date
    note: Note | None = None


class CompleteIn(Strict):
    outcomes: list[OutcomeBody] = Field(min_length=1, max_length=30, description="One per member concerned.")
    note: Note | None = None


class ForwardIn(Strict):
    to: UUID = Field(description="The third institution the referral goes on to.")
    note: Note | None = None


class SubjectOut(BaseModel):
    person_id: UUID
    first_name: str
    last_name: str
    birth_date: date
    pesel: str | None


class HistoryOut(BaseModel):
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    institution_id: UUID | None
    actor: str
    reason: str | None
    note: str | None


class ReferralOut(BaseModel):
    id: UUID
    status: str
    sender_id: UUID
    receiver_id: UUID
    service_id: UUID | None
    person_id: UUID | None
    family_id: UUID | None
    subjects: list[SubjectOut] = Field(description="The envelope: identity of the persons concerned, nothing more.")
    reason: str
    instrument: InstrumentBody
    justification: str
    priority: str
    respond_by: date
    due: date | None
    overdue: bool
    contract_action_ref: str | None
    forwarded_from: UUID | None
    forwarded_to: UUID | None
    chain: list[UUID] = Field(description="Linked referrals of the forwarding chain.")
    rejection_reason: str | None
    failure_reason: str | None
    outcomes: list[OutcomeBody]
    history: list[HistoryOut]
    allowed_actions: list[str] = Field(description="What your institution may do with it now.")
    version: int
    created_at: datetime
    updated_at: datetime
    receiver_copy_purged_at: datetime | None = Field(
        description="When the receiver's retention period ran out: since then only the sender sees the subjects, "
        "the justification and the notes."
    )

    @classmethod
    def of(cls, v: ReferralView) -> ReferralOut:
        r = v.referral
        return cls(
            id=r.id,
            status=r.status.value,
            sender_id=r.sender_id,
            receiver_id=r.receiver_id,
            service_id=r.service_id,
            person_id=r.person_id,
            family_id=r.family_id,
            subjects=[
                SubjectOut(
                    person_id=s.person_id,
                    first_name=s.first_name,
                    last_name=s.last_name,
                    birth_date=s.birth_date,
                    pesel=s.pesel,
                )
                for s in v.subjects
            ],
            reason=r.reason,
            instrument=InstrumentBody.model_validate({"code_list": r.instrument.code_list, "code": r.instrument.code}),
            justification=r.justification,
            priority=r.priority,
            respond_by=r.respond_by,
            due=r.due,
            overdue=v.overdue,
            contract_action_ref=r.contract_action_ref,
            forwarded_from=r.forwarded_from,
            forwarded_to=r.forwarded_to,
            chain=list(v.chain),
            rejection_reason=r.rejection_reason,
            failure_reason=r.failure_reason,
            outcomes=[OutcomeBody(person_id=o.person_id, kind=o.kind, on=o.on, note=o.note) for o in r.outcomes],
            history=[
                HistoryOut(
                    at=h.at,
                    action=h.action.value,
                    from_status=h.from_status.value if h.from_status else None,
                    to_status=h.to_status.value,
                    institution_id=h.institution_id,
                    actor=h.actor,
                    reason=h.reason,
                    note=h.note,
                )
                for h in r.history
            ],
            allowed_actions=[a.value for a in v.allowed_actions],
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
            receiver_copy_purged_at=r.receiver_copy_purged_at,
        )


class EventOut(BaseModel):
    position: int
    id: UUID
    type: str
    occurred_at: datetime
    subject: dict[str, str]
    data: dict[str, str | None]

    @classmethod
    def of(cls, p: PublishedEvent) -> EventOut:
        e = p.event
        return cls(
            position=p.position,
            id=e.id,
            type=e.type,
            occurred_at=e.occurred_at,
            subject={"type": e.subject_type, "id": str(e.subject_id)},
            data=dict(e.data),
        )


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str = Field(description="Poll again with this cursor; it stays put while nothing new happened.")


class SubscriptionIn(Strict):
    url: str = Field(max_length=2000, examples=["https://pomost.example.pl/spojnia/webhooks"])
    event_types: list[str] = Field(min_length=1, max_length=20, examples=[["referral.sent", "referral.completed"]])


class SubscriptionOut(BaseModel):
    id: UUID
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    secret: str | None = Field(default=None, description="The signing secret, shown only in the answer to creation.")

    @classmethod
    def of(cls, s: Subscription, *, with_secret: bool = False) -> SubscriptionOut:
        return cls(
            id=s.id,
            url=s.url,
            event_types=list(s.event_types),
            active=s.active,
            created_at=s.created_at,
            secret=s.secret if with_secret else None,
        )


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: UUID
    event_id: UUID
    event_type: str
    status: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            status=d.status.value,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            attempts=[
                AttemptOut(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                for a in d.attempts
            ],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
