"""The audit trail over REST: the data-protection officer's list, and a person's access report (GDPR art. 15)."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from app.bootstrap import Container
from app.domain.audit import AuditAction, AuditRecord, Decision, SubjectType
from app.domain.data_categories import DataCategory
from app.domain.ids import AuditEventId
from app.domain.services.audit_trail import REPORT_PURPOSE
from tests.builders import JAN, MARIA, person_body
from tests.conftest import Party

TEAM_ROLE = frozenset({"interdisciplinary_team"})


async def register(client: httpx.AsyncClient, party: Party, pesel: str, **extra: Any) -> dict[str, Any]:
    status = "LONG_TERM_UNEMPLOYED" if party.key == "pup" else "BENEFIT_RECIPIENT"
    response = await client.post(
        "/v1/persons", json=person_body(pesel, status=status, **extra), headers=party.headers()
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def events(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def team_headers(team: Party, *, role: bool = True) -> dict[str, str]:
    return {"Authorization": f"Bearer {team.token(roles=TEAM_ROLE if role else frozenset())}"}


async def restricted_records(container: Container, subject: str, team: Party, ops: Party) -> list[str]:
    """What Niebieska Karta work leaves in the trail: the team's own reads, and a refused look by an OPS."""
    now = container.ctx.clock.now()
    made = [
        AuditRecord(
            id=AuditEventId(uuid4()),
            occurred_at=now,
            actor="worker:team-member",
            actor_worker_id=None,
            institution_id=team.id,
            action=AuditAction.READ,
            subject_type=SubjectType.PERSON,
            subject_id=UUID(subject),
            request_id="nk-read",
            purpose="BLUE_CARD_PROCEDURE",
            categories=(DataCategory.DOMESTIC_VIOLENCE,),
        ),
        AuditRecord(
            id=AuditEventId(uuid4()),
            occurred_at=now,
            actor="worker:curious",
            actor_worker_id=None,
            institution_id=ops.id,
            action=AuditAction.READ,
            subject_type=SubjectType.PERSON,
            subject_id=UUID(subject),
            request_id="nk-denied",
            categories=(DataCategory.IDENTITY, DataCategory.DOMESTIC_VIOLENCE),
            decision=Decision.DENY,
            reason="restricted category",
        ),
    ]
    async with container.ctx.uow() as uow:
        for record in made:
            await uow.audit.record(record)
        await uow.commit()
    return [str(r.id) for r in made]


