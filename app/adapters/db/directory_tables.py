"""SQLModel tables of the directory of services; they register on the shared SQLModel.metadata.

The full-text index is not among them, because it differs by database and SQLAlchemy's metadata
cannot say so: on PostgreSQL a generated `search_vector` column with a GIN index, on SQLite an FTS5
virtual table kept in step by triggers (migration 0003 creates both). `include_name` tells Alembic's
comparison to leave those objects alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Index, Numeric, Text
from sqlmodel import Field, SQLModel

from app.adapters.db.types import UtcDateTime

SEARCH_TABLE = "directory_service_search"
"""SQLite: the FTS5 table over the folded name and text of each service (and its shadow tables)."""
SEARCH_COLUMN = "search_vector"
"""PostgreSQL: the generated tsvector column of directory_services."""
SEARCH_INDEX = "ix_directory_services_search"
"""PostgreSQL: the GIN index on it."""


def include_name(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic `include_name` hook: False for the search objects the metadata does not describe."""
    if type_ == "table":
        return not (name or "").startswith(SEARCH_TABLE)
    if type_ == "column":
        return not (parent_names.get("table_name") == "directory_services" and name == SEARCH_COLUMN)
    if type_ == "index":
        return name != SEARCH_INDEX
    return True


def _utc() -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False))


def _text(nullable: bool = True) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(Text, nullable=nullable))


class ServiceRow(SQLModel, table=True):
    # The migration orders the columns as here: what every search reads first, the long texts last.
    __tablename__ = "directory_services"
    id: UUID = Field(primary_key=True)
    status: str = Field(max_length=20)
    # Folded copies (app.domain.directory.fold): the sort key, and (below) what SQLite's FTS5 table
    # indexes. PostgreSQL indexes the original text through unaccent instead, in `search_vector`.
    name_key: str = Field(max_length=300)
    institution_id: UUID = Field(foreign_key="institutions.id")
    category: str = Field(max_length=20)
    instrument_list: str | None = Field(default=None, max_length=40)
    instrument_code: str | None = Field(default=None, max_length=40)
    min_age: int | None = None
    max_age: int | None = None
    open_places: int | None = None
    capacity_total: int | None = None
    accepts_referrals: bool = True
    free: bool = True
    fee_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(10, 2), nullable=True))
    last_verified_on: date | None = None
    created_at: datetime = _utc()
    updated_at: datetime = _utc()
    version: int = 1
    name: str = Field(max_length=300)
    alternate_name: str | None = Field(default=None, max_length=300)
    languages: str = Field(max_length=100)  # ISO 639 codes separated by spaces
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    website: str | None = Field(default=None, max_length=500)
    description: str = _text(nullable=False)
    eligibility_description: str = _text(nullable=False)
    application_process: str = _text(nullable=False)
    fee_description: str | None = _text()
    keywords: str = _text(nullable=False)
    folded_text: str = _text(nullable=False)
    __table_args__ = (
        Index("ix_directory_services_listing", "status", "name_key", "id"),
        Index("ix_directory_services_institution", "institution_id", "name_key", "id"),
        Index("ix_directory_services_category", "category", "status"),
    )


class ServiceAreaRow(SQLModel, table=True):
    """A territorial unit a service serves: a gmina (7 digits), powiat (4) or voivodeship (2)."""

    __tablename__ = "directory_service_areas"
    service_id: UUID = Field(primary_key=True, foreign_key="directory_services.id")
    teryt: str = Field(primary_key=True, max_length=7)
    __table_args__ = (Index("ix_directory_service_areas_teryt", "teryt", "service_id"),)


class ServiceCriterionRow(SQLModel, table=True):
    __tablename__ = "directory_service_criteria"
    service_id: UUID = Field(primary_key=True, foreign_key="directory_services.id")
    criterion: str = Field(primary_key=True, max_length=40)
    __table_args__ = (Index("ix_directory_service_criteria_criterion", "criterion", "service_id"),)


class LocationRow(SQLModel, table=True):
    __tablename__ = "directory_locations"
    id: UUID = Field(primary_key=True)
    service_id: UUID = Field(foreign_key="directory_services.id", index=True)
    position: int
    name: str = Field(max_length=200)
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=6)
    city: str = Field(max_length=100)
    teryt: str = Field(max_length=7)
    # [{"day": "MO", "opens": "08:00", "closes": "15:30"}, ...]: read and written whole, never queried.
    opening_hours: str = _text(nullable=False)
    accessibility: str | None = _text()
