"""Restricted (Niebieska Karta) records searched for through every door by every non-ZI caller: never found.

The scenario: a person and their family served by OPS, PUP and an NGO, referred from OPS to PUP, in a
county partnership; then the gmina's interdisciplinary team opens a record about the person and one
about the family, and corrects one. Each caller then knocks on every door twice, before the records
exist and after: no answer may name a record (its id, note or form), and no answer may change at all,
so that no list, count, figure or event betrays that something was added.

The control: the owning team, through its own doors, does find both records, by the same search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, build_schema, get_named_type, is_leaf_type, is_non_null_type
from graphql.pyutils import Undefined
from sqlalchemy import func, select

from app.adapters.db.tables import EventRow
from app.api_export import graphql_sdl
from app.bootstrap import Container
from app.config import Settings
from app.domain.restricted_records import TEAM_ROLE
from tests.builders import JAN, MARIA, person_body
from tests.conftest import Party

TEAM = frozenset({TEAM_ROLE})
EVERYONE = frozenset({"ops", "pup", "ngo", "pcpr", "other_ops", "zi", "other_zi"})
SERVING = frozenset({"ops", "pup", "ngo"})  # each enrolls the person, so each sees the person and the family
PARTNERS = frozenset({"pcpr", "ops", "pup", "ngo", "other_ops"})
PERIOD = {"from": "2020-01-01", "to": "2029-12-31"}

PERSON_NOTE = "Sygnał od pedagoga szkolnego, karta 7Q3"
FAMILY_NOTE = "Posiedzenie grupy diagnostyczno-pomocowej, wniosek 4W8"
GENERIC_MARKERS = ("NK_", "Niebieska", "niebieska", "NIEBIESKA")


@dataclass(frozen=True)
class Door:
    """One way into the service. `{person_id}`, `{family_id}`, `{referral_id}`, `{partnership_id}`,
    `{person_record_id}` and `{family_record_id}` in a path, a parameter or a GraphQL call are the scenario's."""

    name: str
    path: str
    method: str = "GET"
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    # A JSON body (for a POST door such as a lookup); its strings are filled in like the path.
    json: dict[str, Any] | None = None
    # A GraphQL root field with its arguments; every field under it, to a depth, is asked for.
    graphql: str | None = None
    # Callers (party keys) for whom the door must open (2xx, or GraphQL data without errors): a door shut to
    # everyone would hide nothing.
    open_for: frozenset[str] = frozenset()
    # One of the team's own doors: the control finds the records through these.
    team_door: bool = False
    # False for a door whose answer changes by the knocking itself (an audit trail, an access report): it is
    # searched for the records' traces, but not held to answer after as it did before.
    stable: bool = True


