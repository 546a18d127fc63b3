"""Partner APIs: the HTTP adapter and the partner relay against a real local server imitating a vendor's system.

The vendor (tests/support/vendor.py) can be down, slow or answering 500; whatever it does, each referral sent
to its institution ends up there once (none lost, none twice), every request follows the published contract
(openapi/partner/openapi.json), and the statuses it reports move referrals only where their lifecycle allows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select, update

from app.adapters.db.engine import make_session_factory
from app.adapters.db.partner_store import partner_states, replay_parked
from app.adapters.db.partner_tables import (
    PartnerAttemptRow,
    PartnerCursorRow,
    PartnerDeliveryRow,
    PartnerStatusReportRow,
)
from app.adapters.events.partner_relay import PartnerRelay, build_partner_relay
from app.adapters.record_systems.partner_api import HttpRecordSystem
from app.adapters.record_systems.partner_contract import partner_openapi
from app.bootstrap import Container
from app.config import PartnerApi, Settings
from app.domain.code_lists import default_code_lists
from app.domain.errors import InvalidInput
from app.domain.ids import ContractId, InstitutionId, PersonId
from app.domain.partner_links import BreakerPolicy, PartnerEndpoint, Permit
from app.domain.record_systems import ContractActionSummary
from app.domain.services import sharing
from app.domain.webhooks import RetryPolicy
from tests.builders import JAN, make_pesel, person_body
from tests.conftest import Party
from tests.fakes import FixedClock
from tests.sharing_support import system_caller
from tests.support.vendor import FakeVendor, VendorRequest

TIMEOUT = 0.5  # seconds the relay waits for the vendor; the slow vendor takes longer
CONTRACT = partner_openapi()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    server = FakeVendor().start()
    yield server
    server.stop()


def make_relay(
    container: Container,
    vendor: FakeVendor,
    partner: Party,
    *,
    clock: Any = None,
    breaker_failures: int = 100,
    cooldown: timedelta = timedelta(seconds=60),
    max_attempts: int = 10,
) -> PartnerRelay:
    endpoint = PartnerEndpoint(
        institution_id=partner.id, base_url=vendor.url, token=vendor.token, timeout_seconds=TIMEOUT
    )
    system = HttpRecordSystem(endpoint, container.http, container.ctx.codes, allow_private_targets=True)
    return PartnerRelay(
        make_session_factory(container.engine),
        container.ctx,
        {partner.id: system},
        retry=RetryPolicy(base_delay_ms=20, max_attempts=max_attempts),
        breaker=BreakerPolicy(failures_to_open=breaker_failures, cooldown=cooldown),
        clock=clock or container.ctx.clock,
        status_poll=timedelta(milliseconds=10),
        publish=container.relay.publish,
    )


async def send_referral(client: httpx.AsyncClient, sender: Party, receiver: Party, pesel: str = JAN) -> dict[str, Any]:
    status = "UNEMPLOYED" if sender.key == "pup" else "BENEFIT_RECIPIENT"
    registered = await client.post("/v1/persons", json=person_body(pesel, status=status), headers=sender.headers())
    assert registered.status_code == 201, registered.text
    person = registered.json()
    response = await client.post(
        "/v1/referrals",
        headers=sender.headers(),
        json={
            "receiver_id": str(receiver.id),
            "person_id": person["id"],
            "reason": "UNEMPLOYMENT",
            "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
            "justification": "Prosi o doradztwo zawodowe.",
            "send": True,
        },
    )
    assert response.status_code == 201, response.text
    referral: dict[str, Any] = response.json()
    return referral


async def read(client: httpx.AsyncClient, party: Party, referral_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/referrals/{referral_id}", headers=party.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rounds(relay: PartnerRelay, until: Callable[[], bool], limit: int = 150) -> None:
    for _ in range(limit):
        await relay.run_once()
        if until():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition was not met in time")


async def deliveries(container: Container) -> list[dict[str, Any]]:
    """Each delivery with the status codes (None: no answer) of its attempts, in feed order."""
    async with make_session_factory(container.engine)() as session:
        rows = list(await session.scalars(select(PartnerDeliveryRow).order_by(PartnerDeliveryRow.position)))
        attempts = list(await session.scalars(select(PartnerAttemptRow).order_by(PartnerAttemptRow.at)))
    return [
        {
            "id": str(r.id),
            "kind": r.kind,
            "type": r.event_type,
            "subject": str(r.subject_id),
            "status": r.status,
            "codes": [a.status_code for a in attempts if a.delivery_id == r.id],
            "errors": [a.error for a in attempts if a.delivery_id == r.id],
        }
        for r in rows
    ]


def validator(schema_name: str) -> Draft202012Validator:
    """The contract's schema, closed: a property the adapter sends but the contract does not name fails too."""

    def closed(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: closed(v) for k, v in node.items()}
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
        elif isinstance(node, list):
            node = [closed(v) for v in node]
        return node

    root = {"$ref": f"#/components/schemas/{schema_name}", "components": closed(CONTRACT["components"])}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_follows_contract(request: VendorRequest) -> None:
    """Method, path, headers and body as openapi/partner/openapi.json describes them."""
    template = {
        ("PUT", "referrals"): ("/referrals/{referral_id}", "ReferralEnvelope"),
        ("POST", "events"): ("/events", "Event"),
        ("GET", "referral-statuses"): ("/referral-statuses", None),
    }[(request.method, request.path.split("/")[1])]
    operation = CONTRACT["paths"][template[0]][request.method.lower()]
    assert request.headers["authorization"].startswith("Bearer ")
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = CONTRACT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "header" and parameter["required"]:
            assert parameter["name"].lower() in request.headers, parameter["name"]
    if template[1] is not None:
        errors = sorted(validator(template[1]).iter_errors(request.body), key=str)
        assert not errors, [e.message for e in errors]
        assert request.headers["content-type"] == "application/json"


