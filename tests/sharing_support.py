"""Grounds of sharing for tests: a signed agreement between institutions, a person's consent."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import httpx

from app.bootstrap import Container
from app.domain.caller import ALL_SCOPES, Caller
from app.domain.data_categories import SHAREABLE_CATEGORIES
from app.domain.ids import InstitutionId, PersonId
from app.domain.services import sharing
from app.domain.sharing import Agreement, Consent

if TYPE_CHECKING:
    from tests.conftest import Party

ALL_PURPOSES = (
    "SOCIAL_ASSISTANCE",
    "EMPLOYMENT_ACTIVATION",
    "FAMILY_COOPERATION",
    "REFERRAL",
    "SERVICE_DELIVERY",
    "SHARED_CLIENT_CHECK",
    "MONITORING",
)


def system_caller(institution_id: InstitutionId) -> Caller:
    return Caller(
        subject=f"test-setup-{institution_id}",
        institution_id=institution_id,
        scopes=ALL_SCOPES,
        roles=frozenset(),
        worker_id=None,
        request_id="test-setup",
    )


EVERY_CATEGORY = frozenset(category.value for category in SHAREABLE_CATEGORIES)


async def signed_agreement(
    container: Container,
    *parties: InstitutionId,
    categories: frozenset[str] = EVERY_CATEGORY,
    purposes: tuple[str, ...] = ALL_PURPOSES,
    valid_to: date | None = None,
) -> Agreement:
    """An agreement signed by the parties, each receiving every category given, for every purpose; in force from
    2020 on, or until `valid_to`."""
    agreement = await sharing.create_agreement(
        container.ctx,
        system_caller(parties[0]),
        sharing.NewAgreement(
            title="Porozumienie o współpracy w powiecie bartoszyckim",
            parties=[sharing.PartyTerms(institution_id=p, receives=sorted(categories)) for p in parties],
            purposes=purposes,
            legal_basis="art. 100 ust. 2 i art. 105 ustawy o pomocy społecznej; ustawa o rynku pracy",
            valid_from=date(2020, 1, 1),
            valid_to=valid_to,
            document_ref="Porozumienie nr 1/2020",
        ),
    )
    for party in parties:
        agreement = await sharing.sign_agreement(
            container.ctx, system_caller(party), agreement.id, agreement.version, date(2020, 1, 1)
        )
    return agreement


async def given_consent(
    container: Container,
    recorded_by: InstitutionId,
    person_id: PersonId,
    grantee: InstitutionId,
    categories: tuple[str, ...] = ("identity", "referral"),
    purpose: str = "REFERRAL",
) -> Consent:
    return await sharing.record_consent(
        container.ctx,
        system_caller(recorded_by),
        sharing.NewConsent(
            person_id=person_id,
            grantee_institution_id=grantee,
            grantee_kind=None,
            categories=categories,
            purpose=purpose,
            valid_from=None,
            valid_to=None,
            method="SIGNED_FORM",
            given_on=date(2024, 1, 1),
            document_ref="zgoda w aktach",
        ),
    )


async def consent_to_partner_referrals(client: httpx.AsyncClient, party: Party, person_id: str) -> None:
    """The client signed the usual form: any partner organisation (NGO) may receive referrals about them."""
    response = await client.post(
        f"/v1/persons/{person_id}/consents",
        json={
            "grantee": {"kind": "NGO"},
            "categories": ["identity", "referral"],
            "purpose": "REFERRAL",
            "method": "SIGNED_FORM",
            "given_on": "2024-01-01",
        },
        headers=party.headers(),
    )
    assert response.status_code == 201, response.text
