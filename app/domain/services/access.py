"""Asking the access policy from a use case: who the caller is, what could open the data, and the answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.access_policy import AccessDecision, Grounds, Holding, Requester, decide
from app.domain.caller import ALL_SCOPES, Caller
from app.domain.data_categories import DataCategory
from app.domain.errors import SharingRefused
from app.domain.ids import InstitutionId, PersonId
from app.domain.institutions import LABOUR_OFFICE_TYPES, Institution
from app.domain.persons import Enrollment
from app.domain.ports import UnitOfWork
from app.domain.services.context import UseCaseContext
from app.domain.sharing import Agreement, Consent

PURPOSE_LIST = "SharingPurpose"
# The purpose of the persons and families doors when the caller names none (X-Purpose).
DEFAULT_PURPOSE = "FAMILY_COOPERATION"


def check_purpose(ctx: UseCaseContext, purpose: str | None, field: str = "purpose") -> str | None:
    if purpose is not None:
        ctx.codes.require(PURPOSE_LIST, purpose, field=field, on=ctx.today())
    return purpose


def status_category(institution_type: str) -> DataCategory:
    """A status at a labour office is labour-market data; anywhere else it is social-assistance data."""
    return (
        DataCategory.LABOUR_MARKET_STATUS
        if institution_type in LABOUR_OFFICE_TYPES
        else DataCategory.SOCIAL_ASSISTANCE_STATUS
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessCheck:
    """The policy bound to one caller, purpose and moment, with the grounds loaded once per request."""

    requester: Requester
    grounds: Grounds
    at: datetime

    def decide(self, subject: PersonId, category: DataCategory, owner: InstitutionId) -> AccessDecision:
        return decide(self.requester, Holding(subject=subject, category=category, owner=owner), self.grounds, self.at)

    def first_allowed(
        self, subject: PersonId, category: DataCategory, owners: Iterable[InstitutionId]
    ) -> AccessDecision | None:
        """The first holder that may disclose the category, or None when none may."""
        for owner in owners:
            decision = self.decide(subject, category, owner)
            if decision.allowed:
                return decision
        return None

    def explain_denial(self, subject: PersonId, category: DataCategory, owners: Sequence[InstitutionId]) -> str:
        if not owners:
            return "no institution holds this data for you to be shown"
        return self.decide(subject, category, owners[0]).reason


async def access_check(
    uow: UnitOfWork,
    ctx: UseCaseContext,
    caller: Caller,
    institution: Institution,
    purpose: str | None,
    subjects: Sequence[PersonId],
) -> AccessCheck:
    return await _with_grounds(uow, ctx, requester_of(caller, institution, purpose), subjects)


def requester_of(caller: Caller, institution: Institution, purpose: str | None) -> Requester:
    return Requester(
        institution_id=caller.institution_id,
        kind=institution.type,
        roles=caller.roles,
        scopes=caller.scopes,
        purpose=purpose,
    )


async def _with_grounds(
    uow: UnitOfWork, ctx: UseCaseContext, requester: Requester, subjects: Sequence[PersonId]
) -> AccessCheck:
    """The agreements the requester is party to and the subjects' consents, loaded once per request."""
    agreements = await uow.agreements.not_ended(requester.institution_id)
    consents = await uow.consents.of_persons(list(subjects)) if subjects else []
    return checked_on(ctx, requester, agreements, consents)


def checked_on(
    ctx: UseCaseContext, requester: Requester, agreements: Sequence[Agreement], consents: Sequence[Consent]
) -> AccessCheck:
    """The policy bound to grounds already read (by a read model, or the repositories above)."""
    return AccessCheck(
        requester=requester, grounds=Grounds(agreements=agreements, consents=consents), at=ctx.clock.now()
    )


def holders(enrollments: Iterable[Enrollment], subject: PersonId) -> list[InstitutionId]:
    """The institutions that serve the person now: each holds their identity and their status there."""
    return list(dict.fromkeys(e.institution_id for e in enrollments if e.person_id == subject and e.active))


async def recipient_check(
    uow: UnitOfWork, ctx: UseCaseContext, recipient: Institution, purpose: str, subjects: Sequence[PersonId]
) -> AccessCheck:
    """The policy asked for an institution that is to receive data (a referral's receiver), not for a token."""
    requester = Requester(
        institution_id=recipient.id, kind=recipient.type, roles=frozenset(), scopes=ALL_SCOPES, purpose=purpose
    )
    return await _with_grounds(uow, ctx, requester, subjects)


def refuse_unless_open(
    check: AccessCheck, subjects: Iterable[PersonId], owner: InstitutionId, categories: Iterable[DataCategory]
) -> None:
    """Raises SharingRefused naming the first person and category that no agreement or consent opens."""
    for subject in subjects:
        for category in categories:
            decision = check.decide(subject, category, owner)
            if not decision.allowed:
                raise SharingRefused(f"the receiver may not be given this person's data: {decision.reason}")
