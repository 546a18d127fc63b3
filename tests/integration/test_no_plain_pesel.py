"""Issue 6, item 4: no plain PESEL in the database tables, in the logs of a run, or in any event payload.

Persons are registered, read, corrected, referred from OPS to PUP and answered through the real API, with an
Idempotency-Key and a webhook delivered by the relay; then every table is dumped as text and grepped, with
every log line and every event that left the service.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.adapters.db.tables import metadata
from app.bootstrap import Container
from app.logs import JsonFormatter
from tests.builders import JAN, KACPER, MARIA, ZOFIA, make_pesel, person_body
from tests.conftest import Party
from tests.support.receiver import WebhookReceiver

LATE_PESEL = make_pesel("900402")  # given later to a person first registered without one (born 1990-04-02)
INVALID_PESEL = "85031204312"  # a checksum off by one: refused, and never echoed into a log
PESELS = (JAN, MARIA, KACPER, ZOFIA, LATE_PESEL)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON lines the service writes, as an operator's log collector would receive them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


async def dump_database(container: Container) -> dict[str, str]:
    """Every row of every table, as PostgreSQL prints it: the tables the code knows and any other in `public`."""
    async with container.engine.connect() as connection:
        listed = await connection.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        )
        names = {t.name for t in metadata.sorted_tables} | set(listed.scalars())
        dump = {}
        for name in sorted(names):
            rows = await connection.execute(text(f'SELECT t::text FROM "{name}" t'))  # noqa: S608 - catalogue names
            dump[name] = "\n".join(rows.scalars())
    return dump


async def post(client: httpx.AsyncClient, party: Party, path: str, body: dict[str, Any], **headers: str) -> Any:
    response = await client.post(path, json=body, headers=party.headers(**headers))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_no_plain_pesel_in_tables_logs_or_events(
    client: httpx.AsyncClient,
    container: Container,
    ops: Party,
    pup: Party,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
    json_log: io.StringIO,
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQL statements too: their bound values must not carry a PESEL (nor, hidden, anything else).
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    subscription = await post(client, pup, "/v1/webhook-subscriptions", {"url": receiver.url, "event_types": ["*"]})
    receiver.secret = subscription["secret"]

    # Registered at OPS, one with an Idempotency-Key and its retry; one known PESEL enrolled again by PUP.
    jan = await post(client, ops, "/v1/persons", person_body(JAN), **{"Idempotency-Key": "pomost-42"})
    replay = await client.post(
        "/v1/persons", json=person_body(JAN), headers=ops.headers(**{"Idempotency-Key": "pomost-42"})
    )
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["pesel"] == JAN
    others = [
        await post(client, ops, "/v1/persons", person_body(pesel, first_name=name))
        for pesel, name in ((MARIA, "Maria"), (KACPER, "Kacper"), (ZOFIA, "Zofia"))
    ]
    again = await post(client, pup, "/v1/persons", person_body(JAN, status="UNEMPLOYED"))
    assert again["id"] == jan["id"], "found by its PESEL, not duplicated"
    refused = await client.post("/v1/persons", json=person_body(INVALID_PESEL), headers=ops.headers())
    assert refused.status_code == 422
    assert INVALID_PESEL not in refused.text

    # A person registered without PESEL is given one; giving it someone else's is refused.
    late = await post(client, ops, "/v1/persons", person_body(None, first_name="Olena"))
    given = await client.patch(
        f"/v1/persons/{late['id']}", json={"pesel": LATE_PESEL}, headers=ops.headers(**{"If-Match": '"1"'})
    )
    assert given.status_code == 200, given.text
    taken = await client.patch(
        f"/v1/persons/{late['id']}", json={"pesel": MARIA}, headers=ops.headers(**{"If-Match": '"2"'})
    )
    assert taken.status_code in (409, 422)
    assert MARIA not in taken.text

    # Read back: one by one, listed, and over GraphQL.
    read: dict[str, str] = {}
    for person, pesel in zip([jan, *others], (JAN, MARIA, KACPER, ZOFIA), strict=True):
        read[pesel] = (await client.get(f"/v1/persons/{person['id']}", headers=ops.headers())).json()["pesel"]
    listed = (await client.get("/v1/persons", headers=ops.headers())).json()["items"]
    assert {p["pesel"] for p in listed} == set(PESELS), "the PESELs were stored, and come back to those allowed"
    assert all(read[p] == p for p in read)
    graph = await client.post(
        "/graphql",
        json={"query": "query($id: UUID!) { person(id: $id) { id firstName } }", "variables": {"id": jan["id"]}},
        headers=ops.headers(),
    )
    assert graph.status_code == 200, graph.text

    # OPS refers Jan to PUP, which answers; the relay delivers the events to PUP's webhook.
    referral = await post(
        client,
        ops,
        "/v1/referrals",
        {
            "receiver_id": str(pup.id),
            "person_id": jan["id"],
            "reason": "UNEMPLOYMENT",
            "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
            "justification": "Prosi o doradztwo zawodowe.",
            "send": True,
        },
        **{"Idempotency-Key": "ref-7"},
    )
    inbox = (await client.get(f"/v1/referrals/{referral['id']}", headers=pup.headers())).json()
    assert inbox["subjects"][0]["pesel"] == JAN, "the receiver sees the subject's PESEL in the answer"
    for action in ("receive", "accept"):
        answered = await client.post(
            f"/v1/referrals/{referral['id']}/{action}",
            json={},
            headers=pup.headers(**{"If-Match": f'"{inbox["version"]}"'}),
        )
        assert answered.status_code == 200, answered.text
        inbox = answered.json()
    await container.relay.run_once()
    feed = (await client.get("/v1/events", headers=pup.headers())).json()["items"]

    assert receiver.received, "events left the service"
    assert feed
    dump = await dump_database(container)
    everything = "\n".join(dump.values())
    assert jan["id"] in dump["persons"], "the dump holds the persons"
    assert "Maria" in dump["persons"]
    assert all(dump[name] for name in ("idempotency_keys", "events", "event_audience", "webhook_deliveries"))
    assert referral["id"] in dump["referral_subjects"] or referral["id"] in dump["referrals"]
    logs = "\n".join([caplog.text, json_log.getvalue(), *(JsonFormatter().format(record) for record in caplog.records)])
    assert '"spojnia.access"' in logs, "the run was logged"
    assert "INSERT INTO persons" in logs, "and its SQL"
    events = "\n".join([*(r.body for r in receiver.received), str(feed), dump["events"], dump["webhook_deliveries"]])

    for pesel in (*PESELS, INVALID_PESEL):
        leaks = [name for name, rows in dump.items() if pesel in rows]
        assert leaks == [], f"a plain PESEL is stored in {leaks}"
        assert pesel not in everything
        assert pesel not in logs, "a plain PESEL was logged"
        assert pesel not in events, "a plain PESEL left in an event"
