"""Webhook deliveries as integrators see them: each attempt, its answer, parking and replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from app.domain.ids import DeliveryId, EventId, SubscriptionId


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"  # every retry failed; waits for a replay


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(slots=True, kw_only=True)
class Delivery:
    id: DeliveryId
    subscription_id: SubscriptionId
    event_id: EventId
    event_type: str
    status: DeliveryStatus
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
