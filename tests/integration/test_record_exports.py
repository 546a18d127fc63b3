"""Exports for an institution's own system in each shipped profile: the referrals it received and the contract
actions it is responsible for, read back with the same profile to the same state."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import select

from app.adapters.db.record_sync_tables import SourceHouseholdRow
from app.adapters.record_systems.exports import (
    ExportProblem,
    contract_actions_csv,
    read_contract_actions,
    read_referrals,
    referrals_csv,
)
from app.adapters.record_systems.file_batches import import_command
from app.adapters.record_systems.profiles import Profile, load_profile
from app.bootstrap import Container
from app.domain.ids import InstitutionId, ReferralId
from app.domain.record_systems import ReferralEnvelope, SourcePerson
from app.domain.services.record_exports import export_contract_actions, export_referrals
from app.domain.services.record_imports import import_file
from tests.conftest import Party
from tests.record_files import SamplePerson, csv_file, sample_for
from tests.sharing_support import system_caller

PROFILES = ["pomost-std", "tt-pomoc", "syriusz-std", "generic-csv"]


async def imported(container: Container, party: Party, profile: Profile, people: list[SamplePerson]) -> None:
    command = import_command(csv_file(people, profile), "eksport.csv", profile, skip_rejects=False)
    batch = await import_file(container.ctx, container.record_imports, system_caller(party.id), command)
    assert batch.counts.created == len(people), batch.rejects


async def person_id_of(client: httpx.AsyncClient, party: Party, person: SamplePerson, status: str) -> str:
    body = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "pesel": person.pesel,
        "enrollment": {"status": status},
    }
    response = await client.post("/v1/persons", json=body, headers=party.headers())
    assert response.status_code in (200, 201), response.text
    found: str = response.json()["id"]
    return found


async def refer(client: httpx.AsyncClient, sender: Party, receiver: Party, person_id: str, pup: Party) -> None:
    instrument = (
        {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"}
        if receiver.id == pup.id
        else {"code_list": "AssistanceForm", "code": "SOCIAL_WORK"}
    )
    body = {
        "receiver_id": str(receiver.id),
        "person_id": person_id,
        "reason": "UNEMPLOYMENT",
        "instrument": instrument,
        "justification": "Prosi o wsparcie.",
        "send": True,
    }
    response = await client.post("/v1/referrals", json=body, headers=sender.headers())
    assert response.status_code == 201, response.text


async def contract_with_action_for(
    client: httpx.AsyncClient,
    partnership: dict[str, Any],
    ops: Party,
    pup: Party,
    responsible: Party,
    members: list[str],
) -> None:
    family = await client.post(
        "/v1/families",
        headers=ops.headers(),
        json={"name": "Rodzina z umowy", "members": [{"person_id": m, "role": "PARENT"} for m in members]},
    )
    assert family.status_code == 201, family.text
    body = {
        "kind": "TRI_PARTY_FAMILY",
        "partnership_id": partnership["id"],
        "family_id": family.json()["id"],
        "institutions": [str(ops.id), str(pup.id)],
        "signing_members": members[:1],
        "terms": {
            "goals": ["Zatrudnienie"],
            "actions": [
                {
                    "description": "Doradztwo zawodowe – „Zielony Ład”",
                    "member_ids": members,
                    "responsible": str(responsible.id),
                    "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
                    "due": "2026-12-31",
                },
                {"description": "Zajęcia grupy wsparcia", "member_ids": members[:1], "responsible": "FAMILY"},
            ],
        },
    }
    headers = ops.headers(**{"X-Acting-Worker": str(ops.worker_id)})
    created = await client.post("/v1/contracts", headers=headers, json=body)
    assert created.status_code == 201, created.text


def comparable(envelope: ReferralEnvelope) -> tuple[Any, ...]:
    subjects = tuple((s.external_ref, s.first_name, s.last_name, s.pesel, s.birth_date) for s in envelope.subjects)
    return (
        envelope.referral_id,
        envelope.sender_id,
        envelope.receiver_id,
        envelope.status,
        envelope.reason,
        envelope.instrument_code_list,
        envelope.instrument_code,
        envelope.respond_by,
        envelope.sent_at,
        subjects,
    )


@pytest.mark.parametrize("name", PROFILES)
async def test_the_exports_read_back_with_the_same_profile_to_the_same_state(
    client: httpx.AsyncClient,
    container: Container,
    partnership: dict[str, Any],
    ops: Party,
    pup: Party,
    name: str,
) -> None:
    profile, people = sample_for(name, 4)
    receiver, sender = (pup, ops) if profile.status_list == "PupClientStatus" else (ops, pup)
    await imported(container, receiver, profile, people)
    sender_status = "UNEMPLOYED" if sender.id == pup.id else "BENEFIT_RECIPIENT"
    ids = [await person_id_of(client, sender, p, sender_status) for p in people[:2]]
    await refer(client, sender, receiver, ids[0], pup)
    await contract_with_action_for(client, partnership, ops, pup, receiver, ids)
    caller = system_caller(receiver.id)

    referrals = await export_referrals(container.ctx, container.record_imports, caller)
    actions = await export_contract_actions(container.ctx, container.record_imports, caller)
    referral_file = referrals_csv(referrals.envelopes, referrals.own_refs, profile)
    action_file = contract_actions_csv(actions.actions, actions.own_refs, profile)

    [envelope] = referrals.envelopes
    assert {str(k): v for k, v in referrals.own_refs.items()} == {ids[0]: people[0].ref}
    assert [comparable(e) for e in read_referrals(referral_file, profile)] == [comparable(envelope)]
    assert envelope.subjects[0].pesel == people[0].pesel, "the receiver's own inbox: the PESEL travels"
    assert people[0].ref in referral_file.decode(profile.export_encoding)
    [action] = actions.actions
    assert read_contract_actions(action_file, profile) == [action]
    assert {str(p) for p in action.person_ids} == set(ids)
    assert action.instrument_code == "CAREER_GUIDANCE"
    text = action_file.decode(profile.export_encoding)
    assert "„Zielony Ład”" in text
    assert text.splitlines()[0].split(";")[0] == profile.contract_actions.columns["contract_id"]


def test_a_name_the_encoding_cannot_write_is_refused_with_the_way_out() -> None:
    profile = load_profile("pomost-std")
    envelope = ReferralEnvelope(
        referral_id=ReferralId(uuid4()),
        sender_id=InstitutionId(uuid4()),
        receiver_id=InstitutionId(uuid4()),
        status="sent",
        reason="OTHER",
        instrument_code_list="AssistanceForm",
        instrument_code="SOCIAL_WORK",
        respond_by=None,
        subjects=[SourcePerson(external_ref=str(uuid4()), first_name="Олена", last_name="Шевченко")],
    )

    with pytest.raises(ExportProblem) as refused:
        referrals_csv([envelope], {}, profile)

    assert "csv.export_encoding" in str(refused.value)
    assert referrals_csv([envelope], {}, load_profile("generic-csv")).decode("utf-8-sig").count("Олена") == 1


async def test_the_households_the_import_made_are_kept_by_the_importing_institution(
    container: Container, ops: Party
) -> None:
    profile, people = sample_for("pomost-std", 6)
    await imported(container, ops, profile, people)

    async with container.engine.connect() as connection:
        kept = set(await connection.scalars(select(SourceHouseholdRow.institution_id)))

    assert kept == {ops.id}
