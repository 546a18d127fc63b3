"""The institutions' own record systems (POMOST Std, TT-Pomoc, Syriusz Std, a partner's API, a spreadsheet) as
the domain sees them: what each last said about persons, their status there and households, and what Spójnia
sends back. One adapter per kind implements `RecordSystem`; settings choose the kind per institution."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from app.domain.ids import ContractActionId, ContractId, InstitutionId, PersonId, ReferralId


class RecordSystemKind(StrEnum):
    POMOST_STD = "pomost-std"
    TT_POMOC = "tt-pomoc"
    SYRIUSZ_STD = "syriusz-std"
    GENERIC_CSV = "generic-csv"
    PARTNER_API = "partner-api"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourcePerson:
    """A person as the source system holds them; `external_ref` is their id there."""

    external_ref: str
    first_name: str
    last_name: str
    pesel: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    id_doc_kind: str | None = None
    id_doc_number: str | None = None
    id_doc_country: str | None = None
    address_teryt: str | None = None  # the gmina of residence, 7 digits
    line: int | None = None  # where the source had the person: a file's line, for the reject report


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceEnrollment:
    """That the source's institution serves the person: the status already mapped to Spójnia's code list."""

    person_ref: str
    status: str
    since: date | None = None
    until: date | None = None
    worker_name: str | None = None
    worker_ref: str | None = None
    # The source's own view of whether the person is registered unemployed (OPS systems record it).
    registered_unemployed: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHouseholdMember:
    person_ref: str
    role: str  # FamilyRole code


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHousehold:
    external_ref: str
    members: Sequence[SourceHouseholdMember]
    name: str | None = None  # the family's name as the source gives it


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    """Why one row was not imported; `field` is the profile's field (the report names its column)."""

    line: int
    field: str
    reason: str
    external_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeBatch:
    """What changed in the source since a cursor; the cursor to ask from next time.

    Each person comes with their enrollment (status and worker at the source's institution) and, when they live in
    a household the source knows, that household with all its members."""

    persons: Sequence[SourcePerson] = ()
    enrollments: Sequence[SourceEnrollment] = ()
    households: Sequence[SourceHousehold] = ()
    next_cursor: str | None = None
    # What the source sent that could not be read (a file's rows with a bad date or an unknown code), by line.
    rejects: Sequence[Reject] = ()
    # What the changes were read from, for the batch's report: a file's name, or the partner API's cursor.
    source: str | None = None
    # The code list the statuses are codes of, when the source says (a vendor profile maps onto one list).
    status_list: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.persons or self.enrollments or self.households or self.rejects)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralEnvelope:
    """What a receiving system loads: who, why, what is asked for, by when; never the sender's case file."""

    referral_id: ReferralId
    sender_id: InstitutionId
    receiver_id: InstitutionId
    status: str
    reason: str
    instrument_code_list: str
    instrument_code: str
    respond_by: date | None
    subjects: Sequence[SourcePerson]
    sent_at: datetime | None = None
    # What the receiver also reads over the REST API: the sender's justification, how urgent, by when it is to be
    # done, and the referral it was forwarded from (added for partner APIs; files may leave them at the defaults).
    justification: str = ""
    priority: str = "routine"
    due: date | None = None
    forwarded_from: ReferralId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractActionSummary:
    contract_id: ContractId
    action: str
    responsible_institution_id: InstitutionId | None
    due: date | None
    person_ids: Sequence[PersonId] = field(default_factory=tuple)
    # Which action of the contract, its state, and the instrument asked for (added for file exports).
    action_id: ContractActionId | None = None
    status: str | None = None
    instrument_code_list: str | None = None
    instrument_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """A status or an outcome the source reports back about a referral."""

    referral_id: ReferralId
    status: str
    at: datetime
    outcome_kind: str | None = None
    note: str | None = None
    reason: str | None = None  # ReferralRejectionReason or ReferralFailureReason code, for rejected or failed


class RecordSystem(Protocol):
    """One institution's record system, whatever the transport (files, HTTP)."""

    kind: RecordSystemKind

    async def pull_changes(self, since: str | None) -> ChangeBatch:
        """Persons, enrollments (status, worker) and household composition changed since the cursor."""

    async def push_referral(self, envelope: ReferralEnvelope) -> None:
        """Hand a referral's envelope to the system; repeating it with the same referral is harmless."""

    async def push_contract_actions(self, actions: Sequence[ContractActionSummary]) -> None:
        """Hand over the contract actions the institution is responsible for."""

    async def pull_statuses(self, since: str | None) -> tuple[Sequence[StatusReport], str | None]:
        """Statuses and outcomes the system recorded for referrals, with the cursor to ask from next time."""

    def to_shared_code(self, code_list: str, vendor_code: str) -> str:
        """The vendor's code as a code of Spójnia's list (codes.md); InvalidInput when unmapped."""

    def to_vendor_code(self, code_list: str, shared_code: str) -> str:
        """Spójnia's code in the vendor's terms; InvalidInput when unmapped."""
