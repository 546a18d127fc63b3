"""directory of services: services, areas served, eligibility criteria, locations, full-text search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:40:00.000000

The full-text index differs by database and lives outside SQLModel's metadata:
- PostgreSQL: the unaccent extension, an immutable folding function over it (`spojnia_fold`), a
  generated `search_vector` column of directory_services (early in the row, see below) and a GIN
  index on it;
- SQLite: an FTS5 table over the folded copies the application writes (`name_key`, `folded_text`),
  kept in step by triggers, so that every way a service row changes (the repository, an import, a
  test emptying tables) changes the index too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The stored id of a service on SQLite is its 32-digit hex form: one FTS5 token, so the triggers find
# a service's entry through the index instead of scanning the table.
_SQLITE_SEARCH = [
    """
    CREATE VIRTUAL TABLE directory_service_search USING fts5(
        service_id, name, body, tokenize = 'unicode61 remove_diacritics 0', prefix = '3 4 5'
    )
    """,
    """
    CREATE TRIGGER directory_service_search_insert AFTER INSERT ON directory_services BEGIN
        INSERT INTO directory_service_search(service_id, name, body) VALUES (new.id, new.name_key, new.folded_text);
    END
    """,
    """
    CREATE TRIGGER directory_service_search_delete AFTER DELETE ON directory_services BEGIN
        DELETE FROM directory_service_search WHERE rowid IN (
            SELECT rowid FROM directory_service_search
            WHERE directory_service_search MATCH 'service_id : "' || old.id || '"'
        );
    END
    """,
    """
    CREATE TRIGGER directory_service_search_update AFTER UPDATE OF name_key, folded_text ON directory_services BEGIN
        DELETE FROM directory_service_search WHERE rowid IN (
            SELECT rowid FROM directory_service_search
            WHERE directory_service_search MATCH 'service_id : "' || old.id || '"'
        );
        INSERT INTO directory_service_search(service_id, name, body) VALUES (new.id, new.name_key, new.folded_text);
    END
    """,
]

# unaccent() is only STABLE (its dictionary could change), so it cannot feed a generated column or an
# index directly; the usual wrapper names the dictionary and the schema explicitly and is IMMUTABLE.
# The name (weight A) counts more than the description (B) and the keywords of category and place (C).
_SEARCH_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, spojnia_fold(name || ' ' || coalesce(alternate_name, ''))), 'A') "
    "|| setweight(to_tsvector('simple'::regconfig, spojnia_fold(description)), 'B') "
    "|| setweight(to_tsvector('simple'::regconfig, spojnia_fold(keywords)), 'C')"
)


def _create_postgres_folding() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema = op.get_bind().scalar(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
    )
    op.execute(
        f"""
        CREATE FUNCTION spojnia_fold(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, lower($1)) $$
        """
    )


def upgrade() -> None:

    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        _create_postgres_folding()
    # Columns every search reads come first: PostgreSQL takes a row apart up to the last column it needs,
    # and a scan over tens of thousands of rows must not step over the long texts to reach them.
    search_vector = [sa.Column("search_vector", TSVECTOR(), sa.Computed(_SEARCH_VECTOR, persisted=True))]
    op.create_table(
        "directory_services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=False),
        *(search_vector if postgresql else []),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("instrument_list", sa.String(length=40), nullable=True),
        sa.Column("instrument_code", sa.String(length=40), nullable=True),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("open_places", sa.Integer(), nullable=True),
        sa.Column("capacity_total", sa.Integer(), nullable=True),
        sa.Column("accepts_referrals", sa.Boolean(), nullable=False),
        sa.Column("free", sa.Boolean(), nullable=False),
        sa.Column("fee_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("last_verified_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("alternate_name", sa.String(length=300), nullable=True),
        sa.Column("languages", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("eligibility_description", sa.Text(), nullable=False),
        sa.Column("application_process", sa.Text(), nullable=False),
        sa.Column("fee_description", sa.Text(), nullable=True),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("folded_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("directory_services", schema=None) as batch_op:
        batch_op.create_index("ix_directory_services_category", ["category", "status"], unique=False)
        batch_op.create_index("ix_directory_services_institution", ["institution_id", "name_key", "id"], unique=False)
        batch_op.create_index("ix_directory_services_listing", ["status", "name_key", "id"], unique=False)

    op.create_table(
        "directory_locations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=6), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("teryt", sa.String(length=7), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["directory_services.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("directory_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_locations_service_id"), ["service_id"], unique=False)

    op.create_table(
        "directory_service_areas",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("teryt", sa.String(length=7), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["directory_services.id"]),
        sa.PrimaryKeyConstraint("service_id", "teryt"),
    )
    with op.batch_alter_table("directory_service_areas", schema=None) as batch_op:
        batch_op.create_index("ix_directory_service_areas_teryt", ["teryt", "service_id"], unique=False)

    op.create_table(
        "directory_service_criteria",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["directory_services.id"]),
        sa.PrimaryKeyConstraint("service_id", "criterion"),
    )
    with op.batch_alter_table("directory_service_criteria", schema=None) as batch_op:
        batch_op.create_index("ix_directory_service_criteria_criterion", ["criterion", "service_id"], unique=False)

    if postgresql:
        # The directory is read far more than written: each write updates the index at once instead of
        # queueing in a pending list that every search would scan until the next vacuum.
        op.execute(
            "CREATE INDEX ix_directory_services_search ON directory_services "
            "USING gin (search_vector) WITH (fastupdate = off)"
        )
    else:
        for statement in _SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_directory_services_search")
        op.execute("ALTER TABLE directory_services DROP COLUMN IF EXISTS search_vector")
        # The unaccent extension stays: it belongs to the database, and may serve others by now.
    else:
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS directory_service_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS directory_service_search")

    with op.batch_alter_table("directory_service_criteria", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_service_criteria_criterion")

    op.drop_table("directory_service_criteria")
    with op.batch_alter_table("directory_service_areas", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_service_areas_teryt")

    op.drop_table("directory_service_areas")
    with op.batch_alter_table("directory_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directory_locations_service_id"))

    op.drop_table("directory_locations")
    with op.batch_alter_table("directory_services", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_services_listing")
        batch_op.drop_index("ix_directory_services_institution")
        batch_op.drop_index("ix_directory_services_category")

    op.drop_table("directory_services")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS spojnia_fold(text)")
