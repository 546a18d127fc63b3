"""Webhook subscriptions and the rules a target URL must pass (no SSRF through Spójnia)."""

from __future__ import annotations

import base64
import ipaddress
import random
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatch
from urllib.parse import urlsplit

from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId, SubscriptionId

EVENT_TYPES = frozenset(
    f"referral.{s}"
    for s in (
        "created",
        "sent",
        "received",
        "accepted",
        "rejected",
        "in_progress",
        "on_hold",
        "completed",
        "failed",
        "cancelled",
        "expired",
        "forwarded",
    )
) | {"person.merged", "person.merge_undone"}


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlPolicy:
    """Development allows http and loopback; production wants https to an allowed public host."""

    allow_insecure: bool
    allowed_hosts: tuple[str, ...]  # glob patterns, e.g. "*.pomost.example.pl"; empty = any public host


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, [FieldError("url", message)])


def is_private_address(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if re.fullmatch(r"[0-9a-fx.]+", name):
            # Resolvers also read 127.1, 2130706433, 0x7f000001 and 0177.0.0.1 as IPv4 addresses.
            try:
                address = ipaddress.IPv4Address(socket.inet_aton(name))
            except OSError:
                return False
        else:
            return name in {"localhost", "localhost.localdomain"} or name.endswith(".localhost")
    return not address.is_global


def check_webhook_url(url: str, policy: UrlPolicy) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _bad("the URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise _bad("credentials do not belong in a webhook URL; use the signing secret")
    if policy.allow_insecure:
        return url
    if parts.scheme != "https":
        raise _bad("webhook URLs must use https")
    if is_private_address(parts.hostname):
        raise _bad("webhook URLs may not point at loopback or private addresses")
    if policy.allowed_hosts and not any(fnmatch(parts.hostname.lower(), p.lower()) for p in policy.allowed_hosts):
        raise _bad("the host is not on the administrator's allow-list")
    return url


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_event_types(types: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(types) - EVENT_TYPES - {"*"})
    if unknown or not types:
        message = f"unknown event types: {', '.join(unknown)}" if unknown else "name at least one event type"
        raise InvalidInput(message, [FieldError("event_types", message)])
    return tuple(sorted(set(types)))


@dataclass(slots=True, kw_only=True)
class Subscription:
    id: SubscriptionId
    institution_id: InstitutionId
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_at: datetime
    active: bool = True

    def wants(self, event_type: str) -> bool:
        return self.active and ("*" in self.event_types or event_type in self.event_types)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    base_delay_ms: int
    max_attempts: int

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random | None = None) -> datetime | None:
        """Exponential back-off with full jitter; None when the delivery is to be parked."""
        if attempts >= self.max_attempts:
            return None
        ceiling = self.base_delay_ms * (2 ** (attempts - 1))
        jitter = (rng or random.SystemRandom()).uniform(ceiling / 2, ceiling)
        return now + timedelta(milliseconds=jitter)
