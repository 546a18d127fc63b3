"""Events that leave the service: written to the outbox with the change, delivered by the relay.

Payloads are thin (type, ids, time, status): a receiver fetches details with its own rights, so an
event never carries more than its subscriber may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from app.domain.ids import EventId, InstitutionId, new_id


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    id: EventId
    type: str
    occurred_at: datetime
    subject_type: str
    subject_id: UUID
    # Institutions entitled to learn of the event (feed and webhooks are filtered by it).
    audience: frozenset[InstitutionId]
    data: Mapping[str, str | None] = field(default_factory=dict)

    @classmethod
    def new(
        cls,
        *,
        type: str,
        at: datetime,
        subject_type: str,
        subject_id: UUID,
        audience: Iterable[InstitutionId],
        data: Mapping[str, str | None] | None = None,
    ) -> DomainEvent:
        return cls(
            id=EventId(new_id()),
            type=type,
            occurred_at=at,
            subject_type=subject_type,
            subject_id=subject_id,
            audience=frozenset(audience),
            data=dict(data or {}),
        )

    def payload(self) -> dict[str, object]:
        """What a webhook or the feed carries."""
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "subject": {"type": self.subject_type, "id": str(self.subject_id)},
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishedEvent:
    """An event with its place in the feed, given when the relay published it."""

    position: int
    event: DomainEvent
