"""The demo county's grounds of sharing: the agreement of its MOPS, PUP and PCPR, and one consent to the NGO."""

from __future__ import annotations

from datetime import date

from app.domain.caller import Caller
from app.domain.ids import InstitutionId, PersonId
from app.domain.services import sharing
from app.domain.services.context import UseCaseContext

_EVERY_STATUTORY_NEED = (
    "identity",
    "contact",
    "household",
    "social_assistance_status",
    "labour_market_status",
    "contract",
    "referral",
)
_PURPOSES = (
    "SOCIAL_ASSISTANCE",
    "EMPLOYMENT_ACTIVATION",
    "FAMILY_COOPERATION",
    "REFERRAL",
    "SERVICE_DELIVERY",
    "SHARED_CLIENT_CHECK",
    "MONITORING",
)


async def seed_agreement(ctx: UseCaseContext, signatories: list[Caller]) -> None:
    """Drafted by the first, signed by each: the parties are the signatories' institutions."""
    parties = [s.institution_id for s in signatories]
    agreement = await sharing.create_agreement(
        ctx,
        signatories[0],
        sharing.NewAgreement(
            title="Porozumienie o współpracy na rzecz rodzin powiatu bartoszyckiego",
            parties=[sharing.PartyTerms(institution_id=p, receives=_EVERY_STATUTORY_NEED) for p in parties],
            purposes=_PURPOSES,
            legal_basis="art. 100 ust. 2 i art. 105 ustawy o pomocy społecznej; ustawa z 20 marca 2025 r. o rynku "
            "pracy i służbach zatrudnienia (Dz.U. 2025 poz. 620)",
            valid_from=date(2025, 1, 1),
            valid_to=None,
            document_ref="Porozumienie nr 3/2025 z 2 stycznia 2025 r.",
        ),
    )
    for signatory in signatories:
        agreement = await sharing.sign_agreement(ctx, signatory, agreement.id, agreement.version, date(2025, 1, 2))


async def seed_consent(ctx: UseCaseContext, recorded_by: Caller, person: PersonId, ngo: InstitutionId) -> None:
    """Maria Nowak agreed in writing that the association may receive referrals about her."""
    await sharing.record_consent(
        ctx,
        recorded_by,
        sharing.NewConsent(
            person_id=person,
            grantee_institution_id=ngo,
            grantee_kind=None,
            categories=("identity", "referral"),
            purpose="REFERRAL",
            valid_from=None,
            valid_to=None,
            method="SIGNED_FORM",
            given_on=date(2025, 9, 1),
            document_ref="Zgoda w teczce klienta",
        ),
    )