def put_keys(vendor: FakeVendor, referral_id: str) -> list[str | None]:
    return [r.key for r in vendor.made("PUT", f"/referrals/{referral_id}")]


# delivered once when up ----------------------------------------------------------------------------------


@pytest.mark.sqlite
async def test_a_referral_sent_to_a_partner_is_put_there_once_as_its_receiver_reads_it(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)

    await rounds(relay, lambda: bool(vendor.referrals))
    for _ in range(3):
        await relay.run_once()

    [put] = vendor.made("PUT")
    [delivery] = await deliveries(container)
    assert put.path == f"/referrals/{referral['id']}"
    assert put.key == delivery["id"], "the Idempotency-Key of an envelope is its delivery's id"
    assert put.headers["authorization"] == f"Bearer {vendor.token}"
    assert put.headers["spojnia-institution"] == str(pup.id)
    assert_follows_contract(put)
    envelope = vendor.referrals[referral["id"]]
    shown = await read(client, pup, referral["id"])
    assert [{k: s[k] for k in ("person_id", "first_name", "last_name")} for s in envelope["subjects"]] == [
        {k: s[k] for k in ("person_id", "first_name", "last_name")} for s in shown["subjects"]
    ], "the envelope shows the receiver what it reads over REST"
    assert envelope["subjects"][0]["pesel"] == JAN
    assert envelope["justification"] == shown["justification"]
    assert (envelope["status"], envelope["receiver_id"], envelope["sender_id"]) == ("sent", str(pup.id), str(ops.id))
    assert delivery | {"id": None} == {
        "id": None,
        "kind": "envelope",
        "type": "referral.sent",
        "subject": referral["id"],
        "status": "delivered",
        "codes": [204],
        "errors": [None],
    }


async def test_other_events_are_posted_after_the_envelope_keyed_by_the_event_id(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)
    cancelled = await client.post(
        f"/v1/referrals/{referral['id']}/cancel",
        json={},
        headers=ops.headers(**{"If-Match": f'"{referral["version"]}"'}),
    )
    assert cancelled.status_code == 200, cancelled.text

    await rounds(relay, lambda: bool(vendor.events))

    assert [(r.method, r.path) for r in vendor.requests if r.method != "GET"] == [
        ("PUT", f"/referrals/{referral['id']}"),
        ("POST", "/events"),
    ], "deliveries about one referral go in the order the events happened"
    event = vendor.made("POST")[0]
    assert_follows_contract(event)
    assert event.key == event.body["id"]
    assert (event.body["type"], event.body["subject"]["id"]) == ("referral.cancelled", referral["id"])
    assert vendor.referrals[referral["id"]]["status"] == "cancelled", "the envelope is built when it is sent"
    assert JAN not in json.dumps(event.body), "events stay thin"


async def test_the_envelope_passes_the_access_policy_when_it_is_sent_not_when_it_was_queued(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    vendor.stop()
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)
    await relay.run_once()  # queued, and tried while the vendor is down
    async with container.ctx.uow() as uow:
        [agreement] = await uow.agreements.not_ended(ops.id)
    await sharing.end_agreement(
        container.ctx, system_caller(ops.id), agreement.id, agreement.version, "koniec współpracy"
    )
    vendor.start()

    await rounds(relay, lambda: bool(vendor.referrals))

    envelope = vendor.referrals[referral["id"]]
    assert envelope["subjects"] == [], "with the agreement ended the receiver may no longer be told who it is"
    assert (await read(client, pup, referral["id"]))["subjects"] == []
    assert "Nowak" not in json.dumps(envelope)
    assert JAN not in json.dumps(envelope)


