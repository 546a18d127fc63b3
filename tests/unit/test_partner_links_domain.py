"""Partner APIs as rules: which reported status is which action, the circuit breaker, the base URL, the wire."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.adapters.record_systems.partner_api import parse_status_item, parse_status_page
from app.domain.errors import InvalidInput
from app.domain.ids import InstitutionId
from app.domain.partner_links import (
    BreakerPolicy,
    PartnerEndpoint,
    Permit,
    check_partner_endpoint,
    status_action,
)
from app.domain.referrals import Action, ReferralStatus, TransitionNotAllowed
from app.domain.webhooks import UrlPolicy

S = ReferralStatus
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "reported", "action"),
    [
        (S.SENT, "received", Action.RECEIVE),
        (S.RECEIVED, "accepted", Action.ACCEPT),
        (S.SENT, "rejected", Action.REJECT),
        (S.RECEIVED, "rejected", Action.REJECT),
        (S.ACCEPTED, "in_progress", Action.START),
        (S.ON_HOLD, "in_progress", Action.RESUME),
        (S.IN_PROGRESS, "on_hold", Action.HOLD),
        (S.IN_PROGRESS, "completed", Action.COMPLETE),
        (S.ON_HOLD, "failed", Action.FAIL),
    ],
)
def test_a_reported_status_is_the_receivers_action_that_leads_there(
    current: ReferralStatus, reported: str, action: Action
) -> None:
    assert status_action(current, reported) is action


def test_a_status_the_lifecycle_does_not_lead_to_is_refused_naming_what_could_be_reported() -> None:
    with pytest.raises(TransitionNotAllowed) as refused:
        status_action(S.ACCEPTED, "completed")
    assert refused.value.allowed == ("failed", "in_progress")


@pytest.mark.parametrize("reported", ["sent", "cancelled", "expired", "draft", "done", ""])
def test_only_the_receivers_statuses_can_be_reported(reported: str) -> None:
    with pytest.raises(InvalidInput, match="not a status a receiving system reports"):
        status_action(S.SENT, reported)


def test_the_breaker_is_closed_until_opened_then_open_for_the_cool_down_then_allows_a_trial() -> None:
    policy = BreakerPolicy(failures_to_open=3, cooldown=timedelta(seconds=60))
    assert policy.permit(None, NOW) is Permit.CLOSED
    assert not policy.opens(2)
    assert policy.opens(3)
    assert policy.permit(NOW + timedelta(seconds=1), NOW) is Permit.OPEN
    assert policy.permit(NOW, NOW) is Permit.TRIAL


TOKEN = "t0ken"


def endpoint(base_url: str, token: str = TOKEN) -> PartnerEndpoint:
    return PartnerEndpoint(institution_id=InstitutionId(uuid.uuid4()), base_url=base_url, token=token)


PRODUCTION = UrlPolicy(allow_insecure=False, allowed_hosts=())


@pytest.mark.parametrize(
    "base_url",
    ["http://pomost.example.pl/api", "https://127.0.0.1/api", "https://192.168.1.20/", "ftp://example.pl/"],
)
def test_outside_development_the_base_url_must_be_https_to_a_public_host(base_url: str) -> None:
    with pytest.raises(InvalidInput, match="partner API of institution"):
        check_partner_endpoint(endpoint(base_url), PRODUCTION)


def test_an_allow_list_restricts_partner_hosts_too() -> None:
    policy = UrlPolicy(allow_insecure=False, allowed_hosts=("*.pomost.example.pl",))
    assert check_partner_endpoint(endpoint("https://ops.pomost.example.pl/v1"), policy)
    with pytest.raises(InvalidInput):
        check_partner_endpoint(endpoint("https://elsewhere.example.org/v1"), policy)


def test_an_endpoint_without_a_token_is_refused_and_the_token_never_shows() -> None:
    with pytest.raises(InvalidInput, match="token"):
        check_partner_endpoint(endpoint("https://pomost.example.pl/", token=""), PRODUCTION)
    assert TOKEN not in repr(endpoint("https://pomost.example.pl/"))


def test_a_malformed_status_report_is_kept_with_its_problem_and_the_rest_of_the_page_is_read() -> None:
    good = {"referral_id": str(uuid.uuid4()), "status": "received", "at": "2026-11-25T10:00:00+01:00"}
    page = parse_status_page(
        {
            "items": [
                {"referral_id": "x", "status": "received", "at": "2026-11-25T10:00:00Z"},
                {"referral_id": str(uuid.uuid4()), "status": "received", "at": "2026-11-25T10:00:00"},
                "not an object",
                good,
            ],
            "next_cursor": "4",
        }
    )
    problems = [item.problem for item in page.items]
    assert problems[3] is None
    assert all("malformed" in str(p) for p in problems[:3])
    assert "time zone" in str(problems[1])
    assert page.items[3].report is not None
    assert page.items[3].report.at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert page.next_cursor == "4"
    assert parse_status_item(good).key == parse_status_item(dict(reversed(good.items()))).key, "keyed by content"


def test_a_status_page_that_is_not_a_page_is_refused() -> None:
    with pytest.raises(ValueError, match="list of items"):
        parse_status_page({"items": "none"})


def test_event_types_of_a_partner_must_be_known() -> None:
    unknown = PartnerEndpoint(
        institution_id=InstitutionId(uuid.uuid4()),
        base_url="https://pomost.example.pl/",
        token=TOKEN,
        event_types=("referral.sent", "referral.teleported"),
    )
    with pytest.raises(InvalidInput, match=r"referral\.teleported"):
        check_partner_endpoint(unknown, PRODUCTION)
