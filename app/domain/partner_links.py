"""Partner APIs: an institution's own system reached over HTTP, to which Spójnia pushes referral envelopes and
events and from which it pulls the statuses the institution recorded. The rules here are the transport's: which
base URL may be called, when a partner that keeps failing is left alone for a while (the circuit breaker), and
which reported status is which action of a referral's lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId, ReferralId
from app.domain.referrals import RULES, Action, Party, ReferralStatus, TransitionNotAllowed
from app.domain.webhooks import UrlPolicy, check_event_types, check_webhook_url

# The actor named in a referral's history and the audit trail when a partner's system acted.
PARTNER_ACTOR = "system:partner-api"


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerEndpoint:
    """Where one institution's system listens, and the bearer token it issued to Spójnia (never shown)."""

    institution_id: InstitutionId
    base_url: str
    token: str = field(repr=False)
    timeout_seconds: float = 5.0
    event_types: tuple[str, ...] = ("*",)

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


def check_partner_endpoint(endpoint: PartnerEndpoint, policy: UrlPolicy) -> PartnerEndpoint:
    """The base URL passes the webhooks' URL policy (outside development, https to a public, allowed host); a
    token is given; the event types are known ones."""
    try:
        check_webhook_url(endpoint.base_url, policy)
    except InvalidInput as error:
        detail = error.detail.replace("webhook URLs", "partner API URLs").replace("a webhook URL", "a partner API URL")
        message = f"partner API of institution {endpoint.institution_id}: {detail}"
        raise InvalidInput(message, [FieldError("base_url", message)]) from None
    if not endpoint.token:
        message = f"partner API of institution {endpoint.institution_id}: a token is required"
        raise InvalidInput(message, [FieldError("token", message)])
    try:
        check_event_types(list(endpoint.event_types))
    except InvalidInput as error:
        message = f"partner API of institution {endpoint.institution_id}: {error.detail}"
        raise InvalidInput(message, [FieldError("event_types", message)]) from None
    return endpoint


class Permit(StrEnum):
    CLOSED = "closed"  # call freely
    TRIAL = "trial"  # the cool-down is over: one call may try whether the partner is back
    OPEN = "open"  # leave the partner alone until the cool-down ends


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """After `failures_to_open` consecutive failures, no call for `cooldown`; then one trial call decides."""

    failures_to_open: int
    cooldown: timedelta

    def permit(self, open_until: datetime | None, now: datetime) -> Permit:
        if open_until is None:
            return Permit.CLOSED
        return Permit.OPEN if now < open_until else Permit.TRIAL

    def opens(self, consecutive_failures: int) -> bool:
        return consecutive_failures >= self.failures_to_open


# What a receiving system may report, by the status it names: the receiver's actions of the lifecycle (RULES).
# Forwarding needs the next institution, which a status report does not carry; it stays a REST action.
REPORTABLE = frozenset(
    target for action, (who, _, target) in RULES.items() if who is Party.RECEIVER and action is not Action.FORWARD
)


def status_action(current: ReferralStatus, reported: str) -> Action:
    """The receiver's action that takes a referral from its current status to the one reported.

    Raises InvalidInput for a status that is not the receiver's to report, TransitionNotAllowed (naming the
    statuses that could be reported now) when the lifecycle does not lead there from the current status."""
    try:
        target = ReferralStatus(reported)
    except ValueError:
        target = None
    if target is None or target not in REPORTABLE:
        message = f"'{reported}' is not a status a receiving system reports"
        raise InvalidInput(message, [FieldError("status", message)])
    for action, (who, sources, to) in RULES.items():
        if who is Party.RECEIVER and action is not Action.FORWARD and current in sources and to is target:
            return action
    allowed = sorted(
        {
            to.value
            for action, (who, sources, to) in RULES.items()
            if who is Party.RECEIVER and action is not Action.FORWARD and current in sources
        }
    )
    raise TransitionNotAllowed(f"a {current.value} referral cannot become {target.value}", allowed)


class Decision(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the referral already had the status: a report seen before
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusDecision:
    """What became of one reported status; `reason` says why it was rejected."""

    referral_id: ReferralId | None
    status: str
    decision: Decision
    action: Action | None = None
    reason: str | None = None
