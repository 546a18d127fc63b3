"""What an institution's record system said, written as the record imports write it (through the port)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from app.bootstrap import Container
from app.domain.ids import InstitutionId, PersonId
from app.domain.source_records import SourceHouseholdMember, SourceRecord, make_payload
from tests.builders import person_body
from tests.conftest import Party


async def source_says(
    container: Container,
    institution: Party,
    external_ref: str,
    person_id: str,
    *,
    status: str | None = None,
    registered_unemployed: bool | None = None,
    address_teryt: str | None = None,
    household: Sequence[tuple[str, str]] | None = None,
    at: datetime | None = None,
) -> None:
    members = (
        [SourceHouseholdMember(person_id=PersonId(UUID(p)), role=r) for p, r in household]
        if household is not None
        else None
    )
    record = SourceRecord(
        institution_id=InstitutionId(institution.id),
        external_ref=external_ref,
        person_id=PersonId(UUID(person_id)),
        payload=make_payload(
            status=status,
            registered_unemployed=registered_unemployed,
            address_teryt=address_teryt,
            household_ref=f"H-{external_ref}" if household is not None else None,
            household_members=members,
        ),
        seen_at=at or container.ctx.clock.now(),
    )
    async with container.ctx.uow() as uow:
        await uow.source_records.save(record)
        await uow.commit()


async def enroll(
    client: httpx.AsyncClient, party: Party, pesel: str | None, first_name: str, status: str, **extra: Any
) -> str:
    response = await client.post(
        "/v1/persons", json=person_body(pesel, first_name=first_name, status=status, **extra), headers=party.headers()
    )
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    return person_id


async def family(
    client: httpx.AsyncClient, party: Party, members: Sequence[tuple[str, str]], teryt: str | None = None
) -> str:
    body: dict[str, Any] = {"name": "Rodzina Nowaków", "members": [{"person_id": p, "role": r} for p, r in members]}
    if teryt is not None:
        body["teryt"] = teryt
    response = await client.post("/v1/families", json=body, headers=party.headers())
    assert response.status_code == 201, response.text
    family_id: str = response.json()["id"]
    return family_id