# down, slow, 500 -----------------------------------------------------------------------------------------


async def test_a_partner_down_for_a_while_gets_every_referral_once_when_it_is_back(
    client: httpx.AsyncClient,
    container: Container,
    ops: Party,
    pup: Party,
    vendor: FakeVendor,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    vendor.stop()
    relay = make_relay(container, vendor, pup)
    sent = [await send_referral(client, ops, pup, make_pesel(f"8001{day:02d}")) for day in range(1, 4)]

    for _ in range(5):
        await relay.run_once()
        await asyncio.sleep(0.03)
    waiting = await deliveries(container)
    assert {d["status"] for d in waiting} == {"pending"}
    assert all(d["codes"] and set(d["codes"]) == {None} for d in waiting), "tried, and no answer"
    assert "ConnectError" in waiting[0]["errors"][0]

    vendor.start()
    await rounds(relay, lambda: len(vendor.referrals) == 3)
    for _ in range(3):
        await relay.run_once()

    assert sorted(vendor.referrals) == sorted(r["id"] for r in sent), "none lost"
    assert len(vendor.made("PUT")) == 3, "none twice: nothing is sent again once answered"
    assert {d["status"] for d in await deliveries(container)} == {"delivered"}
    assert vendor.token not in caplog.text, "the partner's token is never logged"


async def test_a_slow_partner_times_out_and_the_retry_carries_the_same_key(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    vendor.slow_requests, vendor.delay_seconds = 1, TIMEOUT * 3
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)

    await relay.run_once()
    [delivery] = await deliveries(container)
    assert (delivery["status"], delivery["codes"]) == ("pending", [None])
    assert "Timeout" in delivery["errors"][0]
    await asyncio.sleep(TIMEOUT * 3)  # the vendor applies the request it answered too late
    assert referral["id"] in vendor.referrals

    await rounds(relay, lambda: len(vendor.made("PUT")) == 2)
    [delivery] = await deliveries(container)

    assert delivery["status"] == "delivered"
    assert delivery["codes"] == [None, 204]
    keys = put_keys(vendor, referral["id"])
    assert keys == [delivery["id"], delivery["id"]], "the vendor sees the retry as the same request"
    assert vendor.applied.count(delivery["id"]) == 1
    assert list(vendor.referrals) == [referral["id"]], "one envelope per referral"


@pytest.mark.sqlite
async def test_a_partner_answering_500_gets_it_on_the_retry_and_applies_it_once(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    vendor.failures_left, vendor.failing_method = 2, "PUT"
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)

    await rounds(relay, lambda: bool(vendor.referrals))
    for _ in range(3):
        await relay.run_once()

    [delivery] = await deliveries(container)
    assert (delivery["status"], delivery["codes"]) == ("delivered", [500, 500, 204])
    assert put_keys(vendor, referral["id"]) == [delivery["id"]] * 3
    assert [r.answer for r in vendor.made("PUT")] == [500, 500, 204]
    assert list(vendor.referrals) == [referral["id"]]
    for request in vendor.made("PUT"):
        assert_follows_contract(request)


async def test_two_relays_at_once_send_each_envelope_once(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    first, second = make_relay(container, vendor, pup), make_relay(container, vendor, pup)
    for day in range(1, 7):
        await send_referral(client, ops, pup, make_pesel(f"8002{day:02d}"))

    for _ in range(4):
        await asyncio.gather(first.run_once(), second.run_once(), first.run_once())

    assert len(vendor.referrals) == 6
    assert len(vendor.made("PUT")) == 6, "each delivery was claimed by one relay"
    assert len({r.key for r in vendor.made("PUT")}) == 6


async def test_after_the_last_attempt_a_delivery_is_parked_and_can_be_replayed(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    vendor.failures_left = 100
    relay = make_relay(container, vendor, pup, max_attempts=3)
    await send_referral(client, ops, pup)
    await rounds(relay, lambda: len(vendor.made("PUT")) == 3)
    await relay.run_once()
    [delivery] = await deliveries(container)
    assert (delivery["status"], delivery["codes"]) == ("parked", [500, 500, 500])

    vendor.failures_left = 0
    assert await replay_parked(make_session_factory(container.engine), pup.id, container.ctx.clock.now()) == 1
    await rounds(relay, lambda: bool(vendor.referrals))
    [delivery] = await deliveries(container)
    assert delivery["status"] == "delivered"


# the circuit breaker -------------------------------------------------------------------------------------


async def test_the_circuit_opens_after_failures_in_a_row_and_a_trial_closes_it_after_the_cool_down(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    clock = FixedClock(datetime.now(UTC))
    cooldown = timedelta(seconds=60)
    relay = make_relay(container, vendor, pup, clock=clock, breaker_failures=3, cooldown=cooldown)
    other_process = make_relay(container, vendor, pup, clock=clock, breaker_failures=3, cooldown=cooldown)
    sent = [await send_referral(client, ops, pup, make_pesel(f"8003{day:02d}")) for day in range(1, 6)]
    vendor.failures_left = 1000

    await relay.run_once()
    assert len(vendor.made("PUT")) == 3, "three failures in a row open the circuit: the other two wait, unattempted"
    [state] = await partner_states(make_session_factory(container.engine), [pup.id], relay.breaker_policy, clock.now())
    assert (state.breaker, state.consecutive_failures, state.pending) == (Permit.OPEN, 3, 5)

    clock.advance(timedelta(seconds=30))  # the retries are due, the cool-down is not over
    await relay.run_once()
    await other_process.run_once()
    assert len(vendor.made("PUT")) == 3, "no relay process calls a partner whose circuit is open"

    clock.advance(timedelta(seconds=31))
    await asyncio.gather(relay.run_once(), other_process.run_once())
    assert len(vendor.made("PUT")) == 4, "after the cool-down, one trial call, by one process"
    assert (await relay.breaker.permit(pup.id, hold=timedelta(0))) is Permit.OPEN, "the failed trial reopens it"

    vendor.failures_left = 0
    clock.advance(timedelta(seconds=61))
    await relay.run_once()
    assert len(vendor.made("PUT")) == 5
    assert vendor.made("PUT")[-1].answer == 204, "the trial succeeds: closed"
    assert (await relay.breaker.permit(pup.id, hold=timedelta(0))) is Permit.CLOSED
    for _ in range(5):
        clock.advance(timedelta(seconds=5))
        await relay.run_once()

    assert sorted(vendor.referrals) == sorted(r["id"] for r in sent)
    assert {d["status"] for d in await deliveries(container)} == {"delivered"}
    assert len(vendor.applied) == 5


# statuses pulled back ------------------------------------------------------------------------------------


async def reports(container: Container) -> list[tuple[str, str, str | None]]:
    async with make_session_factory(container.engine)() as session:
        rows = await session.scalars(select(PartnerStatusReportRow).order_by(PartnerStatusReportRow.received_at))
        return [(r.status, r.decision, r.reason) for r in rows]


async def until_reported(relay: PartnerRelay, container: Container, count: int) -> None:
    for _ in range(100):
        await relay.run_once()
        if len(await reports(container)) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the reports were not pulled in time")


@pytest.mark.sqlite
async def test_pulled_statuses_move_the_referral_and_an_impossible_one_is_refused_and_logged(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    relay = make_relay(container, vendor, pup)
    referral = await send_referral(client, ops, pup)
    theirs = await send_referral(client, pup, ops, make_pesel("800401"))  # PUP is its sender, not its receiver
    await rounds(relay, lambda: bool(vendor.referrals))

    vendor.report(referral["id"], "received")
    vendor.report(referral["id"], "accepted", note="Termin doradztwa: 12 maja")
    await until_reported(relay, container, 2)
    accepted = await read(client, ops, referral["id"])
    assert accepted["status"] == "accepted"
    assert [h["action"] for h in accepted["history"]][-2:] == ["receive", "accept"]

    vendor.report(referral["id"], "completed", outcome_kind="EMPLOYED_OPEN_MARKET")  # not from accepted
    vendor.statuses.append({"referral_id": "not-a-uuid", "status": "accepted", "at": "2026-11-25T10:00:00+01:00"})
    vendor.report(str(uuid.uuid4()), "received")
    vendor.report(theirs["id"], "received")
    vendor.report(referral["id"], "in_progress")
    await until_reported(relay, container, 7)

    assert (await read(client, ops, referral["id"]))["status"] == "in_progress", "a refused report stops nothing"
    decided = await reports(container)
    assert [(status, decision) for status, decision, _ in decided] == [
        ("received", "applied"),
        ("accepted", "applied"),
        ("completed", "rejected"),
        ("accepted", "rejected"),
        ("received", "rejected"),
        ("received", "rejected"),
        ("in_progress", "applied"),
    ]
    reasons = [reason for _, decision, reason in decided if decision == "rejected"]
    assert "cannot become completed" in str(reasons[0])
    assert "in_progress" in str(reasons[0]), "the reason names what could be reported now"
    assert "malformed" in str(reasons[1])
    assert "no such referral" in str(reasons[2])
    assert "no such referral" in str(reasons[3]) or "receiver" in str(reasons[3])
    for request in vendor.made("GET"):
        assert_follows_contract(request)

    # The same page again (a vendor that lost its place): nothing is applied twice.
    async with make_session_factory(container.engine)() as session, session.begin():
        await session.execute(update(PartnerCursorRow).values(status_cursor=None, next_pull_at=None))
    history = (await read(client, ops, referral["id"]))["history"]
    await relay.run_once()
    assert (await read(client, ops, referral["id"]))["history"] == history
    assert len(await reports(container)) == 7


async def test_the_adapter_pulls_changes_and_pushes_contract_actions_as_the_contract_says(
    vendor: FakeVendor,
) -> None:
    endpoint = PartnerEndpoint(
        institution_id=InstitutionId(uuid.uuid4()), base_url=vendor.url, token=vendor.token, timeout_seconds=TIMEOUT
    )
    async with httpx.AsyncClient() as http:
        system = HttpRecordSystem(endpoint, http, default_code_lists(), allow_private_targets=True)
        changes = await system.pull_changes(None)
        await system.push_contract_actions(
            [
                ContractActionSummary(
                    contract_id=ContractId(uuid.uuid4()),
                    action="Udział w szkoleniu zawodowym",
                    responsible_institution_id=endpoint.institution_id,
                    due=date(2026, 12, 31),
                    person_ids=(PersonId(uuid.uuid4()),),
                )
            ]
        )

    assert (changes.persons, changes.next_cursor) == ([], None)
    [pushed] = vendor.made("POST", "/contract-actions")
    assert pushed.key is not None
    assert not list(validator("ContractActions").iter_errors(pushed.body))
    assert system.to_shared_code("OutcomeKind", "EMPLOYED_OPEN_MARKET") == "EMPLOYED_OPEN_MARKET"
    with pytest.raises(InvalidInput):
        system.to_vendor_code("OutcomeKind", "HIRED")


# wiring --------------------------------------------------------------------------------------------------


def test_partner_apis_come_from_the_environment_and_the_token_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    institution = uuid.uuid4()
    monkeypatch.setenv(
        "SPOJNIA_PARTNER_APIS",
        json.dumps({str(institution): {"base_url": "https://pomost.example.pl/api", "token": "s3cret-token"}}),
    )
    settings = Settings()
    api = settings.partner_apis[institution]
    assert (api.base_url, api.token.get_secret_value(), api.timeout_seconds) == (
        "https://pomost.example.pl/api",
        "s3cret-token",
        5.0,
    )
    assert "s3cret-token" not in repr(settings)
    endpoint = PartnerEndpoint(institution_id=InstitutionId(institution), base_url=api.base_url, token="s3cret-token")
    assert "s3cret-token" not in repr(endpoint)


@pytest.mark.parametrize(
    "base_url",
    ["http://pomost.example.pl/api", "https://10.0.0.5/api", "https://localhost/api", "https://u:p@example.pl/"],
)
async def test_outside_development_a_partner_url_must_pass_the_webhooks_url_policy(
    container: Container, settings: Settings, base_url: str
) -> None:
    production = settings.model_copy(
        update={
            "environment": "production",
            "partner_apis": {uuid.uuid4(): PartnerApi.model_validate({"base_url": base_url, "token": "t"})},
        }
    )
    with pytest.raises(InvalidInput, match="partner API of institution"):
        build_partner_relay(production, make_session_factory(container.engine), container.ctx, container.http)


async def test_the_sync_command_delivers_with_the_partners_of_the_settings(
    client: httpx.AsyncClient, container: Container, settings: Settings, ops: Party, pup: Party, vendor: FakeVendor
) -> None:
    referral = await send_referral(client, ops, pup)
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": settings.database_url,
        "SPOJNIA_LOCAL_ISSUER__ENABLED": "false",
        "SPOJNIA_PARTNER_APIS": json.dumps({str(pup.id): {"base_url": vendor.url, "token": vendor.token}}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "partners",
        "sync",
        "--once",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    assert "queued 1 deliveries, attempted 1" in out.decode()
    assert list(vendor.referrals) == [referral["id"]]
