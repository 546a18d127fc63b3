"""GraphQL over the same use cases: a family graph in one request, mutations with versions, limits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import httpx
import strawberry.schema.schema as strawberry_schema
from prometheus_client import REGISTRY
from sqlalchemy import event

from app.bootstrap import Container
from tests.builders import make_pesel, person_body
from tests.conftest import Party

FAMILY_GRAPH = """
query ($id: UUID!) {
  family(id: $id) {
    id name version
    members {
      role current
      person {
        first_name birth_date
        enrollments { status worker { first_name last_name role email } }
        families { id }
      }
    }
  }
}
"""

FAMILIES_GRAPH = """
{ families(first: 50) { next_cursor items { name
    members { person { first_name enrollments { status worker { last_name } } } } } } }
"""


async def gql(client: httpx.AsyncClient, party: Party, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=party.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def counted_statements(container: Container) -> Iterator[list[str]]:
    """Every statement sent meanwhile: SQLAlchemy's (by text), then one "read model" entry per statement of the
    asyncpg read models (PostgreSQL)."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    before = REGISTRY.get_sample_value("spojnia_read_model_statements_total") or 0.0
    event.listen(container.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(container.engine.sync_engine, "before_cursor_execute", count)
        after = REGISTRY.get_sample_value("spojnia_read_model_statements_total") or 0.0
        statements += ["read model"] * int(after - before)


async def family_of(client: httpx.AsyncClient, party: Party, size: int, seed: int) -> str:
    members = []
    for i in range(size):
        body = person_body(
            make_pesel(f"8{seed}01{i + 1:02d}"),
            enrollment={"status": "BENEFIT_RECIPIENT", "worker_id": str(party.worker_id)},
        )
        person = (await client.post("/v1/persons", json=body, headers=party.headers())).json()
        members.append({"person_id": person["id"], "role": "PARENT" if i < 2 else "CHILD"})
    response = await client.post(
        "/v1/families", json={"name": f"Rodzina {seed}", "members": members}, headers=party.headers()
    )
    assert response.status_code == 201, response.text
    family_id: str = response.json()["id"]
    return family_id


async def test_a_family_graph_comes_in_one_request_with_members_enrollments_and_workers(
    client: httpx.AsyncClient, ops: Party
) -> None:
    family_id = await family_of(client, ops, 3, seed=1)

    body = await gql(client, ops, FAMILY_GRAPH, id=family_id)

    assert "errors" not in body
    family = body["data"]["family"]
    assert family["version"] == 1
    assert len(family["members"]) == 3
    first = family["members"][0]["person"]
    assert first["enrollments"][0]["worker"]["last_name"] == "Pracownik-ops"
    assert first["families"] == [{"id": family_id}]


async def test_the_family_graph_costs_the_same_statements_whatever_its_size(
    client: httpx.AsyncClient, ops: Party, container: Container
) -> None:
    small = await family_of(client, ops, 2, seed=1)
    large = await family_of(client, ops, 6, seed=2)

    with counted_statements(container) as for_small:
        await gql(client, ops, FAMILY_GRAPH, id=small)
    with counted_statements(container) as for_large:
        await gql(client, ops, FAMILY_GRAPH, id=large)
    with counted_statements(container) as for_list:
        listed = await gql(client, ops, FAMILIES_GRAPH)

    assert len(listed["data"]["families"]["items"]) == 2
    assert len(for_small) == len(for_large), for_large
    # PostgreSQL: the family's grounds and its audit records (two statements; the token's client is known). SQLite:
    # the family batch, persons, enrollments, workers, families of persons, audit, each a statement.
    assert len(for_large) <= (2 if container.ctx.read_models else 12)
    # A page of families goes through the repositories on both databases.
    assert len(for_list) <= 12


async def test_another_institution_sees_no_family_and_no_data(
    client: httpx.AsyncClient, ops: Party, other_ops: Party
) -> None:
    family_id = await family_of(client, ops, 2, seed=1)

    body = await gql(client, other_ops, FAMILY_GRAPH, id=family_id)

    assert body["data"]["family"] is None
    listed = await gql(client, other_ops, FAMILIES_GRAPH)
    assert listed["data"]["families"]["items"] == []


async def test_graphql_requires_a_token_and_the_scope(client: httpx.AsyncClient, ops: Party) -> None:
    family_id = await family_of(client, ops, 1, seed=1)

    anonymous = await client.post("/graphql", json={"query": FAMILIES_GRAPH})
    assert anonymous.status_code == 401
    assert anonymous.json()["type"] == "/problems/unauthorized"

    response = await client.post(
        "/graphql", json={"query": FAMILY_GRAPH, "variables": {"id": family_id}}, headers=ops.headers("persons:read")
    )
    body = response.json()
    assert body["data"]["family"] is None
    assert body["errors"][0]["extensions"]["code"] == "insufficient-scope"


CREATE = """
mutation ($input: FamilyInput!) { create_family(input: $input) { id version members { role } } }
"""
ADD = """
mutation ($family: UUID!, $version: Int!, $member: MemberInput!) {
  add_family_member(family_id: $family, version: $version, member: $member) {
    version members { role person { first_name } }
  }
}
"""


async def test_mutations_create_a_family_and_add_a_member_with_the_expected_version(
    client: httpx.AsyncClient, ops: Party
) -> None:
    parent = (await client.post("/v1/persons", json=person_body(make_pesel("850101")), headers=ops.headers())).json()
    child = (
        await client.post(
            "/v1/persons", json=person_body(make_pesel("152101"), first_name="Ola"), headers=ops.headers()
        )
    ).json()

    created = await gql(
        client,
        ops,
        CREATE,
        input={"name": "Rodzina Testowa", "members": [{"person_id": parent["id"], "role": "PARENT"}]},
    )
    family = created["data"]["create_family"]
    assert family["version"] == 1

    added = await gql(
        client, ops, ADD, family=family["id"], version=1, member={"person_id": child["id"], "role": "CHILD"}
    )
    assert added["data"]["add_family_member"]["version"] == 2
    assert [m["person"]["first_name"] for m in added["data"]["add_family_member"]["members"]] == ["Jan", "Ola"]

    stale = await gql(
        client, ops, ADD, family=family["id"], version=1, member={"person_id": child["id"], "role": "CHILD"}
    )
    assert stale["errors"][0]["extensions"]["code"] == "precondition-failed"
    assert stale["errors"][0]["extensions"]["current_version"] == 2


async def test_mutation_with_a_bad_code_answers_a_validation_error(client: httpx.AsyncClient, ops: Party) -> None:
    parent = (await client.post("/v1/persons", json=person_body(make_pesel("850101")), headers=ops.headers())).json()

    body = await gql(
        client, ops, CREATE, input={"name": "X", "members": [{"person_id": parent["id"], "role": "UNCLE"}]}
    )

    error = body["errors"][0]
    assert error["extensions"]["code"] == "validation-error"
    assert error["extensions"]["errors"][0]["field"] == "members[0].role"


async def test_too_deep_a_query_is_refused(client: httpx.AsyncClient, ops: Party) -> None:
    nested = "members { person { families { %s } } }"
    deep = "{ families { items { " + nested % (nested % (nested % "name")) + " } } }"

    body = await gql(client, ops, deep)

    assert body.get("data") is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_a_query_asked_again_is_not_validated_again_and_a_too_deep_one_is_refused_every_time(
    client: httpx.AsyncClient, ops: Party
) -> None:
    """Vendors send the same few queries all day: validation (a walk over the whole document, several times the
    cost of answering a family) is done once per query text, and the limits still hold on every request."""
    nested = "members { person { families { %s } } }"
    deep = "{ families { items { " + nested % (nested % (nested % "name")) + " } } }"
    query = "query Again { families { next_cursor } }"
    await gql(client, ops, query)
    with validations_counted() as validated:
        again = await gql(client, ops, query)
        refused = [await gql(client, ops, deep) for _ in range(2)]
    assert "errors" not in again
    assert all("exceeds maximum operation depth" in r["errors"][0]["message"] for r in refused)
    assert len(validated) == 1  # the deep query, once; the repeated one not at all


@contextmanager
def validations_counted() -> Iterator[list[object]]:
    """The documents that were validated (not answered from the validation cache) meanwhile."""
    validated: list[object] = []
    real = strawberry_schema.validate

    def counting(schema: Any, document: Any, *args: Any, **kwargs: Any) -> Any:
        validated.append(document)
        return real(schema, document, *args, **kwargs)

    with patch("strawberry.schema.schema.validate", counting):
        yield validated


async def test_too_many_aliases_are_refused(client: httpx.AsyncClient, ops: Party) -> None:
    aliases = " ".join(f"a{i}: families {{ next_cursor }}" for i in range(40))

    body = await gql(client, ops, "{ " + aliases + " }")

    assert body.get("data") is None
    assert "aliases" in body["errors"][0]["message"]
