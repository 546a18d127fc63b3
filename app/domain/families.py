"""Families (households): members with roles, whose membership history is never erased."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.domain.clock import local_date
from app.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.ids import FamilyId, InstitutionId, MembershipId, PersonId
from app.domain.values import Teryt, clean_text


@dataclass(slots=True, kw_only=True)
class Membership:
    id: MembershipId
    family_id: FamilyId
    person_id: PersonId
    role: str
    since: date
    recorded_at: datetime
    until: date | None = None
    end_reason: str | None = None

    @property
    def current(self) -> bool:
        return self.until is None


@dataclass(slots=True, kw_only=True)
class Family:
    id: FamilyId
    name: str
    teryt: Teryt | None
    created_by: InstitutionId
    created_at: datetime
    updated_at: datetime
    memberships: list[Membership] = field(default_factory=list)
    version: int = 1

    @staticmethod
    def clean_name(name: str) -> str:
        return clean_text(name, field="name", max_length=200)

    @property
    def current_members(self) -> list[Membership]:
        return [m for m in self.memberships if m.current]

    def membership(self, membership_id: MembershipId) -> Membership:
        for m in self.memberships:
            if m.id == membership_id:
                return m
        raise NotFound("no such membership in this family")

    def add_member(
        self, *, membership_id: MembershipId, person_id: PersonId, role: str, since: date, at: datetime
    ) -> Membership:
        if any(m.person_id == person_id for m in self.current_members):
            raise Conflict("the person is already a member of this family")
        membership = Membership(
            id=membership_id, family_id=self.id, person_id=person_id, role=role, since=since, recorded_at=at
        )
        self.memberships.append(membership)
        self._changed(at)
        return membership

    def change_role(
        self, *, membership_id: MembershipId, new_membership_id: MembershipId, role: str, on: date, at: datetime
    ) -> Membership:
        """Ends the current membership and opens one with the new role, so the history shows both."""
        old = self._current(membership_id)
        if old.role == role:
            raise Conflict("the member already has this role")
        self._close(old, on=on, reason="ROLE_CHANGED", at=at)
        new = Membership(
            id=new_membership_id, family_id=self.id, person_id=old.person_id, role=role, since=on, recorded_at=at
        )
        self.memberships.append(new)
        self._changed(at)
        return new

    def end_membership(self, *, membership_id: MembershipId, on: date, reason: str, at: datetime) -> Membership:
        membership = self._current(membership_id)
        self._close(membership, on=on, reason=reason, at=at)
        self._changed(at)
        return membership

    def rename(self, *, name: str | None, teryt: Teryt | None, at: datetime) -> None:
        if name is not None:
            self.name = self.clean_name(name)
        if teryt is not None:
            self.teryt = teryt
        self._changed(at)

    def _current(self, membership_id: MembershipId) -> Membership:
        membership = self.membership(membership_id)
        if not membership.current:
            raise Conflict("the membership has already ended")
        return membership

    @staticmethod
    def _close(membership: Membership, *, on: date, reason: str, at: datetime) -> None:
        if on < membership.since:
            raise InvalidInput("a membership cannot end before it began", [FieldError("on", "before since")])
        if on > local_date(at):
            raise InvalidInput("a membership ends on the day it ends, not ahead", [FieldError("on", "in the future")])
        membership.until = on
        membership.end_reason = reason

    def _changed(self, at: datetime) -> None:
        self.updated_at = at
        self.version += 1
