"""Moving every sealed value and blind index onto the current keys, batch by batch (`spojnia keys rotate-pesel`).

Each batch commits on its own and only rewrites a row still holding the value it read, so a crash loses
nothing (a re-run carries on) and a row the service changed meanwhile keeps the service's version. Rows are
re-sealed in place: neither their version nor their update time changes, since the record itself did not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.crypto.key_file import KeyFile
from app.adapters.crypto.vault import (
    PersonalDataVault,
    VaultError,
    key_id_of,
    person_pesel_context,
    stored_response_context,
)
from app.adapters.db.tables import IdempotencyRow, PersonRow

_STORED_PARTS = ("fingerprint", "response_body", "response_headers")


@dataclass(kw_only=True)
class KeyUsage:
    """Which keys the stored values need, after any rewriting."""

    sealed_under: Counter[str] = field(default_factory=Counter)  # AES key id -> tokens sealed under it
    hashed_under: Counter[str | None] = field(default_factory=Counter)  # HMAC key id -> indexes; None: no key held
    persons_rewritten: int = 0
    responses_rewritten: int = 0


@dataclass(kw_only=True)
class RotationReport:
    added: list[str]
    expired_responses_deleted: int
    usage: KeyUsage
    retired: list[str]
    still_needed: list[str]


class KeyRotation:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], vault: PersonalDataVault, *, batch_size: int = 500
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.batch_size = batch_size

    async def run(
        self, key_file: KeyFile, *, new_hmac_key: bool, retire_old: bool, idempotency_ttl: timedelta
    ) -> RotationReport:
        """Add new keys (unless retiring), bring every row onto the current keys, then retire unused old keys.

        A retiring run adds no key: it finishes what an earlier rotation left (a crash, rows a stale process
        wrote) and drops an old key only when a second pass finds no value that still needs it.
        """
        added: list[str] = []
        if not retire_old:
            ring = key_file.ring().with_new_aes_key()
            added.append(ring.current_aes_key)
            if new_hmac_key:
                ring = ring.with_new_hmac_key()
                added.append(ring.current_hmac_key)
            key_file.replace(ring)
        expired = await self.delete_expired_responses(idempotency_ttl)
        usage = await self.bring_to_current(rewrite=True)
        retired: list[str] = []
        still_needed: list[str] = []
        if retire_old:
            check = await self.bring_to_current(rewrite=False)
            ring = key_file.ring()
            old_aes = [k for k in ring.aes_keys if k != ring.current_aes_key]
            old_hmac = [k for k in ring.hmac_keys if k != ring.current_hmac_key]
            unused_aes = [k for k in old_aes if not check.sealed_under[k]]
            unused_hmac = [k for k in old_hmac if not check.hashed_under[k]]
            key_file.replace(ring.without(aes=unused_aes, hmac=unused_hmac))
            retired = unused_aes + unused_hmac
            still_needed = [k for k in old_aes + old_hmac if k not in retired]
            usage = check
        return RotationReport(
            added=added, expired_responses_deleted=expired, usage=usage, retired=retired, still_needed=still_needed
        )

    async def delete_expired_responses(self, ttl: timedelta) -> int:
        """Answers past their time are never replayed again; they go rather than be re-sealed."""
        async with self.sessions() as session:
            result = await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.created_at < datetime.now(UTC) - ttl)
            )
            await session.commit()
        return int(result.rowcount or 0)

    async def bring_to_current(self, *, rewrite: bool) -> KeyUsage:
        """Count the keys every stored value needs; with `rewrite`, first move each value onto the current keys."""
        usage = KeyUsage()
        await self._persons(usage, rewrite=rewrite)
        await self._responses(usage, rewrite=rewrite)
        return usage

    async def _persons(self, usage: KeyUsage, *, rewrite: bool) -> None:
        after: Any = None
        while True:
            async with self.sessions() as session:
                query = select(PersonRow.id, PersonRow.pesel_hash, PersonRow.pesel_sealed).where(
                    PersonRow.pesel_sealed.is_not(None)
                )
                if after is not None:
                    query = query.where(PersonRow.id > after)
                rows = (await session.execute(query.order_by(PersonRow.id).limit(self.batch_size))).all()
                if not rows:
                    return
                for person_id, index, sealed in rows:
                    context = person_pesel_context(person_id)
                    pesel = _opened(self.vault, sealed, context, f"person {person_id}")
                    ring = self.vault.keys.ring()
                    hmac_id = self.vault.hmac_key_of(pesel, index) if index else None
                    aes_id = key_id_of(sealed)
                    if rewrite and (hmac_id != ring.current_hmac_key or aes_id != ring.current_aes_key):
                        result = await session.execute(
                            update(PersonRow)
                            .where(PersonRow.id == person_id, PersonRow.pesel_sealed == sealed)
                            .values(
                                pesel_hash=self.vault.blind_index(pesel),
                                pesel_sealed=self.vault.seal(pesel, context=context),
                            )
                            .execution_options(synchronize_session=False)
                        )
                        usage.persons_rewritten += int(result.rowcount or 0)
                        hmac_id, aes_id = ring.current_hmac_key, ring.current_aes_key
                    usage.hashed_under[hmac_id] += 1
                    usage.sealed_under[aes_id] += 1
                await session.commit()
                after = rows[-1].id

    async def _responses(self, usage: KeyUsage, *, rewrite: bool) -> None:
        order = (IdempotencyRow.owner, IdempotencyRow.key)
        after: tuple[str, str] | None = None
        while True:
            async with self.sessions() as session:
                query = select(IdempotencyRow)
                if after is not None:
                    query = query.where(tuple_(*order) > tuple_(*after))
                rows = list((await session.scalars(query.order_by(*order).limit(self.batch_size))).all())
                if not rows:
                    return
                for row in rows:
                    tokens = {part: token for part in _STORED_PARTS if (token := getattr(row, part))}
                    key_ids = [key_id_of(token) for token in tokens.values()]
                    current = self.vault.keys.ring().current_aes_key
                    if rewrite and any(k != current for k in key_ids):
                        values = {}
                        for part, token in tokens.items():
                            context = stored_response_context(row.owner, row.key, part)
                            plain = _opened(self.vault, token, context, f"stored answer {row.key!r}")
                            values[part] = self.vault.seal(plain, context=context)
                        result = await session.execute(
                            update(IdempotencyRow)
                            .where(*(c == v for c, v in zip(order, (row.owner, row.key), strict=True)))
                            .where(IdempotencyRow.fingerprint == row.fingerprint)
                            .values(**values)
                            .execution_options(synchronize_session=False)
                        )
                        usage.responses_rewritten += int(result.rowcount or 0)
                        key_ids = [current for _ in key_ids]
                    usage.sealed_under.update(key_ids)
                await session.commit()
                after = (rows[-1].owner, rows[-1].key)


def _opened(vault: PersonalDataVault, token: str, context: bytes, what: str) -> str:
    try:
        return vault.open(token, context=context)
    except VaultError as error:
        # Names the row, never its content: the operator restores the key or repairs that row.
        raise VaultError(f"{what}: {error}") from None
