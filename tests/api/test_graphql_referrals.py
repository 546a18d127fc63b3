"""Referrals over GraphQL: the closed loop, every wrong actor and step, forwarding, and the family graph."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from app.bootstrap import Container
from tests.builders import JAN, KACPER, MARIA, make_pesel, person_body
from tests.conftest import Party
from tests.sharing_support import consent_to_partner_referrals

FIELDS = """
  id status version allowed_actions sender_id receiver_id overdue respond_by instrument reason
  forwarded_to forwarded_from
  subjects { person_id first_name }
  outcomes { person_id kind on note }
  history { action from_status to_status institution_id reason note }
"""

CREATE = f"mutation ($input: ReferralInput!) {{ create_referral(input: $input) {{ {FIELDS} }} }}"

ACT = f"""
mutation (
  $id: UUID!, $version: Int!, $action: ReferralActionName!, $reason: String, $note: String,
  $outcomes: [OutcomeInput!], $forward_to: UUID
) {{
  referral_action(
    referral_id: $id, version: $version, action: $action, reason: $reason, note: $note,
    outcomes: $outcomes, forward_to: $forward_to
  ) {{ {FIELDS} }}
}}
"""

READ = f"query ($id: UUID!) {{ referral(id: $id) {{ {FIELDS} }} }}"

BOX = """
query ($box: String!, $status: String) {
  referrals(box: $box, status: $status) { next_cursor items { id status allowed_actions } }
}
"""

FAMILY_REFERRALS = """
query ($id: UUID!) {
  family(id: $id) { referrals { status } members { person { referrals { id } } } }
}
"""


# --------------------------------------------------------------------------- helpers


async def gql(
    client: httpx.AsyncClient, party: Party, query: str, *, scopes: tuple[str, ...] = (), **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=party.headers(*scopes)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(body: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"][field]
    return result


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


async def client_of(client: httpx.AsyncClient, party: Party, pesel: str = JAN, **body: Any) -> str:
    response = await client.post("/v1/persons", json=person_body(pesel, **body), headers=party.headers())
    assert response.status_code in (200, 201), response.text
    person_id: str = response.json()["id"]
    await consent_to_partner_referrals(client, party, person_id)
    return person_id


async def family_with(client: httpx.AsyncClient, party: Party, person_ids: list[str], name: str = "Nowakowie") -> str:
    members = [{"person_id": p, "role": "PARENT" if i < 2 else "CHILD"} for i, p in enumerate(person_ids)]
    response = await client.post("/v1/families", json={"name": name, "members": members}, headers=party.headers())
    assert response.status_code == 201, response.text
    family_id: str = response.json()["id"]
    return family_id


async def create(client: httpx.AsyncClient, sender: Party, receiver: Party, **overrides: Any) -> dict[str, Any]:
    body = await create_raw(client, sender, receiver, **overrides)
    return data(body, "create_referral")


async def create_raw(client: httpx.AsyncClient, sender: Party, receiver: Party, **overrides: Any) -> dict[str, Any]:
    referral_input = {
        "receiver_id": str(receiver.id),
        "reason": "UNEMPLOYMENT",
        "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
        "justification": "Długotrwale bezrobotny, prosi o doradztwo zawodowe.",
        "send": True,
    } | overrides
    return await gql(client, sender, CREATE, input=referral_input)


async def act(
    client: httpx.AsyncClient, party: Party, referral: dict[str, Any], action: str, **arguments: Any
) -> dict[str, Any]:
    """Takes the action with the version last read; answers the whole GraphQL response."""
    version = arguments.pop("version", referral["version"])
    return await gql(client, party, ACT, id=referral["id"], version=version, action=action.upper(), **arguments)


async def step(
    client: httpx.AsyncClient, party: Party, referral: dict[str, Any], action: str, **arguments: Any
) -> dict[str, Any]:
    return data(await act(client, party, referral, action, **arguments), "referral_action")


async def read(client: httpx.AsyncClient, party: Party, referral_id: str) -> dict[str, Any]:
    return data(await gql(client, party, READ, id=referral_id), "referral")


async def box(client: httpx.AsyncClient, party: Party, which: str, status: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = data(await gql(client, party, BOX, box=which, status=status), "referrals")["items"]
    return items


@contextmanager
def counted_statements(container: Container) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(container.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(container.engine.sync_engine, "before_cursor_execute", count)


# --------------------------------------------------------------------------- the closed loop


async def test_a_family_referral_goes_the_whole_loop_and_closes_with_an_outcome_per_member(
    client: httpx.AsyncClient, ops: Party, ngo: Party
) -> None:
    jan = await client_of(client, ops, JAN)
    maria = await client_of(client, ops, MARIA, first_name="Maria")
    kacper = await client_of(client, ops, KACPER, first_name="Kacper")
    family = await family_with(client, ops, [jan, maria, kacper])

    referral = await create(
        client,
        ops,
        ngo,
        family_id=family,
        member_ids=[jan, maria],
        reason="PARENTING_HELPLESSNESS",
        instrument={"code_list": "AssistanceForm", "code": "COUNSELLING"},
    )

    assert referral["status"] == "sent"
    assert referral["version"] == 1
    assert (referral["sender_id"], referral["receiver_id"]) == (str(ops.id), str(ngo.id))
    assert referral["instrument"] == "AssistanceForm:COUNSELLING"
    assert {s["person_id"] for s in referral["subjects"]} == {jan, maria}
    assert referral["allowed_actions"] == ["cancel"], "the sender can only take it back"

    inbox = await box(client, ngo, "inbox")
    assert [(r["id"], r["status"], r["allowed_actions"]) for r in inbox] == [
        (referral["id"], "sent", ["receive", "reject"])
    ]
    assert [r["id"] for r in await box(client, ops, "outbox")] == [referral["id"]]
    assert await box(client, ops, "inbox") == []

    referral = await step(client, ngo, referral, "receive")
    assert referral["allowed_actions"] == ["accept", "reject", "forward"]
    referral = await step(client, ngo, referral, "accept")
    referral = await step(client, ngo, referral, "start")
    referral = await step(client, ngo, referral, "hold", note="matka w szpitalu")
    assert (referral["status"], referral["allowed_actions"]) == ("on_hold", ["resume", "fail"])
    referral = await step(client, ngo, referral, "resume")
    referral = await step(
        client,
        ngo,
        referral,
        "complete",
        outcomes=[
            {"person_id": jan, "kind": "EMPLOYED_OPEN_MARKET", "on": "2026-11-02", "note": "umowa o pracę"},
            {"person_id": maria, "kind": "DROPPED_OUT", "on": "2026-11-03"},
        ],
    )
    assert referral["status"] == "completed"
    assert referral["version"] == 7

    seen_by_ops = await read(client, ops, referral["id"])
    assert seen_by_ops["status"] == "completed"
    assert seen_by_ops["allowed_actions"] == []
    assert {(o["person_id"], o["kind"], o["on"], o["note"]) for o in seen_by_ops["outcomes"]} == {
        (jan, "EMPLOYED_OPEN_MARKET", "2026-11-02", "umowa o pracę"),
        (maria, "DROPPED_OUT", "2026-11-03", None),
    }
    history = seen_by_ops["history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("create", None, "draft"),
        ("send", "draft", "sent"),
        ("receive", "sent", "received"),
        ("accept", "received", "accepted"),
        ("start", "accepted", "in_progress"),
        ("hold", "in_progress", "on_hold"),
        ("resume", "on_hold", "in_progress"),
        ("complete", "in_progress", "completed"),
    ]
    assert [h["institution_id"] for h in history] == [str(ops.id)] * 2 + [str(ngo.id)] * 6
    assert history[5]["note"] == "matka w szpitalu"


async def test_a_completion_with_an_outcome_for_a_non_subject_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, ops: Party, ngo: Party
) -> None:
    jan = await client_of(client, ops, JAN)
    kacper = await client_of(client, ops, KACPER, first_name="Kacper")
    family = await family_with(client, ops, [jan, kacper])
    referral = await create(
        client,
        ops,
        ngo,
        family_id=family,
        member_ids=[jan],
        reason="PARENTING_HELPLESSNESS",
        instrument={"code_list": "AssistanceForm", "code": "COUNSELLING"},
    )
    for action in ("receive", "accept", "start"):
        referral = await step(client, ngo, referral, action)

    outsider = await act(
        client, ngo, referral, "complete", outcomes=[{"person_id": kacper, "kind": "OTHER", "on": "2026-11-01"}]
    )
    nothing = await act(client, ngo, referral, "complete", outcomes=[])

    for body in (outsider, nothing):
        error = error_of(body)
        assert error["extensions"]["code"] == "validation-error"
        assert [e["field"] for e in error["extensions"]["errors"]] == ["outcomes"]
    unchanged = await read(client, ops, referral["id"])
    assert (unchanged["status"], unchanged["version"], unchanged["outcomes"]) == ("in_progress", 4, [])


async def test_a_draft_is_the_senders_alone_until_sent(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    draft = await create(client, ops, pup, person_id=await client_of(client, ops), send=False)
    assert (draft["status"], draft["allowed_actions"]) == ("draft", ["send", "cancel"])
    assert error_of(await gql(client, pup, READ, id=draft["id"]))["extensions"]["code"] == "not-found"
    assert await box(client, pup, "inbox") == []

    sent = await step(client, ops, draft, "send")

    assert sent["status"] == "sent"
    assert (await read(client, pup, draft["id"]))["status"] == "sent"


async def test_the_receiver_rejects_with_a_coded_reason_only(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))

    no_reason = error_of(await act(client, pup, referral, "reject"))
    bad_reason = error_of(await act(client, pup, referral, "reject", reason="BORED"))
    rejected = await step(client, pup, referral, "reject", reason="NOT_ELIGIBLE", note="nie jest zarejestrowany")

    assert no_reason["extensions"]["code"] == bad_reason["extensions"]["code"] == "validation-error"
    assert [e["field"] for e in no_reason["extensions"]["errors"]] == ["reason"]
    assert [e["field"] for e in bad_reason["extensions"]["errors"]] == ["reason"]
    assert rejected["status"] == "rejected"
    assert rejected["allowed_actions"] == []
    seen_by_ops = await read(client, ops, referral["id"])
    assert seen_by_ops["status"] == "rejected"
    assert (seen_by_ops["history"][-1]["reason"], seen_by_ops["history"][-1]["note"]) == (
        "NOT_ELIGIBLE",
        "nie jest zarejestrowany",
    )


async def test_the_sender_cancels_and_the_receiver_can_then_do_nothing(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))
    referral = await step(client, pup, referral, "receive")

    cancelled = await step(client, ops, referral, "cancel", note="klient wyjechał")

    assert cancelled["status"] == "cancelled"
    assert cancelled["history"][-1]["institution_id"] == str(ops.id)
    seen_by_pup = await read(client, pup, referral["id"])
    assert (seen_by_pup["status"], seen_by_pup["allowed_actions"]) == ("cancelled", [])
    too_late = error_of(await act(client, pup, seen_by_pup, "accept"))
    assert too_late["extensions"]["code"] == "conflict"
    assert too_late["extensions"]["allowed_actions"] == []


async def test_forwarding_opens_a_linked_referral_the_first_sender_follows(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party, other_ops: Party
) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))
    referral = await step(client, pup, referral, "receive")

    forwarded = await step(client, pup, referral, "forward", forward_to=str(ngo.id), note="warsztaty prowadzi NGO")

    assert forwarded["status"] == "rejected"
    assert forwarded["history"][-1]["action"] == "forward"
    assert forwarded["history"][-1]["reason"] == "FORWARDED"
    onward_id = forwarded["forwarded_to"]
    assert onward_id is not None
    assert (await read(client, ops, referral["id"]))["forwarded_to"] == onward_id

    onward = await read(client, ops, onward_id)
    assert onward["forwarded_from"] == referral["id"]
    assert (onward["sender_id"], onward["receiver_id"], onward["status"]) == (str(pup.id), str(ngo.id), "sent")
    assert onward["allowed_actions"] == [], "the first sender follows the onward referral but takes no part in it"
    assert [s["first_name"] for s in onward["subjects"]] == ["Jan"]
    assert [(r["id"], r["allowed_actions"]) for r in await box(client, ngo, "inbox")] == [
        (onward_id, ["receive", "reject"])
    ]

    onward = await step(client, ngo, onward, "receive")
    await step(client, ngo, onward, "accept")
    assert (await read(client, ops, onward_id))["status"] == "accepted", "the first sender sees the progress"
    assert error_of(await gql(client, other_ops, READ, id=onward_id))["extensions"]["code"] == "not-found"


async def test_forwarding_goes_to_a_third_institution_only(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))
    referral = await step(client, pup, referral, "receive")

    back_to_sender = error_of(await act(client, pup, referral, "forward", forward_to=str(ops.id)))
    nowhere = error_of(await act(client, pup, referral, "forward"))

    assert back_to_sender["extensions"]["code"] == nowhere["extensions"]["code"] == "validation-error"
    assert [e["field"] for e in back_to_sender["extensions"]["errors"]] == ["forward_to"]
    assert [e["field"] for e in nowhere["extensions"]["errors"]] == ["forward_to"]
    assert (await read(client, pup, referral["id"]))["status"] == "received"


# --------------------------------------------------------------------------- wrong steps and wrong actors


async def test_an_action_out_of_turn_is_a_conflict_naming_the_allowed_actions(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))

    too_early = error_of(await act(client, pup, referral, "start"))

    assert too_early["extensions"]["code"] == "conflict"
    assert too_early["extensions"]["status"] == 409
    assert too_early["extensions"]["allowed_actions"] == ["receive", "reject"]
    assert "start" in too_early["message"]
    assert (await read(client, pup, referral["id"]))["status"] == "sent"


async def test_the_wrong_party_is_forbidden(client: httpx.AsyncClient, ops: Party, pup: Party) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))

    sender_receiving = error_of(await act(client, ops, referral, "receive"))
    receiver_cancelling = error_of(await act(client, pup, referral, "cancel"))

    assert sender_receiving["extensions"]["code"] == receiver_cancelling["extensions"]["code"] == "forbidden"
    assert sender_receiving["extensions"]["status"] == 403
    seen = await read(client, ops, referral["id"])
    assert (seen["status"], seen["version"]) == ("sent", 1)


async def test_an_institution_not_on_the_referral_finds_nothing(
    client: httpx.AsyncClient, ops: Party, pup: Party, other_ops: Party
) -> None:
    referral = await create(client, ops, pup, person_id=await client_of(client, ops))

    acting = error_of(await act(client, other_ops, referral, "receive"))
    reading = await gql(client, other_ops, READ, id=referral["id"])

    assert acting["extensions"]["code"] == "not-found"
    assert acting["extensions"]["status"] == 404
    assert error_of(reading)["extensions"]["code"] == "not-found"
    assert reading["data"] is None
    assert await box(client, other_ops, "inbox") == []
    assert await box(client, other_ops, "outbox") == []


async def test_a_stale_version_is_refused_with_the_current_one(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    first_read = await create(client, ops, pup, person_id=await client_of(client, ops))
    await step(client, pup, first_read, "receive")

    stale = error_of(await act(client, pup, first_read, "accept"))

    assert stale["extensions"]["code"] == "precondition-failed"
    assert stale["extensions"]["current_version"] == 2
    assert (await read(client, pup, first_read["id"]))["status"] == "received"


async def test_the_boxes_filter_by_status_and_refuse_an_unknown_box(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    received = await step(client, pup, await create(client, ops, pup, person_id=jan), "receive")
    await create(client, ops, pup, person_id=jan)

    only_received = await box(client, pup, "inbox", status="received")
    unknown = error_of(await gql(client, pup, BOX, box="trash"))

    assert [r["id"] for r in only_received] == [received["id"]]
    assert unknown["extensions"]["code"] == "validation-error"


# --------------------------------------------------------------------------- the family graph


async def family_with_referrals(
    client: httpx.AsyncClient, ops: Party, receivers: list[Party], size: int, seed: int
) -> tuple[str, list[str], list[str]]:
    """A family of `size`; one referral about all members, then one per member to each receiver in turn."""
    persons = [
        await client_of(client, ops, make_pesel(f"8{seed}01{i + 1:02d}"), first_name=f"Osoba{i}") for i in range(size)
    ]
    family = await family_with(client, ops, persons, name=f"Rodzina {seed}")
    referrals = [
        (
            await create(
                client,
                ops,
                receivers[0],
                family_id=family,
                reason="PARENTING_HELPLESSNESS",
                instrument={"code_list": "AssistanceForm", "code": "COUNSELLING"},
            )
        )["id"]
    ]
    for i, person in enumerate(persons):
        referrals.append((await create(client, ops, receivers[i % len(receivers)], person_id=person))["id"])
    return family, persons, referrals


async def test_a_family_shows_the_referrals_about_its_members_once_each(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party
) -> None:
    family, persons, referrals = await family_with_referrals(client, ops, [ngo, pup], size=3, seed=1)
    other_family = await family_with(client, ops, [await client_of(client, ops, MARIA, first_name="Maria")], "Inni")
    await create(client, ops, pup, family_id=other_family)

    query = (
        "query ($id: UUID!) { family(id: $id) { referrals { id status } members { person { id referrals { id } } } } }"
    )

    graph = data(await gql(client, ops, query, id=family), "family")

    assert sorted(r["id"] for r in graph["referrals"]) == sorted(referrals), "the family referral once, not per member"
    assert {r["status"] for r in graph["referrals"]} == {"sent"}
    per_member = {m["person"]["id"]: {r["id"] for r in m["person"]["referrals"]} for m in graph["members"]}
    assert per_member == {person: {referrals[0], referrals[1 + i]} for i, person in enumerate(persons)}


async def test_the_family_referrals_cost_the_same_statements_whatever_their_number(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, ngo: Party
) -> None:
    small, _, small_referrals = await family_with_referrals(client, ops, [pup], size=2, seed=1)
    large, _, large_referrals = await family_with_referrals(client, ops, [pup, ngo], size=6, seed=2)
    jan = (await gql(client, ops, "query ($id: UUID!) { family(id: $id) { members { person { id } } } }", id=large))[
        "data"
    ]["family"]["members"][0]["person"]["id"]
    for _ in range(3):  # several referrals about one member
        large_referrals.append((await create(client, ops, ngo, person_id=jan))["id"])

    with counted_statements(container) as for_small:
        small_graph = data(await gql(client, ops, FAMILY_REFERRALS, id=small), "family")
    with counted_statements(container) as for_large:
        large_graph = data(await gql(client, ops, FAMILY_REFERRALS, id=large), "family")

    assert len(small_graph["referrals"]) == len(small_referrals) == 3
    assert len(large_graph["referrals"]) == len(large_referrals) == 10
    assert len(for_small) == len(for_large), for_large


async def test_the_receiver_sees_in_a_family_graph_only_referrals_on_its_chain(
    client: httpx.AsyncClient, ops: Party, pup: Party, ngo: Party
) -> None:
    jan = await client_of(client, ops, JAN)
    assert await client_of(client, pup, JAN, status="UNEMPLOYED") == jan, "PUP serves Jan too"
    family = await family_with(client, ops, [jan])
    mine = await create(client, ops, pup, person_id=jan)
    await create(client, ops, ngo, person_id=jan)
    await create(client, ops, pup, person_id=jan, send=False)

    graph = data(await gql(client, ops, FAMILY_REFERRALS, id=family), "family")
    person = data(
        await gql(client, pup, "query ($id: UUID!) { person(id: $id) { referrals { id } } }", id=jan), "person"
    )

    assert len(graph["referrals"]) == 3, "the sender sees its drafts too"
    assert person["referrals"] == [{"id": mine["id"]}], "not NGO's referral, not OPS's draft"


async def test_without_referrals_read_the_family_still_comes_with_an_insufficient_scope_error(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    family, _, _ = await family_with_referrals(client, ops, [pup], size=2, seed=1)
    query = "query ($id: UUID!) { family(id: $id) { id name referrals { status } } }"

    body = await gql(client, ops, query, scopes=("persons:read", "families:read"), id=family)

    error = error_of(body)
    assert error["extensions"]["code"] == "insufficient-scope"
    assert error["path"] == ["family", "referrals"]
    assert body["data"]["family"] is not None, "the missing scope hides the referrals, not the family"
    assert (body["data"]["family"]["id"], body["data"]["family"]["name"]) == (family, "Rodzina 1")
    assert body["data"]["family"]["referrals"] is None


async def test_without_referrals_read_a_person_still_comes_with_an_insufficient_scope_error(
    client: httpx.AsyncClient, ops: Party, pup: Party
) -> None:
    jan = await client_of(client, ops)
    await create(client, ops, pup, person_id=jan)
    query = "query ($id: UUID!) { person(id: $id) { first_name referrals { id } } }"

    body = await gql(client, ops, query, scopes=("persons:read",), id=jan)

    error = error_of(body)
    assert error["extensions"]["code"] == "insufficient-scope"
    assert error["path"] == ["person", "referrals"]
    assert body["data"] is not None
    assert body["data"]["person"] == {"first_name": "Jan", "referrals": None}
