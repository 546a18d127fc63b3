"""Webhook rules: which target URLs pass (no SSRF through Spójnia), event types, and the retry back-off."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.domain.errors import InvalidInput
from app.domain.webhooks import EVENT_TYPES, RetryPolicy, UrlPolicy, check_event_types, check_webhook_url

PRODUCTION = UrlPolicy(allow_insecure=False, allowed_hosts=())
DEVELOPMENT = UrlPolicy(allow_insecure=True, allowed_hosts=())
NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def refusal(url: str, policy: UrlPolicy = PRODUCTION) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url(url, policy)
    assert [e.field for e in refused.value.errors] == ["url"]
    return refused.value.detail


# --------------------------------------------------------------------------- production policy


def test_a_public_https_host_is_accepted_as_given() -> None:
    url = "https://hooks.pomost.example.pl/spojnia?tenant=2802011"

    assert check_webhook_url(url, PRODUCTION) == url


def test_plain_http_is_refused_in_production() -> None:
    assert "https" in refusal("http://hooks.pomost.example.pl/spojnia")


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",  # loopback
        "127.8.9.10",
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.20",
        "169.254.169.254",  # link-local: the cloud metadata service
        "0.0.0.0",  # noqa: S104 - a target under test, not a bind address
        "100.64.0.1",  # carrier-grade NAT
        "[::1]",  # IPv6 loopback
        "[fd00::1]",  # IPv6 unique local
        "[fe80::1]",  # IPv6 link-local
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "[::]",
    ],
)
def test_loopback_private_and_link_local_addresses_are_refused(host: str) -> None:
    assert "private" in refusal(f"https://{host}/hooks")
    assert "private" in refusal(f"https://{host}:8443/hooks")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.localdomain", "api.localhost"])
def test_localhost_by_name_is_refused(host: str) -> None:
    assert "private" in refusal(f"https://{host}/hooks")


@pytest.mark.parametrize(
    "host",
    [
        "localhost.",  # the fully qualified spelling of localhost
        "127.1",  # short dotted form of 127.0.0.1
        "2130706433",  # 127.0.0.1 as one decimal number
        "0x7f000001",  # ... as one hexadecimal number
        "0177.0.0.1",  # ... with an octal first byte
        "10.1",  # short form of 10.0.0.1
    ],
)
def test_other_spellings_of_loopback_and_private_addresses_are_refused(host: str) -> None:
    """The resolver and HTTP clients read these as 127.0.0.1 or 10.0.0.1, so the URL check must too."""
    refusal(f"https://{host}/hooks")


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@hooks.pomost.example.pl/spojnia",
        "https://token@hooks.pomost.example.pl/spojnia",
        "https://:secret@hooks.pomost.example.pl/spojnia",
    ],
)
def test_credentials_in_the_url_are_refused(url: str) -> None:
    assert "credentials" in refusal(url)
    assert "credentials" in refusal(url, DEVELOPMENT), "not even in development"


@pytest.mark.parametrize(
    "url", ["ftp://hooks.pomost.example.pl/spojnia", "hooks.pomost.example.pl/spojnia", "https:///spojnia", ""]
)
def test_only_absolute_http_urls_are_considered(url: str) -> None:
    refusal(url)
    refusal(url, DEVELOPMENT)


def test_with_an_allow_list_only_hosts_on_it_are_accepted() -> None:
    policy = UrlPolicy(allow_insecure=False, allowed_hosts=("*.pomost.example.pl", "partner.example.org"))

    assert check_webhook_url("https://hooks.pomost.example.pl/a", policy)
    assert check_webhook_url("https://HOOKS.Pomost.Example.PL/a", policy), "host names are case-insensitive"
    assert check_webhook_url("https://partner.example.org:8443/a", policy)
    for url in (
        "https://evil.example.com/a",
        "https://pomost.example.pl.evil.example.com/a",
        "https://hooks.pomost.example.pl.evil.example.com/a",
        "https://sub.partner.example.org/a",
    ):
        assert "allow-list" in refusal(url, policy), url


def test_an_allow_list_does_not_let_a_private_address_through() -> None:
    policy = UrlPolicy(allow_insecure=False, allowed_hosts=("*",))

    refusal("https://10.1.2.3/hooks", policy)
    refusal("https://localhost/hooks", policy)
    assert check_webhook_url("https://hooks.pomost.example.pl/a", policy)


def test_an_empty_allow_list_accepts_any_public_host() -> None:
    assert check_webhook_url("https://anything.example.com/a", PRODUCTION)
    assert check_webhook_url("https://93.184.216.34/a", PRODUCTION)


# --------------------------------------------------------------------------- development policy


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8081/hooks", "http://localhost:8081/hooks", "http://[::1]:8081/hooks", "http://10.1.2.3/"]
)
def test_development_accepts_plain_http_to_local_receivers(url: str) -> None:
    assert check_webhook_url(url, DEVELOPMENT) == url


# --------------------------------------------------------------------------- event types


def test_known_event_types_are_deduplicated_and_sorted() -> None:
    assert check_event_types(["referral.sent", "referral.completed", "referral.sent"]) == (
        "referral.completed",
        "referral.sent",
    )


def test_the_wildcard_subscribes_to_everything() -> None:
    assert check_event_types(["*"]) == ("*",)


def test_every_referral_status_change_is_an_event_type() -> None:
    assert {"referral.created", "referral.forwarded", "referral.expired"} <= EVENT_TYPES
    assert check_event_types(sorted(EVENT_TYPES)) == tuple(sorted(EVENT_TYPES))


def test_unknown_event_types_are_refused_by_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_event_types(["referral.sent", "referral.teleported", "person.*"])

    assert [e.field for e in refused.value.errors] == ["event_types"]
    assert "person.*" in refused.value.detail
    assert "referral.teleported" in refused.value.detail
    assert "referral.sent" not in refused.value.detail


def test_at_least_one_event_type_is_needed() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_event_types([])

    assert [e.field for e in refused.value.errors] == ["event_types"]


# --------------------------------------------------------------------------- retries


def delay(policy: RetryPolicy, attempts: int, rng: random.Random) -> timedelta:
    at = policy.next_attempt(attempts, NOW, rng)
    assert at is not None, attempts
    return at - NOW


def test_retries_back_off_exponentially_within_full_jitter_bounds() -> None:
    policy = RetryPolicy(base_delay_ms=1000, max_attempts=8)
    rng = random.Random(20250310)

    for attempts in range(1, policy.max_attempts):
        ceiling = timedelta(milliseconds=1000 * 2 ** (attempts - 1))
        for _ in range(50):
            assert ceiling / 2 <= delay(policy, attempts, rng) <= ceiling, attempts


def test_the_delays_grow_with_each_attempt() -> None:
    policy = RetryPolicy(base_delay_ms=500, max_attempts=10)
    rng = random.Random(7)

    delays = [delay(policy, attempts, rng) for attempts in range(1, policy.max_attempts)]

    # With jitter in [ceiling/2, ceiling] and the ceiling doubling, each delay is at least the previous one.
    assert delays == sorted(delays)
    assert delays[-1] >= timedelta(milliseconds=500 * 2**7), "the last one waits at least half of 2^8 base delays"


def test_the_same_seed_gives_the_same_schedule() -> None:
    policy = RetryPolicy(base_delay_ms=20, max_attempts=5)

    first = [policy.next_attempt(a, NOW, random.Random(42)) for a in range(1, 5)]
    again = [policy.next_attempt(a, NOW, random.Random(42)) for a in range(1, 5)]

    assert first == again


@pytest.mark.parametrize("attempts", [4, 5, 100])
def test_at_max_attempts_there_is_no_next_attempt(attempts: int) -> None:
    policy = RetryPolicy(base_delay_ms=20, max_attempts=4)

    assert policy.next_attempt(attempts, NOW, random.Random(1)) is None


def test_the_attempt_before_the_last_is_still_scheduled() -> None:
    policy = RetryPolicy(base_delay_ms=20, max_attempts=4)

    assert policy.next_attempt(3, NOW, random.Random(1)) is not None


def test_without_a_random_source_the_delay_still_stays_in_bounds() -> None:
    policy = RetryPolicy(base_delay_ms=100, max_attempts=4)

    at = policy.next_attempt(2, NOW)

    assert at is not None
    assert timedelta(milliseconds=100) <= at - NOW <= timedelta(milliseconds=200)