async def test_the_list_holds_only_the_callers_institutions_records_oldest_first(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await register(client, ops, JAN)
    maria = await register(client, pup, MARIA)
    await client.get(f"/v1/persons/{jan['id']}", headers=ops.headers())

    items = await events(client, ops.headers("audit:read"))

    assert {i["institution_id"] for i in items} == {str(ops.id)}
    assert maria["id"] not in {i["subject_id"] for i in items}
    # The fixtures' agreements between the parties are audited too; this test looks at persons.
    assert [(i["action"], i["subject_id"]) for i in items if i["subject_type"] == "person"] == [
        ("CREATE", jan["id"]),
        ("ENROLL", jan["id"]),
        ("READ", jan["id"]),
    ]
    assert [i["occurred_at"] for i in items] == sorted(i["occurred_at"] for i in items)
    first = next(i for i in items if i["subject_type"] == "person")
    assert first["decision"] == "ALLOW"
    assert isinstance(first["categories"], list)
    assert first["request_id"]


async def test_the_list_filters_by_subject_actor_action_decision_and_time(
    client: httpx.AsyncClient, ops: Party, other_ops: Party
) -> None:
    jan = await register(client, ops, JAN)
    maria = await register(client, ops, MARIA)
    officer = {"Authorization": f"Bearer {ops.token(subject='dpo-ops')}"}
    await client.get(f"/v1/persons/{maria['id']}", headers=officer)
    assert (await client.get(f"/v1/persons/{jan['id']}/access-report", headers=other_ops.headers())).status_code == 404
    everything = await events(client, ops.headers())
    middle = everything[2]["occurred_at"]

    by_subject = await events(client, ops.headers(), subject_id=jan["id"])
    by_actor = await events(client, ops.headers(), actor="dpo-ops")
    enrollments = await events(client, ops.headers(), action="ENROLL")
    since = await events(client, ops.headers(), occurred_from=middle)
    before = await events(client, ops.headers(), occurred_to=middle)
    refused = await events(client, other_ops.headers(), decision="DENY")

    assert {i["subject_id"] for i in by_subject} == {jan["id"]}
    assert [(i["action"], i["subject_id"]) for i in by_actor] == [("READ", maria["id"])]
    assert [i["subject_id"] for i in enrollments] == [jan["id"], maria["id"]]
    assert {i["action"] for i in enrollments} == {"ENROLL"}
    assert all(i["occurred_at"] >= middle for i in since)
    assert all(i["occurred_at"] < middle for i in before)
    assert len(since) + len(before) == len(everything)
    assert [(i["action"], i["subject_id"], i["purpose"]) for i in refused] == [("EXPORT", jan["id"], REPORT_PURPOSE)]
    assert refused[0]["reason"]
    assert await events(client, ops.headers(), decision="DENY") == []


@pytest.mark.sqlite
async def test_the_list_pages_with_a_cursor_in_a_stable_order(client: httpx.AsyncClient, ops: Party) -> None:
    for pesel in (JAN, MARIA):
        person = await register(client, ops, pesel)
        await client.get(f"/v1/persons/{person['id']}", headers=ops.headers())
    everything = await events(client, ops.headers())

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/audit-events", params=params, headers=ops.headers())).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(everything) >= 6
    assert seen == [i["id"] for i in everything]


async def test_the_list_needs_a_token_and_the_audit_read_scope(client: httpx.AsyncClient, ops: Party) -> None:
    anonymous = await client.get("/v1/audit-events")
    without_scope = await client.get("/v1/audit-events", headers=ops.headers("persons:read", "persons:write"))
    bad_filter = await client.get("/v1/audit-events", params={"occurred_from": "yesterday"}, headers=ops.headers())

    assert anonymous.status_code == 401
    assert without_scope.status_code == 403
    assert without_scope.json()["type"] == "/problems/insufficient-scope"
    assert bad_filter.status_code == 422


@pytest.mark.sqlite
async def test_niebieska_karta_records_show_only_to_the_teams_own_members(
    client: httpx.AsyncClient, container: Container, ops: Party, zi: Party, other_zi: Party
) -> None:
    jan = await register(client, ops, JAN)
    team_read, ops_denied = await restricted_records(container, jan["id"], zi, ops)

    seen_by_ops = await events(client, ops.headers())
    seen_by_team = await events(client, team_headers(zi))
    seen_by_team_without_role = await events(client, team_headers(zi, role=False))
    seen_by_other_team = await events(client, team_headers(other_zi))
    refused_for_ops = await events(client, ops.headers(), decision="DENY")

    assert ops_denied not in {i["id"] for i in seen_by_ops}
    assert refused_for_ops == []  # not even as a count
    assert [i["id"] for i in seen_by_team] == [team_read]
    assert seen_by_team_without_role == []
    assert seen_by_other_team == []


@pytest.mark.sqlite
async def test_the_access_report_lists_every_institutions_access_without_restricted_records(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, zi: Party
) -> None:
    jan = await register(client, ops, JAN)
    await register(client, pup, JAN)
    await client.get(f"/v1/persons/{jan['id']}", headers=pup.headers())
    await restricted_records(container, jan["id"], zi, ops)

    response = await client.get(f"/v1/persons/{jan['id']}/access-report", headers=ops.headers("audit:read"))

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["person_id"] == jan["id"]
    entries = report["entries"]
    assert [(e["institution_name"], e["action"]) for e in entries] == [
        ("MOPS w Bartoszycach", "CREATE"),
        ("MOPS w Bartoszycach", "ENROLL"),
        ("PUP w Bartoszycach", "ENROLL"),
        ("PUP w Bartoszycach", "READ"),
    ]
    assert {e["institution_type"] for e in entries} == {"MOPS", "PUP"}
    assert str(zi.id) not in response.text
    assert "domestic_violence" not in response.text
    assert {"occurred_at", "actor", "purpose", "categories", "decision", "reason"} <= set(entries[0])
    exported = await events(client, ops.headers(), action="EXPORT")
    assert [(e["subject_id"], e["purpose"], e["decision"]) for e in exported] == [(jan["id"], REPORT_PURPOSE, "ALLOW")]


@pytest.mark.parametrize("ask", [{"headers": {"Accept": "text/csv"}}, {"params": {"format": "csv"}}])
async def test_the_access_report_comes_as_csv(client: httpx.AsyncClient, ops: Party, ask: dict[str, Any]) -> None:
    jan = await register(client, ops, JAN, first_name="=HYPERLINK")
    headers = ops.headers() | ask.get("headers", {})

    response = await client.get(f"/v1/persons/{jan['id']}/access-report", headers=headers, params=ask.get("params"))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "occurred_at",
        "institution_id",
        "institution_name",
        "institution_type",
        "actor",
        "action",
        "purpose",
        "categories",
        "decision",
        "reason",
    ]
    assert [(r[2], r[5]) for r in rows[1:]] == [("MOPS w Bartoszycach", "CREATE"), ("MOPS w Bartoszycach", "ENROLL")]


async def test_only_an_enrolling_institution_gets_the_access_report_others_get_404(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party
) -> None:
    jan = await register(client, ops, JAN)
    await register(client, pup, JAN)

    by_pup = await client.get(f"/v1/persons/{jan['id']}/access-report", headers=pup.headers())
    by_ngo = await client.get(f"/v1/persons/{jan['id']}/access-report", headers=ngo.headers())
    unknown = await client.get(f"/v1/persons/{uuid4()}/access-report", headers=ops.headers())
    without_scope = await client.get(f"/v1/persons/{jan['id']}/access-report", headers=ops.headers("persons:read"))

    assert by_pup.status_code == 200
    assert by_ngo.status_code == 404
    assert by_ngo.json()["type"] == "/problems/not-found"
    assert unknown.status_code == 404
    assert without_scope.status_code == 403
    ngo_refusals = await events(client, ngo.headers(), decision="DENY")
    assert [(e["action"], e["subject_id"]) for e in ngo_refusals] == [("EXPORT", jan["id"])]


async def test_an_access_report_shows_a_refused_attempt_by_another_institution(
    client: httpx.AsyncClient, ops: Party, ngo: Party
) -> None:
    jan = await register(client, ops, JAN)
    await client.get(f"/v1/persons/{jan['id']}/access-report", headers=ngo.headers())

    report = (await client.get(f"/v1/persons/{jan['id']}/access-report", headers=ops.headers())).json()

    refused = [e for e in report["entries"] if e["decision"] == "DENY"]
    assert [(e["institution_name"], e["action"]) for e in refused] == [("Stowarzyszenie Razem", "EXPORT")]
