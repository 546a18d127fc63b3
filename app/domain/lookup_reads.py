"""The shared-client lookup's read model: everything one lookup decides on, read at once, and its record, written
at once.

A lookup is the service's busiest call (vendors ask it while a worker waits), so its storage is asked twice: once
for the grounds (the client's window, the caller's institution, the candidates, where they are served and by whom,
the agreements and consents that could open it) and once to record what was disclosed together with the count
against the client's limit. The access policy decides in between, in the domain, as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from app.domain.audit import AuditRecord
from app.domain.ids import InstitutionId, PersonId, WorkerId
from app.domain.institutions import Institution, Worker
from app.domain.persons import Enrollment
from app.domain.sharing import Agreement, Consent
from app.domain.values import Pesel


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupKey:
    """Who is looked for: by PESEL, or (for a person without one) by names and birth date."""

    pesel: Pesel | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateWindow:
    """One client's fixed window of lookups: `per_window` of them at most."""

    bucket: str
    start: datetime
    per_window: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupGrounds:
    # Lookups the client's window held when read. At the limit nothing else is read: the candidates and what
    # follows stay empty, so a spent window costs the database one index probe whether the person exists or not.
    hits: int
    caller_institution: Institution | None
    candidates: Sequence[PersonId] = ()
    active_enrollments: Sequence[Enrollment] = ()
    institutions: Mapping[InstitutionId, Institution] = field(default_factory=dict)
    workers: Mapping[WorkerId, Worker] = field(default_factory=dict)
    agreements: Sequence[Agreement] = ()
    consents: Sequence[Consent] = ()


class LookupReads(Protocol):
    async def grounds(self, caller_institution: InstitutionId, key: LookupKey, window: RateWindow) -> LookupGrounds:
        """The grounds of one lookup; candidates, enrollments and consents only while the window is not spent.

        Enrollments are the candidates' active ones (oldest first), institutions those they are at, workers those
        named on them, agreements the caller's institution is party to that nobody ended, consents every consent
        of the candidates (oldest first)."""

    async def record(self, records: Sequence[AuditRecord], window: RateWindow) -> bool:
        """Count one lookup in the window and append its audit records, all or nothing.

        False, with nothing written, when the window was already spent (lookups at the same moment may have
        spent it since the grounds were read)."""


def folded(name: str) -> str:
    """Names compared as people write them: case and spacing aside (Polish letters fold in Python, whatever the
    database's locale)."""
    return " ".join(name.split()).casefold()
