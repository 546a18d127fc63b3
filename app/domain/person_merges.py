"""Merging two records of one person (typically one registered without PESEL, identified later) and undoing it.

A merge re-points every link of the merged record (enrollments, family memberships, referrals, contracts,
delivery records, consents, source records, restricted records) at the kept one and marks the merged row;
nothing is deleted for good. What moved is kept, row by row, as `LinkChange`s: enough to put every link back
exactly as it was, and to tell when something changed since in a way that makes that unsafe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from app.domain.errors import Conflict
from app.domain.ids import InstitutionId, PersonId, PersonMergeId, WorkerId
from app.domain.values import Sex


class MergeState(StrEnum):
    MERGED = "MERGED"
    UNDONE = "UNDONE"


class LinkOp(StrEnum):
    KEPT = "kept"  # a row that already named the kept person: it stays; undo leaves it
    MOVED = "moved"  # re-pointed from the merged person at the kept one
    ENDED = "ended"  # an open duplicate (enrollment, membership at the same place) ended, then moved
    SET_ASIDE = "set_aside"  # a duplicate whose key holds the person (a referral's subject): removed, kept whole
    REWRITTEN = "rewritten"  # the person's id inside a JSON or text column replaced at the recorded places


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkChange:
    """One row the merge touched, as the adapter needs it to reverse the change.

    `key` is the row's primary key without the person column, as text. `before`/`after` hold the columns
    an ENDED change set (and their old values), the whole row of a SET_ASIDE one, or for REWRITTEN the
    offsets of the replaced ids and the digest of the text after the merge. Never a PESEL: no table that
    refers to a person holds one.
    """

    op: LinkOp
    table: str
    column: str
    key: Mapping[str, str]
    before: Mapping[str, object] = field(default_factory=dict)
    after: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityMove:
    """Identifiers that went from the merged record to the kept one, which lacked them."""

    pesel: bool = False
    identity_document: bool = False
    kept_sex_before: Sex | None = None


@dataclass(slots=True, kw_only=True)
class PersonMerge:
    id: PersonMergeId
    kept_person_id: PersonId
    merged_person_id: PersonId
    institution_id: InstitutionId
    actor: str
    worker_id: WorkerId | None
    reason: str
    merged_at: datetime
    changes: Sequence[LinkChange]
    identity: IdentityMove
    state: MergeState = MergeState.MERGED
    undone_at: datetime | None = None
    undone_by: str | None = None
    undo_note: str | None = None
    version: int = 1

    def undo(self, *, by: str, note: str | None, at: datetime) -> None:
        if self.state is not MergeState.MERGED:
            raise Conflict("the merge has already been undone")
        self.state = MergeState.UNDONE
        self.undone_at, self.undone_by, self.undo_note = at, by, note
        self.version += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreCheck:
    """What stands in the way of undoing a merge: changes since that undo cannot reverse, and links recorded
    for the kept person since the merge (whose they are, nobody can tell but a worker)."""

    blockers: Sequence[str] = ()
    added_since: Mapping[str, int] = field(default_factory=dict)  # link kind -> rows


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkSummary:
    """Rows by kind of link (the table's name) that a merge moved, ended, set aside or rewrote."""

    moved: Mapping[str, int] = field(default_factory=dict)  # ended ones included
    ended: Mapping[str, int] = field(default_factory=dict)
    set_aside: Mapping[str, int] = field(default_factory=dict)
    rewritten: Mapping[str, int] = field(default_factory=dict)


class PersonLinks(Protocol):
    async def move(self, merged: PersonId, kept: PersonId, *, on: date, at: datetime) -> list[LinkChange]:
        """Re-point every row that refers to `merged` at `kept` and say what changed. Open duplicates at the same
        place are ended on `on`; the merged person's own row is not touched (the use case marks it)."""

    async def check_restore(self, merged: PersonId, kept: PersonId, changes: Sequence[LinkChange]) -> RestoreCheck:
        """Whether `restore` can put every change back exactly."""

    async def restore(self, merged: PersonId, kept: PersonId, changes: Sequence[LinkChange], *, at: datetime) -> None:
        """Reverse the changes: rows moved and ended go back as they were, rows set aside return."""

    def summary(self, changes: Sequence[LinkChange]) -> LinkSummary:
        """What a worker of the merging institution is told moved: rows by link kind, restricted kinds left out."""


class PersonMergeRepository(Protocol):
    async def add(self, merge: PersonMerge) -> None:
        """Store a merge with its changes."""

    async def get(self, merge_id: PersonMergeId) -> PersonMerge | None:
        """The merge, or None."""

    async def update(self, merge: PersonMerge, *, expected_version: int) -> None:
        """Save its state; raises StaleVersion when someone else saved first."""

    async def merged_into(self, person_id: PersonId) -> list[PersonMerge]:
        """Merges in force whose kept person is this one, oldest first."""
