"""The audit chain: sealed in batches after the fact; every edit, removal and forgery is found and named."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.adapters.audit_signing import AnchorFile, CheckpointKeys
from app.adapters.db.audit_chain import ChainBroken, ChainReport, Fault, SqlAuditChain, link
from app.adapters.db.engine import make_session_factory
from app.adapters.db.tables import AuditCheckpointRow, AuditEventRow
from app.bootstrap import Container
from app.config import AuditTrail, Settings
from app.domain.audit import AuditAction, AuditRecord, SubjectType
from app.domain.ids import AuditEventId, InstitutionId
from tests.builders import make_pesel, person_body
from tests.conftest import BACKEND, Party

pytestmark = pytest.mark.sqlite

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ChainFactory = Callable[..., SqlAuditChain]


@pytest.fixture
def anchor_path(tmp_path: Path) -> Path:
    return tmp_path / "anchor" / "audit-checkpoints.jsonl"


@pytest.fixture
def make_chain(container: Container, anchor_path: Path) -> ChainFactory:
    def make(*, batch_size: int = 3, anchored: bool = True) -> SqlAuditChain:
        return SqlAuditChain(
            make_session_factory(container.engine),
            CheckpointKeys(container.settings.audit, create_missing=True),
            clock=container.ctx.clock,
            anchor=AnchorFile(anchor_path) if anchored else None,
            batch_size=batch_size,
        )

    return make


async def record(container: Container, count: int, *, at: datetime = START) -> list[UUID]:
    """Audit events as a use case writes them: unsealed, in one transaction."""
    ids = []
    async with container.ctx.uow() as uow:
        for i in range(count):
            event_id = AuditEventId(uuid4())
            ids.append(event_id)
            await uow.audit.record(
                AuditRecord(
                    id=event_id,
                    occurred_at=at + timedelta(seconds=i),
                    actor="worker:test",
                    actor_worker_id=None,
                    institution_id=InstitutionId(uuid4()),
                    action=AuditAction.READ,
                    subject_type=SubjectType.PERSON,
                    subject_id=uuid4(),
                    request_id=f"request-{i}",
                    purpose="SOCIAL_WORK",
                )
            )
        await uow.commit()
    return ids


async def tamper(container: Container, *statements: Any) -> None:
    """Change the tables as an intruder with the database owner's rights would: past the append-only triggers."""
    async with container.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await connection.execute(statement)


async def row_at(connection: AsyncConnection, position: int) -> Any:
    return (await connection.execute(select(AuditEventRow).where(AuditEventRow.chain_position == position))).one()


def faults(report: ChainReport) -> list[tuple[Fault, int | None, int | None]]:
    return [(p.fault, p.position, p.checkpoint) for p in report.problems]