# To add a door, add a row: name it, give its path (and parameters, headers or a GraphQL root call) with the
# scenario's ids in braces, and list in `open_for` the callers it must answer with data. Every caller of
# CALLERS then searches it, before and after the records exist; a door that lists restricted records to
# their team only is a `team_door`. New REST resources belong here as soon as they can mention a person or
# family: the audit events and a person's access report (`stable=False`: each knock adds to them), the
# shared-client lookup (a POST door with a `json` body).
DOORS = [
    Door("person", "/v1/persons/{person_id}", open_for=SERVING),
    Door("persons", "/v1/persons", params={"limit": "200"}, open_for=EVERYONE),
    Door("family", "/v1/families/{family_id}", open_for=SERVING),
    Door("families", "/v1/families", params={"limit": "200"}, open_for=EVERYONE),
    Door("family diagnoses", "/v1/families/{family_id}/diagnoses", open_for=SERVING),
    Door("family delivery record", "/v1/families/{family_id}/delivery-record", open_for=SERVING),
    Door("referral", "/v1/referrals/{referral_id}", open_for=frozenset({"ops", "pup"})),
    Door("referral inbox", "/v1/referrals", params={"box": "inbox"}, open_for=EVERYONE),
    Door("referral outbox", "/v1/referrals", params={"box": "outbox"}, open_for=EVERYONE),
    Door("referrals about the person", "/v1/referrals", params={"box": "inbox", "person_id": "{person_id}"}),
    Door("referrals about the family", "/v1/referrals", params={"box": "outbox", "family_id": "{family_id}"}),
    Door("events feed", "/v1/events", params={"limit": "500"}, open_for=EVERYONE),
    Door("webhook subscriptions", "/v1/webhook-subscriptions", open_for=EVERYONE),
    Door("institutions", "/v1/institutions", params={"limit": "200"}, open_for=EVERYONE),
    Door(
        "monitoring report",
        "/v1/reports/monitoring",
        params={"partnership": "{partnership_id}", **PERIOD},
        open_for=PARTNERS,
    ),
    Door(
        "monitoring report as CSV",
        "/v1/reports/monitoring",
        params={"partnership": "{partnership_id}", **PERIOD},
        headers={"Accept": "text/csv"},
        open_for=PARTNERS,
    ),
    Door("graphql person", "/graphql", graphql='person(id: "{person_id}")', open_for=SERVING),
    Door("graphql family", "/graphql", graphql='family(id: "{family_id}")', open_for=SERVING),
    Door("graphql families", "/graphql", graphql="families(first: 200)", open_for=EVERYONE),
    Door("graphql referral", "/graphql", graphql='referral(id: "{referral_id}")', open_for=frozenset({"ops", "pup"})),
    Door("graphql inbox", "/graphql", graphql='referrals(box: "inbox")', open_for=EVERYONE),
    Door("graphql outbox", "/graphql", graphql='referrals(box: "outbox")', open_for=EVERYONE),
    Door(
        "shared-client lookup",
        "/v1/shared-client-lookups",
        method="POST",
        json={"purpose": "SHARED_CLIENT_CHECK", "pesel": JAN},
        open_for=EVERYONE,
    ),
    Door("audit events", "/v1/audit-events", params={"limit": "200"}, open_for=EVERYONE, stable=False),
    Door(
        "audit events about the person",
        "/v1/audit-events",
        params={"subject_id": "{person_id}", "limit": "200"},
        open_for=EVERYONE,
        stable=False,
    ),
    Door("access report", "/v1/persons/{person_id}/access-report", open_for=SERVING, stable=False),
    Door(
        "access report as CSV",
        "/v1/persons/{person_id}/access-report",
        headers={"Accept": "text/csv"},
        open_for=SERVING,
        stable=False,
    ),
    Door("restricted record about the person", "/v1/restricted-records/{person_record_id}", team_door=True),
    Door("restricted record about the family", "/v1/restricted-records/{family_record_id}", team_door=True),
    Door("restricted records", "/v1/restricted-records", open_for=frozenset({"other_zi"}), team_door=True),
    Door(
        "restricted records about the person",
        "/v1/restricted-records",
        params={"person_id": "{person_id}"},
        open_for=frozenset({"other_zi"}),
        team_door=True,
    ),
    Door(
        "restricted records about the family",
        "/v1/restricted-records",
        params={"family_id": "{family_id}"},
        open_for=frozenset({"other_zi"}),
        team_door=True,
    ),
]

# Every caller but the owning team with its role, each with every scope (admin too); the others also with a
# token that claims the team's role.
CALLERS = [
    pytest.param("zi", frozenset(), id="owning-zi-without-the-role"),
    pytest.param("other_zi", TEAM, id="zi-of-another-gmina"),
    *(
        pytest.param(key, roles, id=f"{key}{'-claiming-the-role' if roles else ''}")
        for key in ("ops", "pup", "ngo", "pcpr", "other_ops")
        for roles in (frozenset(), TEAM)
    ),
]

GRAPHQL_DEPTH = 5


def _required(argument: Any) -> bool:
    has_default = argument.default_value is not Undefined or (
        argument.ast_node is not None and argument.ast_node.default_value is not None
    )
    return is_non_null_type(argument.type) and not has_default


