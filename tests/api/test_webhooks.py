"""Events that leave the service: the outbox, the relay, signed webhooks to a real receiver, the feed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.adapters.db.tables import DeliveryRow
from app.bootstrap import Container, bootstrap
from app.config import Settings
from tests.builders import JAN, make_pesel, person_body
from tests.conftest import Party
from tests.support.receiver import WebhookReceiver, wait_until


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


async def subscribe(
    client: httpx.AsyncClient, party: Party, receiver: WebhookReceiver, types: list[str] | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-subscriptions",
        headers=party.headers(),
        json={"url": receiver.url, "event_types": types or ["*"]},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secret = body["secret"]
    return body


async def send_referral(client: httpx.AsyncClient, sender: Party, receiver: Party, pesel: str = JAN) -> dict[str, Any]:
    person = (await client.post("/v1/persons", json=person_body(pesel), headers=sender.headers())).json()
    response = await client.post(
        "/v1/referrals",
        headers=sender.headers(),
        json={
            "receiver_id": str(receiver.id),
            "person_id": person["id"],
            "reason": "UNEMPLOYMENT",
            "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
            "send": True,
        },
    )
    assert response.status_code == 201, response.text
    referral: dict[str, Any] = response.json()
    return referral


async def deliveries(client: httpx.AsyncClient, party: Party, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhook-subscriptions/{subscription['id']}/deliveries", headers=party.headers())
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.sqlite
async def test_a_state_change_reaches_the_subscriber_signed_and_thin(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(client, pup, receiver)
    referral = await send_referral(client, ops, pup)

    await container.relay.run_once()

    assert receiver.types() == ["referral.sent"], "PUP learns of the sending, not of OPS's draft"
    payload = receiver.received[0].payload
    assert payload["subject"] == {"type": "referral", "id": referral["id"]}
    assert payload["data"]["status"] == "sent"
    assert JAN not in receiver.received[0].body
    assert "Nowak" not in receiver.received[0].body
    listed = await deliveries(client, pup, subscription)
    assert [(d["status"], len(d["attempts"]), d["attempts"][0]["status_code"]) for d in listed] == [
        ("delivered", 1, 204)
    ]
    read_back = await client.get(f"/v1/webhook-subscriptions/{subscription['id']}", headers=pup.headers())
    assert read_back.json()["secret"] is None, "the secret is shown once, at creation"


async def test_the_receiver_rejects_a_tampered_body(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    await subscribe(client, pup, receiver)
    await send_referral(client, ops, pup)
    await container.relay.run_once()
    original = receiver.received[0]

    tampered = original.body.replace('"sent"', '"completed"')
    status = await asyncio.to_thread(receiver.post_raw, tampered, original.headers)

    assert status == 401
    assert receiver.rejected == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secret).verify(tampered, original.headers)


async def test_a_receiver_down_for_a_while_gets_the_event_when_it_returns(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(client, pup, receiver)
    receiver.failures_left = 2
    await send_referral(client, ops, pup)

    for _ in range(60):
        await container.relay.run_once()
        if receiver.received:
            break
        await asyncio.sleep(0.02)

    assert receiver.types() == ["referral.sent"]
    [delivery] = await deliveries(client, pup, subscription)
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 204]


async def test_after_the_last_retry_a_delivery_is_parked_and_can_be_replayed(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(client, pup, receiver)
    receiver.failures_left = 100
    await send_referral(client, ops, pup)

    for _ in range(100):
        await container.relay.run_once()
        [delivery] = await deliveries(client, pup, subscription)
        if delivery["status"] == "parked":
            break
        await asyncio.sleep(0.02)
    assert delivery["status"] == "parked"
    assert len(delivery["attempts"]) == container.settings.webhooks.max_attempts

    receiver.failures_left = 0
    replay = await client.post(
        f"/v1/webhook-subscriptions/{subscription['id']}/deliveries/{delivery['id']}/replay", headers=pup.headers()
    )
    assert replay.status_code == 202
    await container.relay.run_once()
    [delivery] = await deliveries(client, pup, subscription)
    assert delivery["status"] == "delivered"
    assert receiver.types() == ["referral.sent"]


async def test_two_relays_running_together_deliver_each_event_once(
    client: httpx.AsyncClient,
    container: Container,
    settings: Settings,
    ops: Party,
    pup: Party,
    receiver: WebhookReceiver,
) -> None:
    await subscribe(client, pup, receiver)
    for day in range(1, 9):
        await send_referral(client, ops, pup, make_pesel(f"8001{day:02d}"))
    second = bootstrap(settings)
    try:
        for _ in range(5):
            await asyncio.gather(container.relay.run_once(), second.relay.run_once(), container.relay.run_once())
    finally:
        await second.aclose()

    assert len(receiver.ids()) == 8
    assert len(set(receiver.ids())) == 8


async def test_a_relay_killed_mid_delivery_loses_nothing(
    client: httpx.AsyncClient,
    container: Container,
    settings: Settings,
    ops: Party,
    pup: Party,
    receiver: WebhookReceiver,
) -> None:
    subscription = await subscribe(client, pup, receiver)
    await send_referral(client, ops, pup)
    receiver.delay_seconds = 3
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": settings.database_url,
        "SPOJNIA_LOCAL_ISSUER__ENABLED": "false",
        "SPOJNIA_WEBHOOKS__RETRY_BASE_MS": "20",
        "SPOJNIA_WEBHOOKS__TIMEOUT_SECONDS": "10",
    }
    relay = await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "relay", env=env)
    try:
        await asyncio.to_thread(wait_until, lambda: receiver.requests >= 1, 20)
        relay.send_signal(signal.SIGKILL)
    finally:
        await asyncio.wait_for(relay.wait(), timeout=10)

    async with container.ctx.uow() as uow:
        status = (await uow.session.scalars(select(DeliveryRow.status))).one()  # type: ignore[attr-defined]
    assert status == "pending", "the killed relay committed nothing"

    receiver.delay_seconds = 0
    await container.relay.run_once()
    [delivery] = await deliveries(client, pup, subscription)
    assert delivery["status"] == "delivered"
    assert set(receiver.ids()) == {receiver.received[-1].headers["webhook-id"]}


async def test_the_feed_shows_each_institution_only_its_events_in_order(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, other_ops: Party
) -> None:
    referral = await send_referral(client, ops, pup)
    await client.post(
        f"/v1/referrals/{referral['id']}/receive", headers=pup.headers(**{"If-Match": f'"{referral["version"]}"'})
    )
    await container.relay.run_once()

    ops_feed = (await client.get("/v1/events", headers=ops.headers())).json()
    pup_feed = (await client.get("/v1/events", headers=pup.headers())).json()
    other_feed = (await client.get("/v1/events", headers=other_ops.headers())).json()

    assert [e["type"] for e in ops_feed["items"]] == ["referral.created", "referral.sent", "referral.received"]
    assert [e["type"] for e in pup_feed["items"]] == ["referral.sent", "referral.received"]
    assert other_feed["items"] == []
    positions = [e["position"] for e in ops_feed["items"]]
    assert positions == sorted(positions)

    again = (await client.get("/v1/events", params={"cursor": pup_feed["next_cursor"]}, headers=pup.headers())).json()
    assert again["items"] == []
    assert again["next_cursor"] == pup_feed["next_cursor"]
    assert json.dumps(pup_feed).count(str(ops.id)) == 0, "the feed does not tell who else was told"


async def test_unpublished_events_stay_out_of_the_feed_until_the_relay_runs(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party
) -> None:
    await send_referral(client, ops, pup)
    assert (await client.get("/v1/events", headers=pup.headers())).json()["items"] == []
    await container.relay.publish()
    assert len((await client.get("/v1/events", headers=pup.headers())).json()["items"]) == 1


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "http://user:pw@127.0.0.1/hook", "not a url"])
async def test_a_webhook_url_must_be_a_plain_http_url(client: httpx.AsyncClient, pup: Party, url: str) -> None:
    response = await client.post(
        "/v1/webhook-subscriptions", headers=pup.headers(), json={"url": url, "event_types": ["*"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "url"


async def test_others_subscriptions_are_not_found(
    client: httpx.AsyncClient, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(client, pup, receiver)
    assert (
        await client.get(f"/v1/webhook-subscriptions/{subscription['id']}", headers=ops.headers())
    ).status_code == 404
    assert (
        await client.delete(f"/v1/webhook-subscriptions/{subscription['id']}", headers=ops.headers())
    ).status_code == 404
    assert (
        await client.delete(f"/v1/webhook-subscriptions/{subscription['id']}", headers=pup.headers())
    ).status_code == 204


@pytest.mark.sqlite
async def test_events_published_together_are_delivered_in_the_order_they_happened(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    await subscribe(client, ops, receiver)
    referral = await send_referral(client, ops, pup)
    for action in ("receive", "accept", "start"):
        response = await client.post(
            f"/v1/referrals/{referral['id']}/{action}", headers=pup.headers(**{"If-Match": f'"{referral["version"]}"'})
        )
        referral = response.json()

    await container.relay.run_once()

    assert receiver.types() == [
        "referral.created",
        "referral.sent",
        "referral.received",
        "referral.accepted",
        "referral.in_progress",
    ]
