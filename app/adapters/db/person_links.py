"""Every row that refers to a person, found from the tables' foreign keys: re-pointed by a merge, put back by its
undo. A table that refers to persons without a rule here stops every merge (and fails a test) until it has one.

What a merge does to one table follows from its rule and its keys:
- rows of the merged person are re-pointed at the kept one;
- where both have an open row at the same place (`open_duplicate_of`: an enrollment at one institution, a
  membership of one family), the merged person's one is ended first, so the kept person keeps theirs;
- where the person is part of the primary key (a referral's subjects and outcomes) and the kept person already has
  the row, the merged person's is set aside whole, to come back on undo;
- `EMBEDDED` columns (JSON or text naming persons by id) have the id replaced where it stands, places recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Column, MetaData, Table, Text, and_, cast, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator

from app.adapters.db.tables import metadata as schema
from app.domain.ids import PersonId
from app.domain.person_merges import LinkChange, LinkOp, LinkSummary, RestoreCheck


class Action(StrEnum):
    MOVE = "move"  # the link moves to the kept person
    KEEP = "keep"  # the row stays with the merged record: it is its history (or the merge's own record)
    MARK = "mark"  # the merge's mark on the merged row itself (persons.merged_into), set by the use case


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRule:
    action: Action
    # Columns naming "the same place": an open row of each person there may not both stay open.
    open_duplicate_of: tuple[str, ...] = ()
    open_column: str = "until"  # NULL while open
    since_column: str = "since"
    ended_with: Mapping[str, object] = field(default_factory=dict)  # other columns set when ending one
    # Never named to a worker: Niebieska Karta records move silently and never stand in the way of an undo.
    hidden: bool = False


_MOVE = LinkRule(action=Action.MOVE)

LINK_RULES: dict[tuple[str, str], LinkRule] = {
    ("enrollments", "person_id"): LinkRule(action=Action.MOVE, open_duplicate_of=("institution_id",)),
    ("family_memberships", "person_id"): LinkRule(
        action=Action.MOVE, open_duplicate_of=("family_id",), ended_with={"end_reason": "ENTERED_IN_ERROR"}
    ),
    ("referrals", "person_id"): _MOVE,
    ("referral_subjects", "person_id"): _MOVE,
    ("referral_outcomes", "person_id"): _MOVE,
    ("contracts", "person_id"): _MOVE,
    ("specialist_hours", "person_id"): _MOVE,
    ("benefits", "person_id"): _MOVE,
    ("outcomes", "person_id"): _MOVE,
    ("consents", "person_id"): _MOVE,
    ("source_records", "person_id"): _MOVE,
    ("restricted_records", "person_id"): LinkRule(action=Action.MOVE, hidden=True),
    ("persons", "merged_into"): LinkRule(action=Action.MARK),
    ("person_merges", "kept_person_id"): LinkRule(action=Action.KEEP),
    ("person_merges", "merged_person_id"): LinkRule(action=Action.KEEP),
    # Differences are computed afresh for the kept person; those reported about the merged one stay its history.
    ("reconciliation_differences", "person_id"): LinkRule(action=Action.KEEP),
}

# Columns that name persons by id inside JSON or text, where no foreign key can say so.
EMBEDDED: dict[str, tuple[str, ...]] = {
    "contracts": ("signing_members", "signatures", "terms", "versions"),
    "source_records": ("payload",),  # household members
    "source_households": ("members",),
}


class MissingLinkRule(RuntimeError):
    """A table refers to persons but nobody has said what a merge does to it."""


def person_references(metadata: MetaData = schema) -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) whose foreign key points at persons.id, in a stable order."""
    target = metadata.tables["persons"].c.id
    found = [
        (table, fk.parent)
        for table in metadata.sorted_tables
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name)
        if fk.column is target
    ]
    return sorted(found, key=lambda pair: (pair[0].name, pair[1].name))


