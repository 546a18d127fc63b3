"""Family contracts: the tri-party contract (family, PUP, OPS), the social contract and the
individual support plan. One table of action -> (from, to) rules; versions are kept on amendment."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from app.domain.errors import ActionNotAllowed, Conflict, FieldError, InvalidInput, PermissionDenied
from app.domain.ids import ContractActionId, ContractId, FamilyId, InstitutionId, PartnershipId, PersonId, WorkerId
from app.domain.referrals import RequestedInstrument


class ContractKind(StrEnum):
    TRI_PARTY_FAMILY = "TRI_PARTY_FAMILY"  # Trójstronny Kontrakt Rodzinny
    SOCIAL_CONTRACT = "SOCIAL_CONTRACT"  # kontrakt socjalny
    INDIVIDUAL_SUPPORT_PLAN = "INDIVIDUAL_SUPPORT_PLAN"  # indywidualny plan wsparcia (WRZOS)


class ContractStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"  # by the coordinating team; signatures are collected in this status
    ACTIVE = "active"  # every party has signed
    COMPLETED = "completed"
    TERMINATED = "terminated"


class ContractStep(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    SIGN = "sign"
    AMEND = "amend"
    REVIEW = "review"
    COMPLETE = "complete"
    TERMINATE = "terminate"


class SignatureMethod(StrEnum):
    IN_PERSON = "IN_PERSON"
    TRUSTED_PROFILE = "TRUSTED_PROFILE"  # profil zaufany
    QUALIFIED = "QUALIFIED"  # kwalifikowany podpis elektroniczny


C = ContractStatus
_OPEN = (C.DRAFT, C.SUBMITTED, C.APPROVED, C.ACTIVE)
STEPS: dict[ContractStep, tuple[tuple[ContractStatus, ...], ContractStatus | None]] = {
    ContractStep.SUBMIT: ((C.DRAFT,), C.SUBMITTED),
    ContractStep.APPROVE: ((C.SUBMITTED,), C.APPROVED),
    ContractStep.SIGN: ((C.APPROVED,), None),  # the last signature makes it active
    ContractStep.AMEND: (_OPEN, C.DRAFT),  # a new version goes through approval and signing again
    ContractStep.REVIEW: ((C.ACTIVE,), None),
    ContractStep.COMPLETE: ((C.ACTIVE,), C.COMPLETED),
    ContractStep.TERMINATE: (_OPEN, C.TERMINATED),
}

FAMILY = "FAMILY"  # the responsible party of an action the family itself carries out


class StepNotAllowed(ActionNotAllowed):
    """A contract step not allowed in its status; `allowed` names the ones that are."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractAction:
    """One item of the basket of services agreed with the family."""

    id: ContractActionId
    description: str
    instrument: RequestedInstrument | None
    service_id: str | None
    member_ids: tuple[PersonId, ...]
    responsible: str  # an institution id of a party, or FAMILY
    due: date | None
    status: str = "PLANNED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Terms:
    goals: tuple[str, ...]
    actions: tuple[ContractAction, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    signer: str  # "institution:<id>" or "person:<id>"
    recorded_by: str  # the actor who recorded it
    at: datetime
    method: SignatureMethod


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    on: date
    findings: str
    institution_id: InstitutionId
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractVersion:
    """An earlier version, readable as it was: its terms, approval and signatures."""

    number: int
    terms: Terms
    approved_by: WorkerId | None
    approved_at: datetime | None
    signatures: tuple[Signature, ...]
    superseded_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    item: str  # "goal" or "action"
    change: str  # "added", "removed" or "changed"
    before: str | None
    after: str | None


def institution_signer(institution_id: InstitutionId) -> str:
    return f"institution:{institution_id}"


def person_signer(person_id: PersonId) -> str:
    return f"person:{person_id}"


@dataclass(slots=True, kw_only=True)
class Contract:
    id: ContractId
    kind: ContractKind
    partnership_id: PartnershipId
    family_id: FamilyId | None
    person_id: PersonId | None
    institutions: tuple[InstitutionId, ...]  # the institutions that are parties
    signing_members: tuple[PersonId, ...]  # the family members (or the person) who sign
    status: ContractStatus
    number: int  # the version in force or being prepared
    terms: Terms
    created_by: InstitutionId
    created_at: datetime
    updated_at: datetime
    approved_by: WorkerId | None = None
    approved_at: datetime | None = None
    signatures: list[Signature] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    versions: list[ContractVersion] = field(default_factory=list)
    termination_reason: str | None = None
    version: int = 1  # optimistic lock, the ETag

    @property
    def required_signers(self) -> list[str]:
        return [institution_signer(i) for i in self.institutions] + [person_signer(p) for p in self.signing_members]

    @property
    def missing_signers(self) -> list[str]:
        signed = {s.signer for s in self.signatures}
        return [s for s in self.required_signers if s not in signed]

    def is_party(self, institution_id: InstitutionId) -> bool:
        return institution_id in self.institutions

    def allowed_steps(self) -> list[ContractStep]:
        return [step for step, (sources, _) in STEPS.items() if self.status in sources]

    def _check(self, step: ContractStep, by: InstitutionId) -> None:
        if not self.is_party(by):
            raise PermissionDenied("only the contract's parties act on it")
        if self.status not in STEPS[step][0]:
            raise StepNotAllowed(
                f"a {self.status.value} contract cannot take the step '{step.value}'", self.allowed_steps()
            )

    def _moved(self, step: ContractStep, at: datetime) -> None:
        target = STEPS[step][1]
        if target is not None:
            self.status = target
        self.updated_at = at
        self.version += 1

    def submit(self, *, by: InstitutionId, at: datetime) -> None:
        self._check(ContractStep.SUBMIT, by)
        self._moved(ContractStep.SUBMIT, at)

    def approve(self, *, worker_id: WorkerId | None, coordinating: bool, at: datetime) -> None:
        """`coordinating`: the acting worker sits on the partnership's coordinating team (PZKW)."""
        if not coordinating:
            raise PermissionDenied("only a member of the partnership's coordinating team (PZKW) approves a contract")
        if self.status not in STEPS[ContractStep.APPROVE][0]:
            raise StepNotAllowed(f"a {self.status.value} contract cannot be approved", self.allowed_steps())
        self.approved_by, self.approved_at = worker_id, at
        self._moved(ContractStep.APPROVE, at)

    def sign(self, *, signer: str, by: InstitutionId, actor: str, method: SignatureMethod, at: datetime) -> None:
        """An institution signs for itself; a family member's signature is recorded by a party's worker."""
        self._check(ContractStep.SIGN, by)
        if signer not in self.required_signers:
            raise InvalidInput(
                "not a party to this contract", [FieldError("signer", "not one of the required signers")]
            )
        if signer.startswith("institution:") and signer != institution_signer(by):
            raise PermissionDenied("an institution signs only for itself")
        if signer not in self.missing_signers:
            raise Conflict("this party has already signed this version")
        self.signatures.append(Signature(signer=signer, recorded_by=actor, at=at, method=method))
        if not self.missing_signers:
            self.status = C.ACTIVE
        self._moved(ContractStep.SIGN, at)

    def amend(self, *, terms: Terms, by: InstitutionId, at: datetime) -> None:
        self._check(ContractStep.AMEND, by)
        self.versions.append(
            ContractVersion(
                number=self.number,
                terms=self.terms,
                approved_by=self.approved_by,
                approved_at=self.approved_at,
                signatures=tuple(self.signatures),
                superseded_at=at,
            )
        )
        self.number += 1
        self.terms = terms
        self.approved_by = self.approved_at = None
        self.signatures = []
        self._moved(ContractStep.AMEND, at)

    def review(self, *, on: date, findings: str, by: InstitutionId, actor: str, at: datetime) -> None:
        self._check(ContractStep.REVIEW, by)
        self.reviews.append(Review(on=on, findings=findings, institution_id=by, actor=actor))
        self._moved(ContractStep.REVIEW, at)

    def complete(self, *, by: InstitutionId, at: datetime) -> None:
        self._check(ContractStep.COMPLETE, by)
        self._moved(ContractStep.COMPLETE, at)

    def terminate(self, *, by: InstitutionId, reason: str, at: datetime) -> None:
        self._check(ContractStep.TERMINATE, by)
        self.termination_reason = reason
        self._moved(ContractStep.TERMINATE, at)

    def terms_of(self, number: int) -> Terms | None:
        if number == self.number:
            return self.terms
        return next((v.terms for v in self.versions if v.number == number), None)

    def with_action_status(self, action_id: ContractActionId, status: str, at: datetime) -> None:
        actions = tuple(replace(a, status=status) if a.id == action_id else a for a in self.terms.actions)
        self.terms = Terms(goals=self.terms.goals, actions=actions)
        self.updated_at = at
        self.version += 1


def differences(before: Terms, after: Terms) -> list[Difference]:
    """What an amendment changed: goals added or removed, actions added, removed or changed."""
    found = [
        Difference(item="goal", change="removed", before=g, after=None) for g in before.goals if g not in after.goals
    ]
    found += [
        Difference(item="goal", change="added", before=None, after=g) for g in after.goals if g not in before.goals
    ]
    old = {a.id: a for a in before.actions}
    new = {a.id: a for a in after.actions}
    found += [
        Difference(item="action", change="removed", before=old[i].description, after=None) for i in old if i not in new
    ]
    found += [
        Difference(item="action", change="added", before=None, after=new[i].description) for i in new if i not in old
    ]
    found += [
        Difference(item="action", change="changed", before=_describe(old[i]), after=_describe(new[i]))
        for i in old
        if i in new and old[i] != new[i]
    ]
    return found


def _describe(action: ContractAction) -> str:
    instrument = f" [{action.instrument.code}]" if action.instrument else ""
    due = f", due {action.due.isoformat()}" if action.due else ""
    return f"{action.description}{instrument}: {action.responsible}{due}, {action.status}"
