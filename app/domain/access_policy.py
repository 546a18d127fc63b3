"""The one access policy: may this caller, for this purpose, see this category of a person's data held by that
institution? A pure function of its inputs, so that every door (REST, GraphQL, lookups, exports) asks it the
same question and gets the same answer with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.caller import Scope
from app.domain.data_categories import RESTRICTED_CATEGORIES, DataCategory
from app.domain.ids import InstitutionId, PersonId
from app.domain.sharing import Agreement, Consent

# domain.md, "The legal basis of sharing": these act under statute and rely on signed agreements;
# every other kind (NGO, CIS, KIS, ROPS, ZI for ordinary data...) relies on the person's consent.
STATUTORY_KINDS = frozenset({"OPS", "MOPS", "GOPS", "MGOPS", "CUS", "MOPR", "PCPR", "PUP", "WUP"})
INTERDISCIPLINARY_TEAM_KIND = "ZI"
INTERDISCIPLINARY_TEAM_ROLE = "interdisciplinary_team"

# Any one of these scopes lets a token read the category at all; the policy then decides whose data.
READ_SCOPES: dict[DataCategory, frozenset[str]] = {
    DataCategory.IDENTITY: frozenset({Scope.PERSONS_READ, Scope.FAMILIES_READ, Scope.REFERRALS_READ}),
    DataCategory.CONTACT: frozenset({Scope.PERSONS_READ}),
    DataCategory.HOUSEHOLD: frozenset({Scope.FAMILIES_READ}),
    DataCategory.SOCIAL_ASSISTANCE_STATUS: frozenset({Scope.PERSONS_READ}),
    DataCategory.LABOUR_MARKET_STATUS: frozenset({Scope.PERSONS_READ}),
    DataCategory.BENEFITS: frozenset({Scope.CONTRACTS_READ, Scope.REPORTS_READ}),
    DataCategory.CONTRACT: frozenset({Scope.CONTRACTS_READ}),
    DataCategory.REFERRAL: frozenset({Scope.REFERRALS_READ}),
    DataCategory.HEALTH: frozenset({Scope.CONTRACTS_READ}),
    DataCategory.DOMESTIC_VIOLENCE: frozenset({Scope.PERSONS_READ}),
}


class Basis(StrEnum):
    OWN_RECORDS = "OWN_RECORDS"
    AGREEMENT = "AGREEMENT"
    CONSENT = "CONSENT"
    INTERDISCIPLINARY_TEAM = "INTERDISCIPLINARY_TEAM"


@dataclass(frozen=True, slots=True, kw_only=True)
class Requester:
    institution_id: InstitutionId
    kind: str
    roles: frozenset[str]
    scopes: frozenset[str]
    purpose: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """One category of one person's data, as held by one institution."""

    subject: PersonId
    category: DataCategory
    owner: InstitutionId


@dataclass(frozen=True, slots=True, kw_only=True)
class Grounds:
    """What could open the data: agreements the requester is party to, and the subject's consents."""

    agreements: Sequence[Agreement] = ()
    consents: Sequence[Consent] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessDecision:
    allowed: bool
    reason: str
    basis: Basis | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _deny(reason: str) -> AccessDecision:
    return AccessDecision(allowed=False, reason=reason)


def decide(requester: Requester, holding: Holding, grounds: Grounds, at: datetime) -> AccessDecision:
    """Allow or deny, with the reason: which agreement or consent, or why not."""
    if not requester.scopes & READ_SCOPES[holding.category]:
        return _deny(f"the token has no scope to read {holding.category.value} data")
    if holding.category in RESTRICTED_CATEGORIES:
        # No agreement, consent or scope opens Niebieska Karta data: only the team that keeps the record.
        if (
            requester.institution_id == holding.owner
            and requester.kind == INTERDISCIPLINARY_TEAM_KIND
            and INTERDISCIPLINARY_TEAM_ROLE in requester.roles
        ):
            return AccessDecision(
                allowed=True, basis=Basis.INTERDISCIPLINARY_TEAM, reason="the record of your interdisciplinary team"
            )
        return _deny("restricted to the interdisciplinary team that keeps the record")
    if requester.institution_id == holding.owner:
        return AccessDecision(allowed=True, basis=Basis.OWN_RECORDS, reason="your institution's own records")
    if requester.purpose is None:
        return _deny("another institution's data is read only for a named purpose")
    if requester.kind in STATUTORY_KINDS:
        for agreement in grounds.agreements:
            if agreement.lets(requester.institution_id, holding.owner, holding.category, requester.purpose, at):
                return AccessDecision(allowed=True, basis=Basis.AGREEMENT, reason=f"agreement {agreement.id}")
        return _deny(
            f"no agreement in force with the holder lets you receive {holding.category.value} for {requester.purpose}"
        )
    for consent in grounds.consents:
        if consent.person_id == holding.subject and consent.lets(
            requester.institution_id, requester.kind, holding.category, requester.purpose, at
        ):
            return AccessDecision(allowed=True, basis=Basis.CONSENT, reason=f"consent {consent.id}")
    return _deny(f"no consent of the person in force covers {holding.category.value} for {requester.purpose}")