def everything_under(schema: GraphQLSchema, type_: Any, depth: int) -> str:
    """A selection of every field needing no argument, to a depth: a GraphQL door shows all it can."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if depth == 0:
        return "{ __typename }"
    parts = []
    for name, field_ in named.fields.items():
        if any(_required(a) for a in field_.args.values()):
            continue
        parts.append(f"{name} {everything_under(schema, field_.type, depth - 1)}".strip())
    return "{ " + " ".join(parts) + " }"


@pytest.fixture(scope="module")
def graphql_schema(settings: Settings) -> GraphQLSchema:
    return build_schema(graphql_sdl(settings))


@dataclass
class Scenario:
    ids: dict[str, str]
    parties: dict[str, Party]

    def fill(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.ids.get(m.group(1), m.group(0)), text)

    def fill_all(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.fill(value)
        if isinstance(value, dict):
            return {k: self.fill_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill_all(v) for v in value]
        return value

    def markers(self) -> list[str]:
        return [
            self.ids["person_record_id"],
            self.ids["family_record_id"],
            PERSON_NOTE,
            FAMILY_NOTE,
            "NK_B",
            "NK_D",
            *GENERIC_MARKERS,
        ]


def team_headers(party: Party, roles: frozenset[str], **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {party.token(roles=roles)}", **extra}


async def knock(
    client: httpx.AsyncClient,
    schema: GraphQLSchema,
    scenario: Scenario,
    door: Door,
    party: Party,
    roles: frozenset[str],
) -> httpx.Response:
    headers = team_headers(party, roles, **door.headers)
    if door.graphql is not None:
        call = scenario.fill(door.graphql)
        root = schema.query_type
        assert root is not None
        field_ = root.fields[call.split("(")[0]]
        query = "{ " + call + " " + everything_under(schema, field_.type, GRAPHQL_DEPTH) + " }"
        return await client.post(door.path, json={"query": query}, headers=headers)
    return await client.request(
        door.method,
        scenario.fill(door.path),
        params=scenario.fill_all(door.params),
        json=scenario.fill_all(door.json),
        headers=headers,
    )


def opened(door: Door, response: httpx.Response) -> bool:
    if not response.is_success:
        return False
    if door.graphql is None:
        return True
    body = response.json()
    return "errors" not in body and all(value is not None for value in body["data"].values())


def comparable(response: httpx.Response) -> object:
    """The answer as a caller sees it, less the request id each answer carries."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "request_id"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    text = response.text
    content_type = response.headers.get("content-type", "")
    return (response.status_code, strip(response.json()) if "json" in content_type else text)


def named(response: httpx.Response, markers: list[str]) -> list[str]:
    seen = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    return [m for m in markers if m in seen]


async def outbox_size(container: Container) -> int:
    async with container.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(EventRow))).scalar_one())


@pytest.fixture
async def served(
    client: httpx.AsyncClient,
    container: Container,
    parties: dict[str, Party],
    pcpr: Party,
    zi: Party,
    other_zi: Party,
    partnership: dict[str, Any],
) -> Scenario:
    """The person and their family, served by OPS, PUP and the NGO and referred from OPS to PUP; no records yet."""
    ops, pup, ngo = parties["ops"], parties["pup"], parties["ngo"]

    async def register(party: Party, pesel: str, first_name: str, status: str) -> str:
        response = await client.post(
            "/v1/persons", json=person_body(pesel, first_name=first_name, status=status), headers=party.headers()
        )
        assert response.status_code in (200, 201), response.text
        person_id: str = response.json()["id"]
        return person_id

    jan = await register(ops, JAN, "Jan", "BENEFIT_RECIPIENT")
    assert await register(pup, JAN, "Jan", "UNEMPLOYED") == jan
    assert await register(ngo, JAN, "Jan", "PARTICIPANT") == jan
    maria = await register(ops, MARIA, "Maria", "BENEFIT_RECIPIENT")
    family = await client.post(
        "/v1/families",
        headers=ops.headers(),
        json={
            "name": "Rodzina Nowaków",
            "teryt": "2801011",
            "members": [{"person_id": jan, "role": "PARENT"}, {"person_id": maria, "role": "PARENT"}],
        },
    )
    assert family.status_code == 201, family.text
    referral = await client.post(
        "/v1/referrals",
        headers=ops.headers(),
        json={
            "receiver_id": str(pup.id),
            "person_id": jan,
            "reason": "UNEMPLOYMENT",
            "instrument": {"code_list": "LabourMarketInstrument", "code": "CAREER_GUIDANCE"},
            "justification": "Prosi o doradztwo zawodowe.",
            "send": True,
        },
    )
    assert referral.status_code == 201, referral.text
    await container.relay.run_once()
    return Scenario(
        ids={
            "person_id": jan,
            "family_id": family.json()["id"],
            "referral_id": referral.json()["id"],
            "partnership_id": partnership["id"],
        },
        parties={**parties, "pcpr": pcpr, "zi": zi, "other_zi": other_zi},
    )


