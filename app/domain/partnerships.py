"""Local partnerships: member institutions, the coordinating team (PZKW) and the mobile team (MGI).

Roles that the rules of family work rely on come from here: only a PZKW member approves a
family programme, only member institutions are parties to its contracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId, PartnershipId, WorkerId
from app.domain.values import Teryt


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamMember:
    worker_id: WorkerId
    institution_id: InstitutionId


@dataclass(slots=True, kw_only=True)
class Partnership:
    id: PartnershipId
    name: str
    teryt: Teryt
    members: tuple[InstitutionId, ...]
    coordinating_team: tuple[TeamMember, ...] = ()  # PZKW
    mobile_team: tuple[TeamMember, ...] = ()  # MGI
    created_at: datetime = field(kw_only=True)
    version: int = 1

    def __post_init__(self) -> None:
        outsiders = [m for m in (*self.coordinating_team, *self.mobile_team) if m.institution_id not in self.members]
        if outsiders:
            raise InvalidInput(
                "team members must work at member institutions",
                [FieldError("coordinating_team", "a worker of an institution outside the partnership")],
            )
        if len(self.members) < 2:
            raise InvalidInput("a partnership has at least two institutions", [FieldError("members", "at least two")])

    def is_member(self, institution_id: InstitutionId) -> bool:
        return institution_id in self.members

    def coordinates(self, worker_id: WorkerId | None) -> bool:
        return worker_id is not None and any(m.worker_id == worker_id for m in self.coordinating_team)

    @staticmethod
    def team(members: Sequence[TeamMember]) -> tuple[TeamMember, ...]:
        return tuple(dict.fromkeys(members))
