"""The audit trail's hash chain: sealed in batches after the fact, verified end to end.

Writers insert audit events with no position and no hash (audit_log.py), so recording never
waits on a shared chain head. The sealer, one at a time, takes what they committed, gives each
row the next position after the head and the hash

    hash_n = SHA-256(hash_{n-1} || canonical encoding of every column of row n || n as 8 bytes)

(hash_0 is 32 zero bytes), and signs a checkpoint of the new head, stored beside the rows and,
when configured, appended to an anchor file kept apart from the database.

The order of sealing, not of occurrence, defines the chain. A transaction may commit long after
its `occurred_at` (a slow request, a clock a little behind), after rows that happened later were
already sealed; chaining by occurrence would mean inserting it into the middle of a chain that
checkpoints already vouch for. Sealed in the next batch instead, it only sits at a later position
than its timestamp suggests, while `occurred_at` itself is hashed and so cannot be changed either.

`verify` then finds a row edited after sealing (its hash no longer follows), a row deleted (a gap
in the positions), rows removed from the end (a checkpoint vouches for a position the chain no
longer reaches), rows re-hashed to hide an edit (a checkpoint no longer matches), and a forged or
altered checkpoint (its signature). What it cannot see is what was never sealed: rows deleted in
the seconds before the sealer ran, or the newest rows removed together with their checkpoints when
no anchor file is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.audit_signing import AnchorFile, Checkpoint, CheckpointKeys, timestamp
from app.adapters.db.tables import AuditCheckpointRow, AuditEventRow
from app.domain.ports import Clock

GENESIS = bytes(32)
ROW_FORMAT = "spojnia-audit-row/1"
SEAL_LOCK = 7_243_006  # an arbitrary constant naming the sealer's advisory lock
_WALK = 5000  # rows read at a time while verifying


def canonical(row: AuditEventRow) -> bytes:
    """Every column of the row but its place in the chain, in one fixed encoding (a JSON array).

    The first element names the encoding: a column added later gets a new one, and rows sealed
    before keep theirs.
    """

    def optional(value: object) -> str | None:
        return None if value is None else str(value)

    return json.dumps(
        [
            ROW_FORMAT,
            str(row.id),
            timestamp(row.occurred_at),
            row.actor,
            optional(row.actor_worker_id),
            str(row.institution_id),
            row.action,
            row.subject_type,
            str(row.subject_id),
            row.request_id,
            row.purpose,
            row.categories,
            row.decision,
            row.reason,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def link(previous: bytes, row: AuditEventRow, position: int) -> bytes:
    return hashlib.sha256(previous + canonical(row) + position.to_bytes(8, "big")).digest()


class ChainBroken(Exception):
    """The sealer will not extend a chain whose head does not match its newest checkpoint."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sealed:
    rows: int
    batches: int
    head: int  # the chain's position after sealing; 0 for an empty chain


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(
        position=row.position,
        chain_hash=row.chain_hash,
        rows=row.rows,
        sealed_at=row.sealed_at,
        key_id=row.key_id,
        signature=row.signature,
    )


class Fault(StrEnum):
    EDITED = "edited"
    MISSING = "missing"
    TRUNCATED = "truncated"
    REWRITTEN = "rewritten"
    UNANCHORED = "unanchored"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainProblem:
    fault: Fault
    detail: str
    position: int | None = None
    audit_event_id: UUID | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"{self.fault.value}: {self.detail}"


@dataclass(slots=True, kw_only=True)
class ChainReport:
    sealed_rows: int = 0
    head: int = 0
    checkpoints: int = 0
    anchor_lines: int | None = None  # None: no anchor file configured
    unsealed_rows: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class _Vouched:
    """A checkpoint to hold against the row at its position, and where it came from."""

    checkpoint: Checkpoint
    source: str  # "database" or "anchor file line N"
    matched: bool | None = None  # None until the walk reaches its position


