"""Who is asking: the authenticated caller as the domain sees it, whatever the token's source."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.errors import PermissionDenied
from app.domain.ids import InstitutionId, WorkerId


class Scope(StrEnum):
    PERSONS_READ = "persons:read"
    PERSONS_WRITE = "persons:write"
    FAMILIES_READ = "families:read"
    FAMILIES_WRITE = "families:write"
    CONTRACTS_READ = "contracts:read"
    CONTRACTS_WRITE = "contracts:write"
    REFERRALS_READ = "referrals:read"
    REFERRALS_WRITE = "referrals:write"
    DELIVERIES_WRITE = "deliveries:write"
    DIRECTORY_WRITE = "directory:write"
    AGREEMENTS_WRITE = "agreements:write"
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"
    ADMIN = "admin"


ALL_SCOPES = frozenset(s.value for s in Scope)


class MissingScope(PermissionDenied):
    """The token lacks the scope the operation needs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    subject: str
    institution_id: InstitutionId
    scopes: frozenset[str]
    roles: frozenset[str]
    worker_id: WorkerId | None
    request_id: str
    # Why the caller reads another institution's data (SharingPurpose code), named per request.
    purpose: str | None = None

    @property
    def actor(self) -> str:
        """The "who" of audit records: the acting worker when known, else the token subject."""
        return f"worker:{self.worker_id}" if self.worker_id else self.subject

    def require(self, scope: Scope) -> None:
        if scope.value not in self.scopes:
            raise MissingScope(f"the token lacks the scope '{scope.value}'")
