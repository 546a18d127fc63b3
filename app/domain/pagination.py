"""Keyset pagination: a page resumes after the last (created_at, id) it returned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

T = TypeVar("T")

MAX_PAGE_SIZE = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    created_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRequest:
    limit: int = 50
    after: Position | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_after: Position | None
