"""Referrals over REST: the closed loop, every wrong actor and step, forwarding, deadlines."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import update

from app.adapters.db.tables import ReferralRow
from app.bootstrap import Container
from app.domain.services.referrals import expire_overdue
from tests.builders import JAN, KACPER, MARIA, person_body
from tests.conftest import Party
from tests.sharing_support import consent_to_partner_referrals


async def client_of(client: httpx.AsyncClient, party: Party, pesel: str = JAN, **body: Any) -> str:
    response = await client.post("/v1/persons", json=person_body(pesel, **body), headers=party.headers())
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    await consent_to_partner_referrals(client, party, person_id)
    return person_id


async def refer(
    client: httpx.AsyncClient, sender: Party, receiver: Party, person_id: str | None, **overrides: Any
) -> httpx.Response:
    body = {
        "receiver_id": str(receiver.id),
        "person_id": person_id,
        "reason": "UNEMPLOYMENT",
        "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
        "justification": "Długotrwale bezrobotny, prosi o doradztwo zawodowe.",
        "send": True,
    } | overrides
    return await client.post("/v1/referrals", json=body, headers=sender.headers())


async def act(
    client: httpx.AsyncClient, party: Party, referral: dict[str, Any], action: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/referrals/{referral['id']}/{action}",
        json=body if body is not None else {},
        headers=party.headers(**{"If-Match": f'"{referral["version"]}"'}),
    )


async def step(
    client: httpx.AsyncClient, party: Party, referral: dict[str, Any], action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await act(client, party, referral, action, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.sqlite
async def test_ops_refers_a_client_to_pup_which_answers_and_closes_with_an_outcome(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    created = await refer(client, ops, pup, jan)
    assert created.status_code == 201, created.text
    referral = created.json()
    assert referral["status"] == "sent"
    assert created.headers["location"] == f"/v1/referrals/{referral['id']}"
    assert referral["subjects"][0]["first_name"] == "Jan"

    inbox = (await client.get("/v1/referrals", params={"box": "inbox"}, headers=pup.headers())).json()["items"]
    assert [r["id"] for r in inbox] == [referral["id"]]
    assert inbox[0]["allowed_actions"] == ["receive", "reject"]
    assert inbox[0]["status"] == "sent", "reading is not receiving"

    referral = await step(client, pup, referral, "receive")
    referral = await step(client, pup, referral, "accept")
    referral = await step(client, pup, referral, "start")
    referral = await step(client, pup, referral, "hold", {"note": "choroba"})
    referral = await step(client, pup, referral, "resume")
    referral = await step(
        client,
        pup,
        referral,
        "complete",
        {"outcomes": [{"person_id": jan, "kind": "TRAINING_COMPLETED", "on": "2026-10-30", "note": "kurs spawacza"}]},
    )

    seen_by_ops = (await client.get(f"/v1/referrals/{referral['id']}", headers=ops.headers())).json()
    assert seen_by_ops["status"] == "completed"
    assert seen_by_ops["outcomes"][0]["kind"] == "TRAINING_COMPLETED"
    assert [h["to_status"] for h in seen_by_ops["history"]] == [
        "draft",
        "sent",
        "received",
        "accepted",
        "in_progress",
        "on_hold",
        "in_progress",
        "completed",
    ]
    assert seen_by_ops["history"][-1]["institution_id"] == str(pup.id)
    assert seen_by_ops["allowed_actions"] == []


async def test_a_family_referral_closes_with_an_outcome_per_member(
    client: httpx.AsyncClient, ops: Party, ngo: Party
) -> None:
    jan, maria = await client_of(client, ops, JAN), await client_of(client, ops, MARIA, first_name="Maria")
    kacper = await client_of(client, ops, KACPER, first_name="Kacper")
    family = (
        await client.post(
            "/v1/families",
            headers=ops.headers(),
            json={
                "name": "Nowakowie",
                "members": [
                    {"person_id": jan, "role": "PARENT"},
                    {"person_id": maria, "role": "PARENT"},
                    {"person_id": kacper, "role": "CHILD"},
                ],
            },
        )
    ).json()

    created = await refer(
        client,
        ops,
        ngo,
        None,
        family_id=family["id"],
        member_ids=[jan, maria],
        reason="PARENTING_HELPLESSNESS",
        instrument={"code_list": "AssistanceForm", "code": "COUNSELLING"},
    )
    assert created.status_code == 201, created.text
    referral = created.json()
    assert {s["person_id"] for s in referral["subjects"]} == {jan, maria}

    for action in ("receive", "accept", "start"):
        referral = await step(client, ngo, referral, action)
    outsider = await act(
        client, ngo, referral, "complete", {"outcomes": [{"person_id": kacper, "kind": "OTHER", "on": "2026-11-01"}]}
    )
    assert outsider.status_code == 422
    referral = await step(
        client,
        ngo,
        referral,
        "complete",
        {
            "outcomes": [
                {"person_id": jan, "kind": "EMPLOYED_OPEN_MARKET", "on": "2026-11-02"},
                {"person_id": maria, "kind": "DROPPED_OUT", "on": "2026-11-03"},
            ]
        },
    )
    assert {(o["person_id"], o["kind"]) for o in referral["outcomes"]} == {
        (jan, "EMPLOYED_OPEN_MARKET"),
        (maria, "DROPPED_OUT"),
    }


async def test_actions_out_of_turn_answer_409_with_the_allowed_ones(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    referral = (await refer(client, ops, pup, await client_of(client, ops))).json()

    too_early = await act(client, pup, referral, "start")

    assert too_early.status_code == 409
    problem = too_early.json()
    assert problem["type"] == "/problems/conflict"
    assert problem["allowed_actions"] == ["receive", "reject"]


async def test_the_wrong_party_gets_403_and_a_stranger_404(
    client: httpx.AsyncClient, ops: Party, pup: Party, other_ops: Party
) -> None:
    referral = (await refer(client, ops, pup, await client_of(client, ops))).json()

    sender_accepting = await act(client, ops, referral, "receive")
    receiver_cancelling = await act(client, pup, referral, "cancel")
    stranger = await act(client, other_ops, referral, "receive")

    assert sender_accepting.status_code == 403
    assert receiver_cancelling.status_code == 403
    assert stranger.status_code == 404
    assert (await client.get(f"/v1/referrals/{referral['id']}", headers=other_ops.headers())).status_code == 404


async def test_reject_needs_a_coded_reason_and_cancel_is_the_senders(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    first = (await refer(client, ops, pup, jan)).json()
    assert (await act(client, pup, first, "reject", {"reason": "BORED"})).status_code == 422
    rejected = await step(client, pup, first, "reject", {"reason": "NOT_ELIGIBLE", "note": "nie jest zarejestrowany"})
    assert rejected["rejection_reason"] == "NOT_ELIGIBLE"

    second = (await refer(client, ops, pup, jan)).json()
    cancelled = await step(client, ops, second, "cancel")
    assert cancelled["status"] == "cancelled"
    assert (await act(client, pup, cancelled, "receive")).status_code == 409


async def test_a_draft_is_the_senders_alone_until_sent(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    draft = (await refer(client, ops, pup, await client_of(client, ops), send=False)).json()
    assert draft["status"] == "draft"
    assert (await client.get(f"/v1/referrals/{draft['id']}", headers=pup.headers())).status_code == 404
    assert (await client.get("/v1/referrals", headers=pup.headers())).json()["items"] == []

    sent = await step(client, ops, draft, "send")

    assert sent["status"] == "sent"
    assert (await client.get(f"/v1/referrals/{draft['id']}", headers=pup.headers())).status_code == 200


async def test_forwarding_opens_a_linked_referral_the_first_sender_can_follow(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    referral = (await refer(client, ops, pup, await client_of(client, ops))).json()
    referral = await step(client, pup, referral, "receive")

    forwarded = await step(client, pup, referral, "forward", {"to": str(ngo.id), "note": "warsztaty prowadzi NGO"})

    assert forwarded["status"] == "rejected"
    assert forwarded["rejection_reason"] == "FORWARDED"
    onward_id = forwarded["forwarded_to"]
    onward = (await client.get(f"/v1/referrals/{onward_id}", headers=ops.headers())).json()
    assert onward["forwarded_from"] == referral["id"]
    assert onward["sender_id"] == str(pup.id)
    assert onward["receiver_id"] == str(ngo.id)
    assert onward["status"] == "sent"
    ngo_inbox = (await client.get("/v1/referrals", headers=ngo.headers())).json()["items"]
    assert [r["id"] for r in ngo_inbox] == [onward_id]
    assert (await client.get(f"/v1/referrals/{onward_id}", headers=other_ops.headers())).status_code == 404


async def test_a_vendor_retry_with_the_same_key_creates_one_referral(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    body = {
        "receiver_id": str(pup.id),
        "person_id": jan,
        "reason": "UNEMPLOYMENT",
        "instrument": {"code_list": "LabourMarketInstrument", "code": "TRAINING"},
        "send": True,
    }
    headers = ops.headers(**{"Idempotency-Key": "pomost-ref-42"})

    first = await client.post("/v1/referrals", json=body, headers=headers)
    retry = await client.post("/v1/referrals", json=body, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert first.json()["id"] == retry.json()["id"]
    outbox = (await client.get("/v1/referrals", params={"box": "outbox"}, headers=ops.headers())).json()["items"]
    assert len(outbox) == 1


async def test_bad_referrals_are_refused_with_the_field_named(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    stranger = await client_of(client, pup, MARIA, first_name="Maria", status="UNEMPLOYED")
    cases = [
        ({"person_id": stranger}, "person_id"),
        ({"reason": "SADNESS"}, "reason"),
        ({"instrument": {"code_list": "LabourMarketInstrument", "code": "COUNSELLING"}}, "instrument.code"),
        ({"receiver_id": str(ops.id)}, "receiver_id"),
        ({"respond_by": "2001-01-01"}, "respond_by"),
    ]
    for change, field in cases:
        subject = change.pop("person_id", jan)
        response = await refer(client, ops, pup, subject, **change)
        assert response.status_code == 422, (change, response.text)
        assert field in [e["field"] for e in response.json()["errors"]], (change, response.json())


async def test_unanswered_referrals_expire_after_their_deadline_and_are_flagged_overdue_before(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    today = datetime.now(UTC).date()
    referral = (await refer(client, ops, pup, await client_of(client, ops), respond_by=today.isoformat())).json()
    answered = (await refer(client, ops, pup, await client_of(client, ops), respond_by=today.isoformat())).json()
    await step(client, pup, answered, "receive")

    class Later:
        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(days=2)

    later = type(container.ctx)(
        uow=container.ctx.uow, clock=Later(), codes=container.ctx.codes, policies=container.ctx.policies
    )
    expired = await expire_overdue(later)

    assert expired == 2  # the received one was acknowledged but not answered either
    view = (await client.get(f"/v1/referrals/{referral['id']}", headers=ops.headers())).json()
    assert view["status"] == "expired"
    assert view["history"][-1]["actor"] == "system:deadline-job"
    assert await expire_overdue(later) == 0


async def test_inbox_filters_by_status_and_overdue(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    jan = await client_of(client, ops)
    received = (await refer(client, ops, pup, jan)).json()
    await step(client, pup, received, "receive")
    await refer(client, ops, pup, jan)

    only_sent = (await client.get("/v1/referrals", params={"status": "sent"}, headers=pup.headers())).json()["items"]
    overdue = (await client.get("/v1/referrals", params={"overdue": "true"}, headers=pup.headers())).json()["items"]

    assert [r["status"] for r in only_sent] == ["sent"]
    assert overdue == []
    assert all(r["overdue"] is False for r in only_sent)


async def test_a_referral_past_its_deadline_is_flagged_overdue_until_answered(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    referral = (await refer(client, ops, pup, await client_of(client, ops))).json()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    async with container.engine.begin() as connection:
        await connection.execute(
            update(ReferralRow).where(ReferralRow.id == UUID(referral["id"])).values(respond_by=yesterday)
        )

    overdue = (await client.get("/v1/referrals", params={"overdue": "true"}, headers=pup.headers())).json()["items"]
    assert [(r["id"], r["overdue"]) for r in overdue] == [(referral["id"], True)]

    await step(client, pup, overdue[0], "receive")
    answered = await step(
        client, pup, (await client.get(f"/v1/referrals/{referral['id']}", headers=pup.headers())).json(), "accept"
    )
    assert answered["overdue"] is False
    assert (await client.get("/v1/referrals", params={"overdue": "true"}, headers=pup.headers())).json()["items"] == []


async def test_the_jobs_command_expires_what_is_past_its_deadline(
    client: httpx.AsyncClient, container: Container, settings: Any, ops: Party, pup: Party
) -> None:
    referral = (await refer(client, ops, pup, await client_of(client, ops))).json()
    async with container.engine.begin() as connection:
        await connection.execute(
            update(ReferralRow)
            .where(ReferralRow.id == UUID(referral["id"]))
            .values(respond_by=datetime(2026, 1, 1, tzinfo=UTC).date())
        )
    env = os.environ | {"SPOJNIA_DATABASE_URL": settings.database_url, "SPOJNIA_LOCAL_ISSUER__ENABLED": "false"}

    job = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "jobs", "--once", env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(job.communicate(), timeout=60)

    assert job.returncode == 0
    assert b"expired 1 unanswered referrals" in output
    assert (await client.get(f"/v1/referrals/{referral['id']}", headers=ops.headers())).json()["status"] == "expired"