async def test_sealing_chains_every_row_in_batches_with_a_signed_checkpoint_each(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    first = await record(container, 7)

    sealed = await chain.seal()
    await record(container, 2, at=START + timedelta(minutes=5))
    again = await chain.seal()
    report = await chain.verify()

    assert (sealed.rows, sealed.batches, sealed.head) == (7, 3, 7)
    assert (again.rows, again.batches, again.head) == (2, 1, 9)
    assert report.intact, report.problems
    assert (report.sealed_rows, report.head, report.checkpoints, report.anchor_lines) == (9, 9, 4, 4)
    assert report.unsealed_rows == 0
    async with container.engine.connect() as connection:
        in_order = (
            await connection.execute(
                select(AuditEventRow.id).where(AuditEventRow.chain_position <= 7).order_by(AuditEventRow.chain_position)
            )
        ).scalars()
        assert list(in_order) == first


async def test_a_row_committed_after_later_ones_were_sealed_is_sealed_in_the_next_batch(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain()
    await record(container, 3)
    await chain.seal()
    [late] = await record(container, 1, at=START - timedelta(hours=1))

    await chain.seal()
    report = await chain.verify()

    assert report.intact, report.problems
    async with container.engine.connect() as connection:
        position = await connection.scalar(select(AuditEventRow.chain_position).where(AuditEventRow.id == late))
    assert position == 4


async def test_unsealed_events_are_counted_as_pending_not_as_faults(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain()
    await record(container, 2)
    await chain.seal()
    await record(container, 3)

    report = await chain.verify()

    assert report.intact
    assert (report.sealed_rows, report.unsealed_rows) == (2, 3)


async def test_editing_a_sealed_row_fails_verification_naming_its_position_and_id(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain()
    ids = await record(container, 6)
    await chain.seal()

    await tamper(container, update(AuditEventRow).where(AuditEventRow.id == ids[2]).values(purpose="CURIOSITY"))
    report = await chain.verify()

    assert faults(report) == [(Fault.EDITED, 3, None)]
    assert report.problems[0].audit_event_id == ids[2]
    assert "position 3" in str(report.problems[0])
    assert str(ids[2]) in str(report.problems[0])


async def test_an_edit_hidden_by_re_hashing_the_rest_of_the_chain_is_caught_by_the_checkpoints(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    await record(container, 9)
    await chain.seal()  # checkpoints at 3, 6 and 9

    async with container.engine.connect() as connection:
        previous = bytes.fromhex((await row_at(connection, 4)).chain_hash)
        rewritten = []
        for position in range(5, 10):
            row = await row_at(connection, position)
            changed = AuditEventRow.model_validate({**row._asdict(), "actor": "worker:someone-else"})
            previous = link(previous, changed, position)
            rewritten.append(
                update(AuditEventRow)
                .where(AuditEventRow.id == row.id)
                .values(actor="worker:someone-else", chain_hash=previous.hex())
            )
    await tamper(container, *rewritten)
    report = await chain.verify()

    assert faults(report) == [(Fault.REWRITTEN, 4, 6)]
    assert "rows between positions 4 and 6" in str(report.problems[0])
    assert "1 later checkpoints" in str(report.problems[0])


async def test_deleting_a_middle_row_fails_verification_naming_the_gap(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain()
    ids = await record(container, 6)
    await chain.seal()

    await tamper(container, delete(AuditEventRow).where(AuditEventRow.id == ids[3]))
    report = await chain.verify()

    assert faults(report) == [(Fault.MISSING, 4, None)]
    assert "position 4 missing" in str(report.problems[0])
    assert str(ids[2]) in str(report.problems[0])
    assert str(ids[4]) in str(report.problems[0])


async def test_deleting_the_last_rows_fails_verification_as_truncated_after_the_last_one_left(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    ids = await record(container, 6)
    await chain.seal()

    await tamper(container, delete(AuditEventRow).where(AuditEventRow.id.in_(ids[4:])))
    report = await chain.verify()

    assert {(f, p, c) for f, p, c in faults(report)} == {(Fault.TRUNCATED, 4, 6)}
    assert "truncated after position 4" in str(report.problems[0])


async def test_deleting_the_last_rows_and_their_checkpoints_is_caught_by_the_anchor_file(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    ids = await record(container, 6)
    await chain.seal()

    await tamper(
        container,
        delete(AuditEventRow).where(AuditEventRow.id.in_(ids[3:])),
        delete(AuditCheckpointRow).where(AuditCheckpointRow.position == 6),
    )
    report = await chain.verify()
    unanchored = await make_chain(anchored=False).verify()

    assert faults(report) == [(Fault.TRUNCATED, 3, 6)]
    assert "anchor file line 2" in str(report.problems[0])
    # The database alone is consistent again: this is what the anchor file kept apart from it is for.
    assert unanchored.intact


async def test_removing_only_the_newest_checkpoint_leaves_sealed_rows_no_checkpoint_vouches_for(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    await record(container, 5)
    await chain.seal()

    await tamper(container, delete(AuditCheckpointRow).where(AuditCheckpointRow.position == 5))
    report = await make_chain(anchored=False).verify()

    assert faults(report) == [(Fault.UNANCHORED, 4, 3)]


async def test_an_altered_checkpoint_fails_its_signature(container: Container, make_chain: ChainFactory) -> None:
    chain = make_chain(batch_size=3)
    await record(container, 6)
    await chain.seal()
    async with container.engine.connect() as connection:
        head_of_first_batch = (await row_at(connection, 2)).chain_hash

    await tamper(
        container,
        update(AuditCheckpointRow)
        .where(AuditCheckpointRow.position == 3)
        .values(position=2, chain_hash=head_of_first_batch),
    )
    report = await make_chain(anchored=False).verify()

    assert faults(report) == [(Fault.BAD_SIGNATURE, None, 2)]
    assert "checkpoint at position 2 (database) is not signed by a trusted key" in str(report.problems[0])


async def test_a_checkpoint_signed_with_another_key_is_refused(
    container: Container, make_chain: ChainFactory, tmp_path: Path
) -> None:
    chain = make_chain(batch_size=3)
    ids = await record(container, 6)
    await chain.seal()
    intruder_key = tmp_path / "intruder.pem"
    intruder_key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    intruder = CheckpointKeys(AuditTrail(signing_key_file=intruder_key), create_missing=False)
    async with container.engine.connect() as connection:
        new_head = (await row_at(connection, 4)).chain_hash
    forged = intruder.sign(position=4, chain_hash=new_head, rows=1, sealed_at=START)

    # The intruder drops rows 5 and 6 and vouches for the shorter chain with a checkpoint of their own.
    await tamper(
        container,
        delete(AuditEventRow).where(AuditEventRow.id.in_(ids[4:])),
        delete(AuditCheckpointRow).where(AuditCheckpointRow.position == 6),
        insert(AuditCheckpointRow).values(
            position=4,
            chain_hash=forged.chain_hash,
            rows=1,
            sealed_at=forged.sealed_at,
            key_id=forged.key_id,
            signature=forged.signature,
        ),
    )
    report = await chain.verify()

    assert (Fault.BAD_SIGNATURE, None, 4) in faults(report)
    assert (Fault.TRUNCATED, 4, 6) in faults(report)  # the anchor file still names position 6


async def test_a_checkpoint_of_a_previous_key_verifies_once_its_public_key_is_named(
    container: Container, make_chain: ChainFactory, tmp_path: Path
) -> None:
    await record(container, 2)
    await make_chain().seal()
    old_public = tmp_path / "previous.pub.pem"
    old_public.write_bytes(
        serialization.load_pem_private_key(container.settings.audit.signing_key_file.read_bytes(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    rotated = AuditTrail(signing_key_file=tmp_path / "new-key.pem")

    def chain_with(settings: AuditTrail) -> SqlAuditChain:
        keys = CheckpointKeys(settings, create_missing=True)
        return SqlAuditChain(make_session_factory(container.engine), keys, clock=container.ctx.clock)

    without_old = await chain_with(rotated).verify()
    with_old = await chain_with(rotated.model_copy(update={"previous_public_key_files": [old_public]})).verify()

    assert [p.fault for p in without_old.problems] == [Fault.BAD_SIGNATURE, Fault.UNANCHORED]
    assert with_old.intact, with_old.problems


async def test_the_sealer_will_not_extend_a_chain_that_was_cut_short(
    container: Container, make_chain: ChainFactory
) -> None:
    chain = make_chain(batch_size=3)
    ids = await record(container, 6)
    await chain.seal()
    await tamper(container, delete(AuditEventRow).where(AuditEventRow.id == ids[5]))
    await record(container, 1, at=START + timedelta(hours=1))

    with pytest.raises(ChainBroken, match="does not match its newest checkpoint"):
        await chain.seal()


async def test_sealers_running_at_once_give_out_every_position_once(
    container: Container, make_chain: ChainFactory
) -> None:
    await record(container, 40)

    results = await asyncio.gather(*(make_chain(batch_size=7).seal() for _ in range(3)))
    report = await make_chain().verify()

    assert sum(r.rows for r in results) == 40
    assert report.intact, report.problems
    assert (report.sealed_rows, report.head, report.unsealed_rows) == (40, 40, 0)


async def test_audit_events_of_concurrent_requests_are_all_sealed(
    client: httpx.AsyncClient, container: Container, make_chain: ChainFactory, ops: Party
) -> None:
    bodies = [person_body(make_pesel(f"8{i}0101", serial=f"{1000 + i}")) for i in range(8)]
    answers = await asyncio.gather(
        *(client.post("/v1/persons", json=body, headers=ops.headers()) for body in bodies),
        *(client.get("/v1/persons", headers=ops.headers()) for _ in range(4)),
    )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers if a.status_code >= 300]
    chain = make_chain(batch_size=5)

    sealed = await chain.seal()
    report = await chain.verify()

    assert sealed.rows >= 16  # each registration creates the person and enrolls them
    assert report.intact, report.problems
    assert (report.sealed_rows, report.unsealed_rows) == (sealed.rows, 0)


@pytest.mark.skipif(BACKEND == "sqlite", reason="the triggers are PostgreSQL's")
async def test_postgresql_refuses_changing_or_deleting_audit_rows(
    container: Container, make_chain: ChainFactory
) -> None:
    ids = await record(container, 2)
    await make_chain().seal()

    for statement in (
        update(AuditEventRow).where(AuditEventRow.id == ids[0]).values(actor="worker:someone-else"),
        update(AuditEventRow).where(AuditEventRow.id == ids[0]).values(chain_position=99),
        delete(AuditEventRow).where(AuditEventRow.id == ids[1]),
        delete(AuditCheckpointRow),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with container.engine.begin() as connection:
                await connection.execute(statement)


@pytest.mark.skipif(BACKEND == "sqlite", reason="one subprocess run is enough")
async def test_the_audit_commands_seal_and_verify_and_exit_non_zero_naming_the_fault(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    ids = await record(container, 4)
    env = os.environ | {
        "SPOJNIA_DATABASE_URL": settings.database_url,
        "SPOJNIA_LOCAL_ISSUER__ENABLED": "false",
        "SPOJNIA_AUDIT__ANCHOR_FILE": str(tmp_path / "anchor.jsonl"),
    }

    async def spojnia(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.cli",
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, out.decode(), err.decode()

    sealed = await spojnia("audit", "seal")
    intact = await spojnia("audit", "verify")
    await tamper(container, update(AuditEventRow).where(AuditEventRow.id == ids[1]).values(request_id="forged"))
    broken = await spojnia("audit", "verify")

    assert sealed[0] == 0
    assert "sealed 4 audit events in 1 batches" in sealed[1]
    assert intact[0] == 0, intact
    assert "audit chain intact: 4 sealed audit events up to position 4, 1 checkpoints in the database" in intact[1]
    assert "1 checkpoints in the anchor file" in intact[1]
    assert broken[0] == 1
    assert f"edited: position 2 (audit event {ids[1]}) was edited after sealing" in broken[2]
