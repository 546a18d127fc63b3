"""Where the links of a merged person's record live now, and what a read of such a record answers."""

from __future__ import annotations

from app.domain.caller import Caller
from app.domain.errors import NotFound
from app.domain.persons import Person
from app.domain.ports import UnitOfWork

# A merged record may itself have been kept by a later merge; no chain is longer than this in practice.
_MAX_CHAIN = 20


async def follow_merges(uow: UnitOfWork, person: Person | None) -> Person | None:
    """The record a person's links live on now: the person, or the one their record was merged into."""
    for _ in range(_MAX_CHAIN):
        if person is None or person.merged_into is None:
            return person
        person = await uow.persons.get(person.merged_into)
    return person


async def merged_record_hint(uow: UnitOfWork, caller: Caller, person: Person) -> NotFound:
    """What a read of a merged record answers: 404, naming the kept record only to an institution that may see it."""
    kept = await follow_merges(uow, person)
    if kept is not None and kept.id != person.id and await uow.persons.visible_to(kept.id, caller.institution_id):
        return NotFound(f"this record was merged into another; read /v1/persons/{kept.id}")
    return NotFound("no such person")
