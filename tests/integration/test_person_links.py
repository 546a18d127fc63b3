"""Every table that refers to a person has a merge rule, and the rule fits the table's unique keys: a new table
referring to persons.id without merge support fails here before it can break a merge or its undo."""

from __future__ import annotations

import pytest
from sqlalchemy import Index, Table, UniqueConstraint

from app.adapters.db.person_links import EMBEDDED, LINK_RULES, Action, person_references
from app.adapters.db.tables import metadata

pytestmark = pytest.mark.sqlite


def _unique_keys(table: Table) -> list[tuple[frozenset[str], object]]:
    """Every unique key of the table but its primary key: (columns, the partial index's condition or None)."""
    found: list[tuple[frozenset[str], object]] = []
    for index in table.indexes:
        if isinstance(index, Index) and index.unique:
            where = index.dialect_options["postgresql"].get("where")
            found.append((frozenset(c.name for c in index.columns), where))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            found.append((frozenset(c.name for c in constraint.columns), None))
    found += [(frozenset({c.name}), None) for c in table.columns if c.unique]
    return found


def test_every_foreign_key_to_persons_has_a_merge_rule() -> None:
    references = {(t.name, c.name) for t, c in person_references(metadata)}
    # Found from the metadata itself: the ones this service had when the test was written are among them.
    assert {("enrollments", "person_id"), ("family_memberships", "person_id"), ("consents", "person_id")} <= references
    missing = sorted(references - set(LINK_RULES))
    assert missing == [], f"tables refer to persons without a merge rule in app/adapters/db/person_links.py: {missing}"


def test_no_rule_names_a_column_that_does_not_refer_to_persons() -> None:
    references = {(t.name, c.name) for t, c in person_references(metadata)}
    stale = sorted(set(LINK_RULES) - references)
    assert stale == [], f"merge rules for columns that no longer refer to persons: {stale}"


def test_a_moved_column_in_a_unique_key_is_handled_by_its_rule() -> None:
    """Re-pointing rows could collide on a unique key holding the person: the rule must end open duplicates at the
    same place (a partial unique index on open rows), and a primary key holding the person sets duplicates aside."""
    for table, column in person_references(metadata):
        rule = LINK_RULES[(table.name, column.name)]
        if rule.action is not Action.MOVE:
            continue
        for columns, where in _unique_keys(table):
            if column.name not in columns:
                continue
            assert columns == {column.name, *rule.open_duplicate_of}, (
                f"{table.name}: unique key {sorted(columns)} holds {column.name}; its rule must end open duplicates "
                "at the same place (open_duplicate_of) or the merge collides"
            )
            assert rule.open_column in str(where), (
                f"{table.name}: unique key {sorted(columns)} must be partial on {rule.open_column} IS NULL"
            )


def test_embedded_columns_exist_where_their_tables_do() -> None:
    for table_name, columns in EMBEDDED.items():
        table = metadata.tables.get(table_name)
        if table is not None:
            assert set(columns) <= set(table.c.keys()), f"{table_name}: {columns}"