class SqlAuditChain:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: CheckpointKeys,
        *,
        clock: Clock,
        anchor: AnchorFile | None = None,
        batch_size: int = 5000,
    ) -> None:
        self.sessions = sessions
        self.keys = keys
        self.clock = clock
        self.anchor = anchor
        self.batch_size = batch_size

    async def seal(self) -> Sealed:
        """Seal what was committed so far, one batch (and one checkpoint) at a time.

        Returns after the first batch that is not full, so a steady stream of writers cannot keep it going.
        """
        rows = batches = 0
        while True:
            sealed, head = await self._seal_batch()
            rows += sealed
            batches += 1 if sealed else 0
            if sealed < self.batch_size:
                return Sealed(rows=rows, batches=batches, head=head)

    async def _seal_batch(self) -> tuple[int, int]:
        async with self.sessions() as session:
            async with session.begin():
                await _exclusive(session)
                rows = list(
                    await session.scalars(
                        select(AuditEventRow)
                        .where(AuditEventRow.chain_position.is_(None))
                        .order_by(AuditEventRow.occurred_at, AuditEventRow.id)
                        .limit(self.batch_size)
                    )
                )
                position, previous = await self._head(session)
                if not rows:
                    return 0, position
                values = []
                for row in rows:
                    position += 1
                    previous = link(previous, row, position)
                    values.append({"id": row.id, "chain_position": position, "chain_hash": previous.hex()})
                await session.execute(update(AuditEventRow), values)
                checkpoint = self.keys.sign(
                    position=position, chain_hash=previous.hex(), rows=len(rows), sealed_at=self.clock.now()
                )
                session.add(
                    AuditCheckpointRow(
                        position=checkpoint.position,
                        chain_hash=checkpoint.chain_hash,
                        rows=checkpoint.rows,
                        sealed_at=checkpoint.sealed_at,
                        key_id=checkpoint.key_id,
                        signature=checkpoint.signature,
                    )
                )
            # Only after the commit: a line in the anchor file must never name a head the database lacks.
            # A crash in between leaves this checkpoint out of the file, which the next one covers.
            if self.anchor is not None:
                await asyncio.to_thread(self.anchor.append, checkpoint)
            return len(rows), position

    async def _head(self, session: AsyncSession) -> tuple[int, bytes]:
        """The chain's head; refuses to go on from one that disagrees with the newest checkpoint."""
        newest = await session.scalar(select(AuditCheckpointRow).order_by(AuditCheckpointRow.position.desc()).limit(1))
        last = (
            await session.execute(
                select(AuditEventRow.chain_position, AuditEventRow.chain_hash)
                .where(AuditEventRow.chain_position.is_not(None))
                .order_by(AuditEventRow.chain_position.desc())
                .limit(1)
            )
        ).first()
        if newest is None and last is None:
            return 0, GENESIS
        # Sealing on from a truncated or rewritten head would bury the evidence under new rows.
        if newest is None or last is None or (newest.position, newest.chain_hash) != tuple(last):
            raise ChainBroken(
                "the audit chain's head does not match its newest checkpoint; "
                "sealing stopped: run `spojnia audit verify` and investigate"
            )
        if not self.keys.valid(_checkpoint(newest), self.keys.trusted()):
            raise ChainBroken(f"the newest audit checkpoint (position {newest.position}) is not validly signed")
        return int(newest.position), bytes.fromhex(newest.chain_hash)

    async def verify(self) -> ChainReport:
        """Walk the whole chain; every problem found names its position, audit event or checkpoint."""
        report = ChainReport()
        trusted = self.keys.trusted()
        vouched: dict[int, list[_Vouched]] = {}
        # The anchor file first, then the database: whatever either names was committed before the walk
        # starts, so a sealer running meanwhile cannot make the walk look short.
        if (anchor := self.anchor) is not None:
            report.anchor_lines = 0
            for number, line in await asyncio.to_thread(lambda: list(anchor.lines())):
                report.anchor_lines += 1
                source = f"anchor file line {number}"
                try:
                    checkpoint = Checkpoint.from_json_line(line)
                except ValueError:
                    report.problems.append(ChainProblem(fault=Fault.MALFORMED, detail=f"{source} is not a checkpoint"))
                    continue
                self._vouch(vouched, checkpoint, source, trusted, report)
        async with self.sessions() as session:
            seen_checkpoints = await self._load_checkpoints(session, vouched, trusted, report, above=0)
            await self._walk(session, vouched, report)
            # Checkpoints of batches sealed while walking: their rows were committed with them.
            await self._load_checkpoints(session, vouched, trusted, report, above=seen_checkpoints)
            report.unsealed_rows = int(
                await session.scalar(
                    select(func.count()).select_from(AuditEventRow).where(AuditEventRow.chain_position.is_(None))
                )
                or 0
            )
            orphans = await session.scalars(
                select(AuditEventRow.id).where(
                    AuditEventRow.chain_position.is_(None), AuditEventRow.chain_hash.is_not(None)
                )
            )
            for orphan in orphans:
                report.problems.append(
                    ChainProblem(
                        fault=Fault.EDITED,
                        audit_event_id=orphan,
                        detail=f"audit event {orphan} carries a chain hash but lost its position",
                    )
                )
        self._judge_checkpoints(vouched, report)
        return report

    def _vouch(
        self,
        vouched: dict[int, list[_Vouched]],
        checkpoint: Checkpoint,
        source: str,
        trusted: dict[str, Ed25519PublicKey],
        report: ChainReport,
    ) -> None:
        if not self.keys.valid(checkpoint, trusted):
            report.problems.append(
                ChainProblem(
                    fault=Fault.BAD_SIGNATURE,
                    checkpoint=checkpoint.position,
                    detail=f"checkpoint at position {checkpoint.position} ({source}) is not signed by a trusted key: "
                    "forged or altered",
                )
            )
            return
        vouched.setdefault(checkpoint.position, []).append(_Vouched(checkpoint=checkpoint, source=source))

    async def _load_checkpoints(
        self,
        session: AsyncSession,
        vouched: dict[int, list[_Vouched]],
        trusted: dict[str, Ed25519PublicKey],
        report: ChainReport,
        *,
        above: int,
    ) -> int:
        newest = above
        for row in await session.scalars(
            select(AuditCheckpointRow).where(AuditCheckpointRow.position > above).order_by(AuditCheckpointRow.position)
        ):
            report.checkpoints += 1
            newest = row.position
            self._vouch(vouched, _checkpoint(row), "database", trusted, report)
        return newest

    async def _walk(self, session: AsyncSession, vouched: dict[int, list[_Vouched]], report: ChainReport) -> None:
        previous: AuditEventRow | None = None
        after = 0
        while True:
            rows = list(
                await session.scalars(
                    select(AuditEventRow)
                    .where(AuditEventRow.chain_position > after)
                    .order_by(AuditEventRow.chain_position)
                    .limit(_WALK)
                )
            )
            if not rows:
                return
            for row in rows:
                self._check_row(row, previous, report)
                for claim in vouched.get(row.chain_position, ()):
                    claim.matched = claim.checkpoint.chain_hash == row.chain_hash
                previous = row
                report.sealed_rows += 1
                report.head = _position(row)
            after = _position(rows[-1])
            session.expunge_all()  # a long chain is walked, not held in memory

    @staticmethod
    def _check_row(row: AuditEventRow, previous: AuditEventRow | None, report: ChainReport) -> None:
        position = _position(row)
        expected = 1 if previous is None else _position(previous) + 1
        if position > expected:
            after = f"after audit event {previous.id} " if previous is not None else "at the start of the chain "
            missing = f"position {expected}" if position == expected + 1 else f"positions {expected}-{position - 1}"
            report.problems.append(
                ChainProblem(
                    fault=Fault.MISSING,
                    position=expected,
                    audit_event_id=row.id,
                    detail=f"{missing} missing (deleted) {after}and before audit event {row.id} at {position}",
                )
            )
            return  # its predecessor is gone: this row's link cannot be checked
        if row.chain_hash is None:
            report.problems.append(
                ChainProblem(
                    fault=Fault.EDITED,
                    position=position,
                    audit_event_id=row.id,
                    detail=f"position {position} (audit event {row.id}) lost its chain hash",
                )
            )
            return
        before = GENESIS if previous is None else bytes.fromhex(previous.chain_hash or "")
        if link(before, row, position).hex() != row.chain_hash:
            report.problems.append(
                ChainProblem(
                    fault=Fault.EDITED,
                    position=position,
                    audit_event_id=row.id,
                    detail=f"position {position} (audit event {row.id}) was edited after sealing: "
                    "its content and the chain before it no longer give its hash",
                )
            )

    @staticmethod
    def _judge_checkpoints(vouched: dict[int, list[_Vouched]], report: ChainReport) -> None:
        claims = sorted((c for cs in vouched.values() for c in cs), key=lambda c: c.checkpoint.position)
        # The furthest claim beyond the chain's end, from the database and from the anchor file each.
        beyond: dict[bool, _Vouched] = {
            c.source == "database": c for c in claims if c.checkpoint.position > report.head
        }
        for claim in beyond.values():
            report.problems.append(
                ChainProblem(
                    fault=Fault.TRUNCATED,
                    position=report.head,
                    checkpoint=claim.checkpoint.position,
                    detail=f"truncated after position {report.head}: the checkpoint at position "
                    f"{claim.checkpoint.position} ({claim.source}, sealed {timestamp(claim.checkpoint.sealed_at)}) "
                    "vouches for rows the chain no longer holds",
                )
            )
        mismatched = [c for c in claims if c.matched is False]
        if mismatched:
            first = mismatched[0].checkpoint.position
            since = max(
                (c.checkpoint.position for c in claims if c.matched and c.checkpoint.position < first), default=0
            )
            later = len({c.checkpoint.position for c in mismatched}) - 1
            report.problems.append(
                ChainProblem(
                    fault=Fault.REWRITTEN,
                    position=since + 1,
                    checkpoint=first,
                    detail=f"the checkpoint at position {first} ({mismatched[0].source}) does not match the chain's "
                    f"hash there: rows between positions {since + 1} and {first} were rewritten and re-hashed after "
                    f"sealing" + (f"; {later} later checkpoints do not match either" if later else ""),
                )
            )
        newest = max((c.checkpoint.position for c in claims if c.source == "database"), default=0)
        if report.head > newest:
            report.problems.append(
                ChainProblem(
                    fault=Fault.UNANCHORED,
                    position=newest + 1,
                    checkpoint=newest or None,
                    detail=f"positions {newest + 1}-{report.head} are sealed but no checkpoint in the database "
                    "vouches for them: checkpoints were removed, or rows were chained by something other than the "
                    "sealer",
                )
            )


def _position(row: AuditEventRow) -> int:
    """The position of a row the walk read as sealed (its position is what it was selected by)."""
    return int(row.chain_position or 0)


async def _exclusive(session: AsyncSession) -> None:
    """One sealer at a time, or two would give out the same positions."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})
        return
    # SQLite has one writer at a time anyway; a write as the first statement takes that lock now, before
    # the head is read, instead of at the first update, when another sealer may have moved the head.
    await session.execute(update(AuditCheckpointRow).where(AuditCheckpointRow.position < 0).values(rows=0))