def rule_for(table: Table, column: Column[Any]) -> LinkRule:
    rule = LINK_RULES.get((table.name, column.name))
    if rule is None:
        raise MissingLinkRule(f"{table.name}.{column.name} refers to persons but has no merge rule (person_links.py)")
    return rule


def _python_type(column: Column[Any]) -> type:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    try:
        found: type = kind.python_type
    except NotImplementedError:
        return object
    return found


def _encode(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def _decode(column: Column[Any], value: object) -> object:
    if value is None or not isinstance(value, str):
        return value
    kind = _python_type(column)
    if kind is UUID:
        return UUID(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


def _key_columns(table: Table, column: Column[Any]) -> list[Column[Any]]:
    return [c for c in table.primary_key.columns if c is not column]


def _key(row: Mapping[str, Any], columns: Sequence[Column[Any]]) -> dict[str, str]:
    return {c.name: str(_encode(row[c.name])) for c in columns}


def _where_key(table: Table, key: Mapping[str, str]) -> ColumnElement[bool]:
    return and_(*(table.c[name] == _decode(table.c[name], value) for name, value in key.items()))


def _frozen(key: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(key.items()))


def _text_of(value: object) -> str:
    """The column's value as the text ids are found and replaced in; JSON values in a canonical form."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _value_of(original: object, text: str) -> object:
    return text if isinstance(original, str) else json.loads(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _offsets(text: str, needle: str) -> list[int]:
    found, start = [], text.find(needle)
    while start >= 0:
        found.append(start)
        start = text.find(needle, start + len(needle))
    return found


def _replace_at(text: str, offsets: Sequence[int], old: str, new: str) -> str | None:
    """`text` with `old` replaced by `new` (of the same length) at each offset; None when one is not there."""
    chars = list(text)
    for at in offsets:
        if text[at : at + len(old)] != old:
            return None
        chars[at : at + len(old)] = new
    return "".join(chars)


class SqlPersonLinks:
    def __init__(self, session: AsyncSession, metadata: MetaData = schema) -> None:
        self.session = session
        self.metadata = metadata

    def _references(self) -> list[tuple[Table, Column[Any], LinkRule]]:
        return [(t, c, rule_for(t, c)) for t, c in person_references(self.metadata)]

    async def _rows(self, table: Table, column: Column[Any], person: PersonId) -> list[Mapping[str, Any]]:
        result = await self.session.execute(select(table).where(column == person))
        return list(result.mappings().all())

    async def move(self, merged: PersonId, kept: PersonId, *, on: date, at: datetime) -> list[LinkChange]:
        changes: list[LinkChange] = []
        for table, column, rule in self._references():
            if rule.action is Action.MOVE:
                changes += await self._move_table(table, column, rule, merged, kept, on=on, at=at)
        for table_name, columns in EMBEDDED.items():
            embedding = self.metadata.tables.get(table_name)
            if embedding is None:
                continue  # a table of a part not installed
            for name in columns:
                changes += await self._rewrite(embedding, str(merged), str(kept), name)
        return changes

    async def _move_table(
        self,
        table: Table,
        column: Column[Any],
        rule: LinkRule,
        merged: PersonId,
        kept: PersonId,
        *,
        on: date,
        at: datetime,
    ) -> list[LinkChange]:
        key_columns = _key_columns(table, column)
        kept_rows = await self._rows(table, column, kept)
        changes = [
            LinkChange(op=LinkOp.KEPT, table=table.name, column=column.name, key=_key(r, key_columns))
            for r in kept_rows
        ]
        merged_rows = await self._rows(table, column, merged)
        staying: list[Mapping[str, Any]] = []
        kept_keys = {_frozen(_key(r, key_columns)) for r in kept_rows}
        for row in merged_rows:
            key = _key(row, key_columns)
            if column.primary_key and _frozen(key) in kept_keys:
                # The kept person is already there (a subject of the same referral): this one waits aside.
                await self.session.execute(delete(table).where(_where_key(table, key), column == merged))
                whole = {name: _encode(value) for name, value in row.items()}
                changes.append(
                    LinkChange(op=LinkOp.SET_ASIDE, table=table.name, column=column.name, key=key, before=whole)
                )
            else:
                staying.append(row)
        open_places = set()
        if rule.open_duplicate_of:
            open_places = {
                tuple(r[c] for c in rule.open_duplicate_of) for r in kept_rows if r[rule.open_column] is None
            }
        for row in staying:
            key = _key(row, key_columns)
            place = tuple(row[c] for c in rule.open_duplicate_of)
            if rule.open_duplicate_of and row[rule.open_column] is None and place in open_places:
                values = self._ending(table, rule, row, on=on, at=at)
                await self.session.execute(
                    update(table).where(_where_key(table, key), column == merged).values(**values)
                )
                changes.append(
                    LinkChange(
                        op=LinkOp.ENDED,
                        table=table.name,
                        column=column.name,
                        key=key,
                        before={k: _encode(row[k]) for k in values},
                        after={k: _encode(v) for k, v in values.items()},
                    )
                )
            else:
                changes.append(LinkChange(op=LinkOp.MOVED, table=table.name, column=column.name, key=key))
        if staying:
            await self.session.execute(
                update(table)
                .where(column == merged)
                .values({column.name: kept})
                .execution_options(synchronize_session=False)
            )
        return changes

    @staticmethod
    def _ending(table: Table, rule: LinkRule, row: Mapping[str, Any], *, on: date, at: datetime) -> dict[str, Any]:
        since = row.get(rule.since_column)
        values: dict[str, Any] = {rule.open_column: max(since, on) if isinstance(since, date) else on}
        values.update(rule.ended_with)
        if "version" in table.c:
            values["version"] = row["version"] + 1
        if "updated_at" in table.c:
            values["updated_at"] = at
        return values

    async def _rewrite(self, table: Table, merged: str, kept: str, name: str) -> list[LinkChange]:
        column = table.c[name]
        key_columns = list(table.primary_key.columns)
        result = await self.session.execute(select(*key_columns, column).where(cast(column, Text).like(f"%{merged}%")))
        changes = []
        for row in result.mappings().all():
            original = row[column.name]
            text = _text_of(original)
            offsets = _offsets(text, merged)
            if not offsets:
                continue
            rewritten = text.replace(merged, kept)
            key = _key(row, key_columns)
            await self.session.execute(
                update(table).where(_where_key(table, key)).values({column.name: _value_of(original, rewritten)})
            )
            changes.append(
                LinkChange(
                    op=LinkOp.REWRITTEN,
                    table=table.name,
                    column=column.name,
                    key=key,
                    after={"offsets": offsets, "digest": _digest(rewritten)},
                )
            )
        return changes

    def _hidden(self, table_name: str) -> bool:
        return any(rule.hidden for (name, _), rule in LINK_RULES.items() if name == table_name)

    async def check_restore(self, merged: PersonId, kept: PersonId, changes: Sequence[LinkChange]) -> RestoreCheck:
        blockers: Counter[str] = Counter()
        added: Counter[str] = Counter()
        by_table: dict[tuple[str, str], list[LinkChange]] = {}
        for change in changes:
            by_table.setdefault((change.table, change.column), []).append(change)
        for table, column, rule in self._references():
            if rule.action is not Action.MOVE:
                continue
            if rule.hidden:
                continue  # restored where still possible, never named, never in the way
            recorded = by_table.get((table.name, column.name), [])
            now = {_frozen(_key(r, _key_columns(table, column))) for r in await self._rows(table, column, kept)}
            expected = {_frozen(c.key) for c in recorded if c.op in (LinkOp.KEPT, LinkOp.MOVED, LinkOp.ENDED)}
            for change in recorded:
                if change.op in (LinkOp.MOVED, LinkOp.ENDED) and _frozen(change.key) not in now:
                    blockers[f"{table.name}: a row the merge moved no longer refers to the kept person"] += 1
                if change.op is LinkOp.ENDED and not await self._still(table, column, kept, change):
                    blockers[f"{table.name}: a row the merge ended has changed since"] += 1
                if change.op is LinkOp.SET_ASIDE and await self._exists(table, column, merged, change.key):
                    blockers[f"{table.name}: the place of a row set aside is taken"] += 1
            if now - expected:
                added[table.name] += len(now - expected)
        for change in changes:
            if change.op is LinkOp.REWRITTEN and not self._hidden(change.table):
                current = await self._current_text(change)
                if current is None or _digest(current) != change.after.get("digest"):
                    blockers[f"{change.table}: {change.column} has changed since the merge"] += 1
        return RestoreCheck(
            blockers=[f"{reason} ({count})" for reason, count in sorted(blockers.items())], added_since=dict(added)
        )

    async def _still(self, table: Table, column: Column[Any], kept: PersonId, change: LinkChange) -> bool:
        row = (
            (await self.session.execute(select(table).where(_where_key(table, change.key), column == kept)))
            .mappings()
            .first()
        )
        return row is not None and all(_encode(row[k]) == v for k, v in change.after.items())

    async def _exists(self, table: Table, column: Column[Any], person: PersonId, key: Mapping[str, str]) -> bool:
        found = await self.session.execute(select(column).where(_where_key(table, key), column == person))
        return found.first() is not None

    async def _current_text(self, change: LinkChange) -> str | None:
        table = self.metadata.tables.get(change.table)
        if table is None:
            return None
        value = (
            await self.session.execute(select(table.c[change.column]).where(_where_key(table, change.key)))
        ).scalar_one_or_none()
        return None if value is None else _text_of(value)

    async def restore(self, merged: PersonId, kept: PersonId, changes: Sequence[LinkChange], *, at: datetime) -> None:
        del at  # rows go back exactly as they were; nothing new is stamped on them
        for change in reversed(changes):
            table = self.metadata.tables.get(change.table)
            if table is None:
                continue
            if change.op is LinkOp.REWRITTEN:
                await self._unwrite(table, change, str(merged), str(kept))
                continue
            column = table.c[change.column]
            if change.op is LinkOp.MOVED:
                await self.session.execute(
                    update(table).where(_where_key(table, change.key), column == kept).values({column.name: merged})
                )
            elif change.op is LinkOp.ENDED:
                values = {k: _decode(table.c[k], v) for k, v in change.before.items()}
                await self.session.execute(
                    update(table)
                    .where(_where_key(table, change.key), column == kept)
                    .values({column.name: merged, **values})
                )
            elif change.op is LinkOp.SET_ASIDE:
                row = {k: _decode(table.c[k], v) for k, v in change.before.items() if k in table.c}
                await self.session.execute(insert(table).values(**row))

    async def _unwrite(self, table: Table, change: LinkChange, merged: str, kept: str) -> None:
        column = table.c[change.column]
        original = (
            await self.session.execute(select(column).where(_where_key(table, change.key)))
        ).scalar_one_or_none()
        if original is None:
            return
        offsets = [int(o) for o in change.after.get("offsets", [])]
        text = _replace_at(_text_of(original), offsets, kept, merged)
        if text is not None:
            await self.session.execute(
                update(table).where(_where_key(table, change.key)).values({column.name: _value_of(original, text)})
            )

    def summary(self, changes: Sequence[LinkChange]) -> LinkSummary:
        counts: dict[LinkOp, Counter[str]] = {op: Counter() for op in LinkOp}
        for change in changes:
            if not self._hidden(change.table):
                counts[change.op][change.table] += 1
        return LinkSummary(
            moved=dict(counts[LinkOp.MOVED] + counts[LinkOp.ENDED]),
            ended=dict(counts[LinkOp.ENDED]),
            set_aside=dict(counts[LinkOp.SET_ASIDE]),
            rewritten=dict(counts[LinkOp.REWRITTEN]),
        )
