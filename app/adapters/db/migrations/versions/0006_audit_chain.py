"""audit trail: categories, purpose, decision; hash chain sealed in batches; signed checkpoints

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 15:00:00.000000

On PostgreSQL triggers also make both tables append-only for whoever is not allowed to switch
triggers off: an audit event may be updated once, by the sealer, to set its chain position and
hash; nothing may be deleted. SQLite (embedded, one user) relies on the hash chain alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_APPEND_ONLY = [
    """
    CREATE FUNCTION spojnia_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'audit_events' THEN
            IF OLD.chain_position IS NULL AND NEW.chain_position IS NOT NULL AND NEW.chain_hash IS NOT NULL
               AND (to_jsonb(OLD) - 'chain_position' - 'chain_hash') = (to_jsonb(NEW) - 'chain_position' - 'chain_hash')
            THEN
                RETURN NEW;
            END IF;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION spojnia_audit_append_only()
    """,
    """
    CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION spojnia_audit_append_only()
    """,
]


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("categories", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("decision", sa.String(length=5), server_default="ALLOW", nullable=False))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("chain_position", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("uq_audit_chain_position", ["chain_position"], unique=True)
        batch_op.create_index(
            "ix_audit_unsealed",
            ["occurred_at", "id"],
            unique=False,
            postgresql_where=sa.text("chain_position IS NULL"),
            sqlite_where=sa.text("chain_position IS NULL"),
        )

    op.create_table(
        "audit_checkpoints",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )

    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS spojnia_audit_append_only()")

    op.drop_table("audit_checkpoints")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_unsealed", sqlite_where=sa.text("chain_position IS NULL"))
        batch_op.drop_index("uq_audit_chain_position")
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("chain_position")
        batch_op.drop_column("reason")
        batch_op.drop_column("decision")
        batch_op.drop_column("categories")
