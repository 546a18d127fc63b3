"""PESEL kept only as a keyed hash and an AES-GCM sealed value

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:00:00.000000

Existing PESELs are moved with the keys of the settings (SPOJNIA_PESEL__*), the same keys the service will
read them with. Idempotency answers already stored, and their request fingerprints, are sealed the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

from app.adapters.crypto.vault import person_pesel_context, stored_response_context

if TYPE_CHECKING:
    from app.adapters.crypto.vault import PersonalDataVault

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
_STORED_PARTS = ("fingerprint", "response_body", "response_headers")

persons = sa.table(
    "persons",
    sa.column("id", sa.Uuid()),
    sa.column("pesel", sa.String(11)),
    sa.column("pesel_hash", sa.String(64)),
    sa.column("pesel_sealed", sa.Text()),
)
idempotency_keys = sa.table(
    "idempotency_keys",
    sa.column("owner", sa.String(300)),
    sa.column("key", sa.String(255)),
    sa.column("fingerprint", sa.String(200)),
    sa.column("response_body", sa.Text()),
    sa.column("response_headers", sa.Text()),
)


class _LazyVault:
    """The configured keys, opened only when a row needs them: a new installation migrates before it has keys."""

    def __init__(self) -> None:
        self._vault: PersonalDataVault | None = None

    def __call__(self) -> PersonalDataVault:
        if self._vault is None:
            from app.adapters.crypto.key_file import open_vault
            from app.config import Settings

            settings = Settings()
            self._vault = open_vault(settings.pesel, development=settings.development)
        return self._vault


def _batches(query: sa.Select[Any], order: Sequence[sa.ColumnElement[Any]]) -> Iterator[list[Any]]:
    """Rows in keyset batches, so a large table is never held in memory at once."""
    bind = op.get_bind()
    after: tuple[Any, ...] | None = None
    while True:
        page = query.order_by(*order).limit(BATCH)
        if after is not None:
            page = page.where(sa.tuple_(*order) > sa.tuple_(*after))
        rows = list(bind.execute(page).all())
        if not rows:
            return
        yield rows
        after = tuple(rows[-1][: len(order)])


def _move_idempotency(vault: Callable[[], PersonalDataVault], *, seal: bool) -> None:
    """The stored answers, and the request fingerprints (a SHA-256 of a body that held a PESEL), sealed or opened."""
    bind = op.get_bind()
    t = idempotency_keys.c
    query = sa.select(t.owner, t.key, t.fingerprint, t.response_body, t.response_headers)
    for rows in _batches(query, (t.owner, t.key)):
        for owner, key, *parts in rows:
            values: dict[str, Any] = {}
            for name, value in zip(_STORED_PARTS, parts, strict=True):
                if value is not None:
                    context = stored_response_context(owner, key, name)
                    values[name] = (
                        vault().seal(value, context=context) if seal else vault().open(value, context=context)
                    )
            if values:
                bind.execute(sa.update(idempotency_keys).where(t.owner == owner, t.key == key).values(**values))


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch_op:
        batch_op.add_column(sa.Column("pesel_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pesel_sealed", sa.Text(), nullable=True))

    vault = _LazyVault()
    bind = op.get_bind()
    p = persons.c
    for rows in _batches(sa.select(p.id, p.pesel).where(p.pesel.is_not(None)), (p.id,)):
        for person_id, pesel in rows:
            bind.execute(
                sa.update(persons)
                .where(p.id == person_id)
                .values(
                    pesel_hash=vault().blind_index(pesel),
                    pesel_sealed=vault().seal(pesel, context=person_pesel_context(person_id)),
                )
            )
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.alter_column("fingerprint", type_=sa.String(length=200), existing_nullable=False)
    _move_idempotency(vault, seal=True)

    with op.batch_alter_table("persons") as batch_op:
        batch_op.drop_column("pesel")  # its unique constraint goes with it
        batch_op.create_index("ix_persons_pesel_hash", ["pesel_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch_op:
        batch_op.add_column(sa.Column("pesel", sa.String(length=11), nullable=True))

    vault = _LazyVault()
    bind = op.get_bind()
    p = persons.c
    for rows in _batches(sa.select(p.id, p.pesel_sealed).where(p.pesel_sealed.is_not(None)), (p.id,)):
        for person_id, sealed in rows:
            pesel = vault().open(sealed, context=person_pesel_context(person_id))
            bind.execute(sa.update(persons).where(p.id == person_id).values(pesel=pesel))
    _move_idempotency(vault, seal=False)
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.alter_column("fingerprint", type_=sa.String(length=64), existing_nullable=False)

    with op.batch_alter_table("persons") as batch_op:
        batch_op.drop_index("ix_persons_pesel_hash")
        batch_op.drop_column("pesel_sealed")
        batch_op.drop_column("pesel_hash")
        # PostgreSQL's own name for the constraint 0001 left unnamed, so the schema is 0004's again.
        batch_op.create_unique_constraint("persons_pesel_key", ["pesel"])
