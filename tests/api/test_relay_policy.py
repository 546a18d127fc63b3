"""A production relay never calls a private or loopback address, whatever a subscription says.

Subscriptions are made through the API, which in tests runs with the development URL policy and so
accepts a local receiver; the relay under test is built with the production setting
`allow_private_targets=False` and must refuse to send there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.adapters.db.engine import make_session_factory
from app.adapters.events.relay import Relay
from app.bootstrap import Container
from app.domain.webhooks import RetryPolicy
from tests.builders import person_body
from tests.conftest import Party
from tests.support.receiver import WebhookReceiver

MAX_ATTEMPTS = 3


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def production_relay(container: Container) -> Relay:
    return Relay(
        make_session_factory(container.engine),
        container.http,
        retry=RetryPolicy(base_delay_ms=20, max_attempts=MAX_ATTEMPTS),
        clock=container.ctx.clock,
        allow_private_targets=False,
        timeout_seconds=2.0,
    )


async def subscribe(client: httpx.AsyncClient, party: Party, url: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-subscriptions", headers=party.headers(), json={"url": url, "event_types": ["*"]}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send_referral(client: httpx.AsyncClient, sender: Party, receiver: Party) -> None:
    person = (await client.post("/v1/persons", json=person_body(), headers=sender.headers())).json()
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


async def deliveries(client: httpx.AsyncClient, party: Party, subscription: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/webhook-subscriptions/{subscription['id']}/deliveries", headers=party.headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def local_url(receiver: WebhookReceiver, host: str) -> str:
    return receiver.url.replace("127.0.0.1", host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_production_relay_refuses_a_subscriber_that_resolves_to_loopback(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver, host: str
) -> None:
    subscription = await subscribe(client, pup, local_url(receiver, host))
    receiver.secret = subscription["secret"]
    await send_referral(client, ops, pup)
    relay = production_relay(container)

    published, attempted = await relay.run_once()

    assert (published, attempted) == (2, 1), "the created event is OPS's alone; PUP's subscription wants the sent one"
    assert receiver.requests == 0, "nothing reached the local receiver"
    [delivery] = await deliveries(client, pup, subscription)
    assert delivery["status"] != "delivered"
    assert delivery["status"] == "pending", "refused like a failed send: retried, then parked"
    [attempt] = delivery["attempts"]
    assert attempt["error"].startswith("refused")
    assert attempt["status_code"] is None


async def test_a_refused_delivery_is_parked_after_its_retries_without_ever_being_sent(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    subscription = await subscribe(client, pup, receiver.url)
    receiver.secret = subscription["secret"]
    await send_referral(client, ops, pup)
    relay = production_relay(container)

    for _ in range(100):
        await relay.run_once()
        [delivery] = await deliveries(client, pup, subscription)
        if delivery["status"] != "pending":
            break
        await asyncio.sleep(0.02)

    assert delivery["status"] == "parked"
    assert len(delivery["attempts"]) == MAX_ATTEMPTS
    assert all(a["error"].startswith("refused") for a in delivery["attempts"])
    assert receiver.requests == 0


async def test_the_same_subscription_is_served_by_a_development_relay(
    client: httpx.AsyncClient, container: Container, ops: Party, pup: Party, receiver: WebhookReceiver
) -> None:
    """The control: the receiver is reachable, so the production relay's silence is its policy."""
    subscription = await subscribe(client, pup, receiver.url)
    receiver.secret = subscription["secret"]
    await send_referral(client, ops, pup)
    await production_relay(container).run_once()
    assert receiver.requests == 0

    for _ in range(100):
        await container.relay.run_once()  # the tests' relay: development settings
        if receiver.received:
            break
        await asyncio.sleep(0.02)

    assert receiver.types() == ["referral.sent"]
    [delivery] = await deliveries(client, pup, subscription)
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [None, 204]