async def open_records(client: httpx.AsyncClient, container: Container, scenario: Scenario) -> None:
    """The owning team opens a record about the person and one about the family, and corrects the first."""
    zi = scenario.parties["zi"]
    events_before = await outbox_size(container)
    about_person = await client.post(
        "/v1/restricted-records",
        headers=team_headers(zi, TEAM),
        json={"form": "NK_A", "procedure_date": "2025-02-03", "person_id": scenario.ids["person_id"]},
    )
    assert about_person.status_code == 201, about_person.text
    corrected = await client.patch(
        about_person.headers["location"],
        headers=team_headers(zi, TEAM, **{"If-Match": about_person.headers["etag"]}),
        json={"form": "NK_B", "note": PERSON_NOTE},
    )
    assert corrected.status_code == 200, corrected.text
    about_family = await client.post(
        "/v1/restricted-records",
        headers=team_headers(zi, TEAM),
        json={
            "form": "NK_D",
            "procedure_date": "2025-02-10",
            "family_id": scenario.ids["family_id"],
            "note": FAMILY_NOTE,
        },
    )
    assert about_family.status_code == 201, about_family.text
    scenario.ids["person_record_id"] = about_person.json()["id"]
    scenario.ids["family_record_id"] = about_family.json()["id"]
    assert await outbox_size(container) == events_before, "a restricted record wrote an event to the outbox"
    await container.relay.run_once()


@pytest.mark.parametrize(("key", "roles"), CALLERS)
async def test_restricted_records_searched_for_through_every_door_by_every_non_zi_caller_are_never_found(
    client: httpx.AsyncClient,
    container: Container,
    graphql_schema: GraphQLSchema,
    served: Scenario,
    key: str,
    roles: frozenset[str],
) -> None:
    caller = served.parties[key]
    # Ids the doors name before the records exist: unknown ids, so the "before" of a record's own door is
    # the answer to an id that never existed.
    served.ids |= {"person_record_id": "00000000-0000-4000-8000-00000000a001"}
    served.ids |= {"family_record_id": "00000000-0000-4000-8000-00000000a002"}
    before = {door.name: await knock(client, graphql_schema, served, door, caller, roles) for door in DOORS}
    for door in DOORS:
        if key in door.open_for:
            assert opened(door, before[door.name]), f"{door.name} is shut to {key}: {before[door.name].text[:300]}"

    await open_records(client, container, served)

    for door in DOORS:
        after = await knock(client, graphql_schema, served, door, caller, roles)
        found = named(after, served.markers())
        assert not found, f"{key} found {found} through {door.name}: {after.text[:500]}"
        assert not door.stable or comparable(after) == comparable(before[door.name]), (
            f"{door.name} answers {key} differently once restricted records exist:\n"
            f"before: {before[door.name].text[:300]}\nafter:  {after.text[:300]}"
        )


async def test_the_owning_team_finds_its_records_through_its_own_doors(
    client: httpx.AsyncClient, container: Container, graphql_schema: GraphQLSchema, served: Scenario
) -> None:
    """The control: the same search, by the owning team with its role, finds what the others never do."""
    await open_records(client, container, served)
    zi = served.parties["zi"]
    answers = {
        door.name: await knock(client, graphql_schema, served, door, zi, TEAM) for door in DOORS if door.team_door
    }
    for name, answer in answers.items():
        assert answer.status_code == 200, f"{name}: {answer.text[:300]}"
        assert named(answer, served.markers()), f"the team found nothing through {name}"
    found = {m for answer in answers.values() for m in named(answer, served.markers())}
    assert found >= {
        served.ids["person_record_id"],
        served.ids["family_record_id"],
        PERSON_NOTE,
        FAMILY_NOTE,
        "NK_B",
        "NK_D",
        "NK_",
    }
