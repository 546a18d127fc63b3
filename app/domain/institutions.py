"""Institutions (OPS, PUP, NGO, ...) and their workers: the "who is their worker"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.clock import local_date
from app.domain.code_lists import CodeLists
from app.domain.errors import InvalidInput
from app.domain.ids import InstitutionId, WorkerId
from app.domain.values import Address, Contact, Nip, Regon, Teryt


class AccessBasis(StrEnum):
    """On what an institution may receive a person's data (domain.md, legal basis)."""

    STATUTORY = "STATUTORY"  # OPS, PCPR, PUP...: statute plus a signed agreement
    CONSENT = "CONSENT"  # NGO, CIS, KIS, ROPS...: the person's recorded consent
    RESTRICTED = "RESTRICTED"  # interdisciplinary team: Niebieska Karta, nothing else


LABOUR_OFFICE_TYPES = frozenset({"PUP", "WUP"})


@dataclass(slots=True, kw_only=True)
class Institution:
    id: InstitutionId
    type: str
    name: str
    regon: Regon | None
    nip: Nip | None
    teryt: Teryt
    address: Address
    contact: Contact
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @staticmethod
    def validate_type(code_lists: CodeLists, type_code: str, on: datetime) -> None:
        code_lists.require("InstitutionType", type_code, field="type", on=local_date(on))

    def access_basis(self, code_lists: CodeLists) -> AccessBasis:
        code = code_lists.require("InstitutionType", self.type, field="type", on=local_date(self.created_at))
        return AccessBasis(code.group or AccessBasis.CONSENT)

    def enrollment_status_list(self) -> str:
        """The code list a client's status at this institution is taken from."""
        if self.type in LABOUR_OFFICE_TYPES:
            return "PupClientStatus"
        if self.type == "ZI":
            raise InvalidInput("an interdisciplinary team keeps Niebieska Karta records, not enrollments")
        if self.type in {"OPS", "MOPS", "GOPS", "MGOPS", "CUS", "PCPR", "MOPR"}:
            return "SocialAssistanceStatus"
        return "ParticipantStatus"

    def touch(self, at: datetime) -> None:
        self.updated_at = at
        self.version += 1


@dataclass(slots=True, kw_only=True)
class Worker:
    id: WorkerId
    institution_id: InstitutionId
    first_name: str
    last_name: str
    role: str
    contact: Contact
    # The `sub` of the worker's own token at the identity provider, when they have one.
    idp_subject: str | None = None
    active: bool = True
    created_at: datetime = field(kw_only=True)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
