"""`FileRecordSystem`: the RecordSystem port over an exchange folder that an institution's system (POMOST Std,
TT-Pomoc, Syriusz Std, a spreadsheet) reads and writes on a schedule, in its profile's layout.

    <exchange dir>/<institution id>/
        in/changes/     its exports of persons, statuses and households (CSV, XLSX or XML)
        in/statuses/    referrals files in the profile's referrals layout, their status column updated
        out/referrals/  the envelopes Spójnia hands it; out/contract-actions/ the actions it is responsible for

Files are read in the order of their names, which is the order they were written when the system puts a
timestamp in them (every scheduled export does: `osoby-20261203-0700.csv`); the cursor is the name of the last
file read, so a file is read once, and again only while its import is refused. Spójnia never deletes a file
there: what the institution keeps, and how long, is its own file plan's. Files are written whole or not at
all (written aside, then renamed), so the system never loads half of one.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from app.adapters.record_systems.changes import WHOLE_FILE, changes_of_rows
from app.adapters.record_systems.exports import contract_actions_csv, read_referrals, referrals_csv
from app.adapters.record_systems.profiles import Profile
from app.adapters.record_systems.readers import FORMATS, FileProblem, read_rows
from app.adapters.record_systems.rows import check_rows
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import PersonId
from app.domain.record_systems import (
    ChangeBatch,
    ContractActionSummary,
    RecordSystemKind,
    ReferralEnvelope,
    Reject,
    StatusReport,
)

# How long a file must stand unchanged before it is read: a system may still be writing it.
SETTLE_SECONDS = 60.0

# The institution's own ids of persons (its source records), by Spójnia person id: what its system loads by.
OwnRefs = Callable[[Sequence[PersonId]], Awaitable[Mapping[PersonId, str]]]


async def _no_own_refs(_: Sequence[PersonId]) -> Mapping[PersonId, str]:
    return {}


class FileRecordSystem:
    """One institution's exchange folder, read and written with its profile."""

    def __init__(
        self,
        kind: RecordSystemKind,
        profile: Profile,
        folder: Path,
        *,
        own_refs: OwnRefs = _no_own_refs,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.kind = kind
        self.profile = profile
        self.folder = folder
        self.own_refs = own_refs
        self.settle_seconds = settle_seconds

    def __repr__(self) -> str:
        return f"FileRecordSystem({self.kind.value}, {str(self.folder)!r})"

    def _next_file(self, where: str, since: str | None) -> Path | None:
        folder = self.folder / "in" / where
        if not folder.is_dir():
            return None
        names = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower().lstrip(".") in FORMATS
        )
        after = [name for name in names if since is None or name > since]
        if not after:
            return None
        first = folder / after[0]
        # A file changed a moment ago may still be being written: it waits for the next pull, and so do the files
        # after it, which keeps the order.
        if time.time() - first.stat().st_mtime < self.settle_seconds:
            return None
        return first

    async def pull_changes(self, since: str | None) -> ChangeBatch:
        """The next export after the cursor, checked with the profile; a file that cannot be read at all is one
        reject (so an all-or-nothing pull stops at it until it is replaced)."""
        path = self._next_file("changes", since)
        if path is None:
            return ChangeBatch(next_cursor=since)
        data = await asyncio.to_thread(path.read_bytes)
        try:
            _, raws = read_rows(data, path.name, self.profile)
        except FileProblem as problem:
            reject = Reject(line=problem.line, field=WHOLE_FILE, reason=problem.message)
            return ChangeBatch(next_cursor=path.name, rejects=[reject], source=path.name)
        return changes_of_rows(check_rows(raws, self.profile), next_cursor=path.name, source=path.name)

    async def pull_statuses(self, since: str | None) -> tuple[Sequence[StatusReport], str | None]:
        """The statuses of the next referrals file after the cursor, as of the moment the file was written;
        FileProblem when it cannot be read (the cursor stays, so nothing in it is skipped)."""
        path = self._next_file("statuses", since)
        if path is None:
            return [], since
        data = await asyncio.to_thread(path.read_bytes)
        written = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        try:
            envelopes = read_referrals(data, self.profile)
        except (FileProblem, ValueError) as problem:
            line, message = (problem.line, problem.message) if isinstance(problem, FileProblem) else (1, str(problem))
            raise FileProblem(line, f"{path.name}: {message}") from None
        # A status the profile does not know goes on as it is, to be refused (and said) rather than dropped.
        return [StatusReport(referral_id=e.referral_id, status=e.status, at=written) for e in envelopes], path.name

    async def push_referral(self, envelope: ReferralEnvelope) -> None:
        """The envelope as a referrals file of its own; the same referral again replaces its file."""
        # An envelope names its persons by their Spójnia id (in SourcePerson.external_ref).
        ids = [PersonId(UUID(s.external_ref)) for s in envelope.subjects]
        data = referrals_csv([envelope], await self.own_refs(ids), self.profile)
        await asyncio.to_thread(self._write, "referrals", f"referral-{envelope.referral_id}.csv", data)

    async def push_contract_actions(self, actions: Sequence[ContractActionSummary]) -> None:
        ids = list(dict.fromkeys(p for a in actions for p in a.person_ids))
        data = contract_actions_csv(actions, await self.own_refs(ids), self.profile)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        await asyncio.to_thread(self._write, "contract-actions", f"contract-actions-{stamp}.csv", data)

    def _write(self, where: str, name: str, data: bytes) -> None:
        folder = self.folder / "out" / where
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f".{name}.part"
        aside.write_bytes(data)
        os.replace(aside, folder / name)

    def to_shared_code(self, code_list: str, vendor_code: str) -> str:
        shared = self.profile.to_shared_code(code_list, vendor_code)
        if shared is None:
            message = f"'{vendor_code}' is not in the profile's {code_list} table"
            raise InvalidInput(message, [FieldError("code", message)])
        return shared

    def to_vendor_code(self, code_list: str, shared_code: str) -> str:
        return self.profile.to_vendor_code(code_list, shared_code)
