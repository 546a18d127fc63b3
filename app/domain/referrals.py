"""Referrals between institutions: a closed loop from sending to an outcome (after FHIR Task).

Every action names who may take it; an action not allowed in the current status raises
`TransitionNotAllowed` listing the ones that are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from app.domain.errors import ActionNotAllowed, FieldError, InvalidInput, PermissionDenied
from app.domain.ids import FamilyId, InstitutionId, PersonId, ReferralId, WorkerId


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Party(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    SYSTEM = "system"  # the deadline job


class Action(StrEnum):
    CREATE = "create"  # recorded in the history only; not an action one takes on a referral
    SEND = "send"
    RECEIVE = "receive"
    ACCEPT = "accept"
    REJECT = "reject"
    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"
    FORWARD = "forward"
    EXPIRE = "expire"


S = ReferralStatus
_OPEN_BEFORE_WORK = (S.SENT, S.RECEIVED)
_CANCELLABLE = (S.DRAFT, S.SENT, S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD)

# action -> (who takes it, from which statuses, to which status)
RULES: dict[Action, tuple[Party, tuple[ReferralStatus, ...], ReferralStatus]] = {
    Action.SEND: (Party.SENDER, (S.DRAFT,), S.SENT),
    Action.RECEIVE: (Party.RECEIVER, (S.SENT,), S.RECEIVED),
    Action.ACCEPT: (Party.RECEIVER, (S.RECEIVED,), S.ACCEPTED),
    Action.REJECT: (Party.RECEIVER, _OPEN_BEFORE_WORK, S.REJECTED),
    Action.START: (Party.RECEIVER, (S.ACCEPTED,), S.IN_PROGRESS),
    Action.HOLD: (Party.RECEIVER, (S.IN_PROGRESS,), S.ON_HOLD),
    Action.RESUME: (Party.RECEIVER, (S.ON_HOLD,), S.IN_PROGRESS),
    Action.COMPLETE: (Party.RECEIVER, (S.IN_PROGRESS,), S.COMPLETED),
    Action.FAIL: (Party.RECEIVER, (S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD), S.FAILED),
    Action.CANCEL: (Party.SENDER, _CANCELLABLE, S.CANCELLED),
    # Forwarding closes this referral as rejected for reason FORWARDED and opens a linked one.
    Action.FORWARD: (Party.RECEIVER, (S.RECEIVED, S.ACCEPTED), S.REJECTED),
    Action.EXPIRE: (Party.SYSTEM, _OPEN_BEFORE_WORK, S.EXPIRED),
}

TERMINAL = frozenset({S.REJECTED, S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED})


class TransitionNotAllowed(ActionNotAllowed):
    """A referral action not allowed in its status; `allowed` names the ones that are."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestedInstrument:
    """What is asked for: a code of LabourMarketInstrument or AssistanceForm."""

    code_list: str
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    person_id: PersonId
    kind: str  # OutcomeKind
    on: date
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    at: datetime
    action: Action
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    institution_id: InstitutionId | None
    actor: str
    reason: str | None = None
    note: str | None = None


@dataclass(slots=True, kw_only=True)
class Referral:
    id: ReferralId
    sender_id: InstitutionId
    sender_worker_id: WorkerId | None
    receiver_id: InstitutionId
    service_id: str | None  # a directory service, once the directory exists
    person_id: PersonId | None
    family_id: FamilyId | None
    member_ids: tuple[PersonId, ...]  # the persons concerned: the person, or the family members
    reason: str  # ReasonForAssistance
    instrument: RequestedInstrument
    justification: str
    priority: str
    respond_by: date
    due: date | None
    contract_action_ref: str | None
    forwarded_from: ReferralId | None
    chain_id: ReferralId  # the first referral of a forwarding chain; itself when not forwarded
    status: ReferralStatus
    created_at: datetime
    updated_at: datetime
    history: list[StatusChange] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    rejection_reason: str | None = None
    failure_reason: str | None = None
    forwarded_to: ReferralId | None = None
    # Set by the retention purge: from then on only the sender sees who the referral was about.
    receiver_copy_purged_at: datetime | None = None
    version: int = 1

    @property
    def subject_ids(self) -> tuple[PersonId, ...]:
        return self.member_ids

    def copy_purged_for(self, institution_id: InstitutionId) -> bool:
        """The receiver's copy is gone, and with it what every institution but the sender saw."""
        return self.receiver_copy_purged_at is not None and institution_id != self.sender_id

    def without_shared_text(self) -> Referral:
        """A copy without the free text the sender shared or the parties wrote: justification and notes."""
        return replace(
            self,
            justification="",
            history=[replace(h, note=None) for h in self.history],
            outcomes=[replace(o, note=None) for o in self.outcomes],
        )

    def party_of(self, institution_id: InstitutionId) -> Party | None:
        if institution_id == self.sender_id:
            return Party.SENDER
        if institution_id == self.receiver_id:
            return Party.RECEIVER
        return None

    def allowed_actions(self, party: Party | None) -> list[Action]:
        return [
            a for a, (who, sources, _) in RULES.items() if self.status in sources and (party is None or who == party)
        ]

    def overdue(self, today: date) -> bool:
        return self.status in _OPEN_BEFORE_WORK and today > self.respond_by

    def apply(
        self,
        action: Action,
        *,
        by: InstitutionId | None,
        actor: str,
        at: datetime,
        reason: str | None = None,
        note: str | None = None,
    ) -> StatusChange:
        """Moves the referral; `by` None is the system (the deadline job)."""
        if action not in RULES:
            raise TransitionNotAllowed(f"'{action.value}' is not an action on a referral", [])
        who, sources, target = RULES[action]
        party = Party.SYSTEM if by is None else self.party_of(by)
        if party != who:
            raise PermissionDenied(f"only the {who.value} may {action.value} a referral")
        if self.status not in sources:
            allowed = self.allowed_actions(party)
            raise TransitionNotAllowed(
                f"a {self.status.value} referral cannot take the action '{action.value}'", allowed
            )
        change = StatusChange(
            at=at,
            action=action,
            from_status=self.status,
            to_status=target,
            institution_id=by,
            actor=actor,
            reason=reason,
            note=note,
        )
        self.status = target
        self.history.append(change)
        self.updated_at = at
        self.version += 1
        return change

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            raise InvalidInput("completing a referral needs an outcome", [FieldError("outcomes", "at least one")])
        unknown = [o.person_id for o in outcomes if o.person_id not in self.member_ids]
        if unknown:
            raise InvalidInput(
                "an outcome names a person the referral is not about",
                [FieldError("outcomes", "each outcome's person_id must be a subject of the referral")],
            )
        self.outcomes = list(outcomes)
