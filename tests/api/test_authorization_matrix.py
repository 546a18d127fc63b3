"""The authorization matrix (issue 6): every route and GraphQL field that carries personal data, asked by every kind
of caller, answers what /work/shared/api.md and the legal basis of sharing say, from one table
(tests/authorization_table.py). A route or a top-level GraphQL field without a row fails here.

The world is built once per test and the whole table runs in it; every mismatch is collected, so a failure reads as
a table of `row [case] as caller: expected ..., got ...`. A cell the app answers wrongly, once found, may be marked
`bug(...)` in the table while it is being fixed: the matrix then requires it to stay wrong until the fix drops the
marker, so that neither a fix nor a regression goes unnoticed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.graphql.schema import build_schema
from app.bootstrap import Container
from app.main import create_app
from tests.authorization_table import (
    GRAPHQL,
    REST,
    Call,
    Case,
    Expect,
    Harness,
    Party,
    Personal,
    Row,
    Scene,
    Target,
    Who,
    build_world,
    expired_agreement,
    new_institution,
    person_a,
)


@pytest.fixture
async def harness(
    client: httpx.AsyncClient, container: Container, parties: dict[str, Party], zi: Party, other_zi: Party
) -> Harness:
    ops = parties["ops"]
    expired = await new_institution(container, "PCPR", "PCPR w Kętrzynie", "2808")
    await expired_agreement(container, ops.id, expired.id)
    withdrawn = await new_institution(container, "NGO", "Fundacja Drugi Krok", "2801011")
    callers: dict[Who, Party] = {
        Who.OWN: ops,
        Who.PARTNER: parties["pup"],
        Who.EXPIRED: expired,
        Who.NO_AGREEMENT: parties["other_ops"],
        Who.NGO: parties["ngo"],
        Who.NGO_WITHDRAWN: withdrawn,
        Who.ZI: zi,
        Who.ZI_OTHER: other_zi,
        Who.WRONG_SCOPE: ops,
        Who.NO_TOKEN: ops,
    }
    h = Harness(client, container, callers)
    await build_world(h)
    return h


Job = tuple[tuple[int, int], tuple[str, str], Case]
PARALLEL = 8  # requests in flight at once: reads, and refusals that change nothing


@dataclass
class Verdicts:
    failures: list[str] = field(default_factory=list)  # a cell not answered as the table says
    known: list[str] = field(default_factory=list)  # a cell marked as a reported bug, still wrong
    fixed: list[str] = field(default_factory=list)  # a cell marked as a reported bug, now right

    def report(self) -> str:
        lines = [*self.failures, *(f"FIXED, drop its bug(...) marker: {line}" for line in self.fixed)]
        return f"{len(lines)} cell(s) of the authorization matrix:\n" + "\n".join(lines)


def _leaks(case: Case, scene: Scene, response: httpx.Response) -> bool:
    """For an answer that must not carry the data: A's surname or PESEL, or the row's own marker."""
    try:
        by_row = case.probe(scene, response)
    except (KeyError, TypeError, ValueError, AttributeError):
        by_row = False
    return by_row or person_a(scene, response)


def _judge(case: Case, expect: Expect, scene: Scene, response: httpx.Response) -> str | None:
    status = case.status(response)
    if status != expect.status:
        seen = " carrying the data" if _leaks(case, scene, response) else ""
        return f"got {status}{seen}"
    if not 200 <= status < 300:
        return "got the error, but it carries the data" if _leaks(case, scene, response) else None
    if expect.sees is not None and case.probe(scene, response) != expect.sees:
        return f"got {status} {'with' if not expect.sees else 'without'} the data"
    return case.check(scene, response) if case.check else None


@dataclass
class Matrix:
    """Runs the cells of a table and keeps their verdicts in the table's order, whatever order they ran in."""

    h: Harness
    method_of: Callable[[tuple[str, str]], str]
    only_bugs: bool = False
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(PARALLEL))
    verdicts: dict[tuple[int, int, int], tuple[Expect, str | None, str]] = field(default_factory=dict)

    async def cell(self, at: tuple[int, int], key: tuple[str, str], case: Case, target: Target, who: Who) -> int:
        scene = Scene(self.h.world, target, who)
        expect = case.expect[who]
        async with self.gate:
            response = await self.h.send(who, self.method_of(key), case.call(scene))
        wrong = _judge(case, expect, scene, response)
        line = f"{key[0]} {key[1]} [{case.name}] as {who}: expected {expect}, {wrong}: {response.text[:300]}"
        self.verdicts[(*at, list(Who).index(who))] = (expect, wrong, line)
        return case.status(response)

    def wanted(self, case: Case) -> list[Who]:
        return [who for who in Who if not self.only_bugs or case.expect[who].bug is not None]

    async def prepare(self, case: Case) -> Target:
        return await case.prepare(self.h) if case.prepare else Target(self.h.world.main)

    async def run_free(self, at: tuple[int, int], key: tuple[str, str], case: Case) -> None:
        """A read, or a write whose success changes nothing another cell depends on: all callers at once."""
        callers = self.wanted(case)
        if callers:
            target = await self.prepare(case)
            await asyncio.gather(*(self.cell(at, key, case, target, who) for who in callers))

    async def run_ordered(self, at: tuple[int, int], key: tuple[str, str], case: Case) -> None:
        """A write that changes its target: the refusals at once, then each success on a target prepared afresh."""
        callers = self.wanted(case)
        if not callers:
            return
        first = await self.prepare(case)
        refused = [w for w in callers if case.expect[w].bug is None and not 200 <= case.expect[w].status < 300]
        await asyncio.gather(*(self.cell(at, key, case, first, who) for who in refused))
        target: Target | None = first
        for who in (w for w in callers if w not in refused):
            target = target or await self.prepare(case)
            if 200 <= await self.cell(at, key, case, target, who) < 300:
                target = None

    def result(self) -> Verdicts:
        verdicts = Verdicts()
        for _, (expect, wrong, line) in sorted(self.verdicts.items()):
            if expect.bug is None:
                if wrong:
                    verdicts.failures.append(line)
            else:
                (verdicts.known if wrong else verdicts.fixed).append(line)
        return verdicts


async def run(
    h: Harness,
    table: Mapping[tuple[str, str], Row],
    method_of: Callable[[tuple[str, str]], str],
    mutates: Callable[[tuple[str, str]], bool],
    *,
    only_bugs: bool = False,
) -> Verdicts:
    matrix = Matrix(h, method_of, only_bugs)
    reads: list[Job] = []
    free: list[Job] = []
    ordered: list[Job] = []
    for r, (key, row) in enumerate(table.items()):
        if isinstance(row, Personal):
            for c, case in enumerate(row.cases):
                refresh = case.refresh if case.refresh is not None else mutates(key)
                job = ((r, c), key, case)
                (ordered if refresh else free if mutates(key) else reads).append(job)
    # Reads first, all at once, on the world as built; then the writes whose success changes no one else's view
    # of the world, at once; then the writes that change their target, one row after another.
    await asyncio.gather(*(matrix.run_free(*job) for job in reads))
    await asyncio.gather(*(matrix.run_free(*job) for job in free))
    for job in ordered:
        await matrix.run_ordered(*job)
    return matrix.result()


def _rest_method(key: tuple[str, str]) -> str:
    return key[0]


def _rest_mutates(key: tuple[str, str]) -> bool:
    return key[0] != "GET"


def _graphql_method(key: tuple[str, str]) -> str:
    return "POST"


def _graphql_mutates(key: tuple[str, str]) -> bool:
    return key[0] == "Mutation"


# --- the table covers the app ------------------------------------------------------------------------------------


def test_every_route_has_a_row_and_every_row_a_route(container: Container) -> None:
    app = create_app(container=container)
    declared = {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }
    assert {k for k in declared if k[1].startswith("/v1/")}, "no /v1 route found: the walk over the routes broke"
    assert ("POST", "/graphql") in declared
    missing = sorted(declared - REST.keys())
    assert not missing, f"routes without a row in tests/authorization_table.py REST: {missing}"
    stale = sorted(REST.keys() - declared)
    assert not stale, f"rows of REST for routes the app does not declare: {stale}"


def test_every_top_level_graphql_field_has_a_row(container: Container) -> None:
    schema = build_schema(container.settings).introspect()["__schema"]
    roots = {"Query": schema["queryType"]["name"], "Mutation": (schema.get("mutationType") or {}).get("name")}
    declared = {
        (root, f["name"])
        for t in schema["types"]
        for root, name in roots.items()
        if t["name"] == name
        for f in t["fields"]
    }
    assert ("Query", "person") in declared
    missing = sorted(declared - GRAPHQL.keys())
    assert not missing, f"GraphQL fields without a row in tests/authorization_table.py GRAPHQL: {missing}"
    stale = sorted(GRAPHQL.keys() - declared)
    assert not stale, f"rows of GRAPHQL for fields the schema does not have: {stale}"


def test_every_case_names_every_caller() -> None:
    incomplete = [
        f"{key} [{case.name}]: {sorted(set(Who) - case.expect.keys())}"
        for table in (REST, GRAPHQL)
        for key, row in table.items()
        if isinstance(row, Personal)
        for case in row.cases
        if set(case.expect) != set(Who)
    ]
    assert not incomplete, incomplete


# --- the matrix ----------------------------------------------------------------------------------------------------


async def test_rest_authorization_matrix(harness: Harness) -> None:
    verdicts = await run(harness, REST, _rest_method, _rest_mutates)
    assert not [*verdicts.failures, *verdicts.fixed], verdicts.report()


def _over_get(case: Case) -> Case:
    """The same query as a GET /graphql with the query and variables in the query string."""

    def call(scene: Scene) -> Call:
        posted = case.call(scene)
        return Call(
            posted.path,
            params={"query": posted.json["query"], "variables": json.dumps(posted.json["variables"])},
        )

    return replace(case, name=f"{case.name}, over GET", call=call)


async def test_graphql_authorization_matrix(harness: Harness) -> None:
    verdicts = await run(harness, GRAPHQL, _graphql_method, _graphql_mutates)
    # GET /graphql is the same door for queries: the first case of the person's row through it.
    person = GRAPHQL[("Query", "person")]
    assert isinstance(person, Personal)
    over_get = {("Query", "person"): Personal(person.why, [_over_get(person.cases[0])])}
    through_get = await run(harness, over_get, lambda _: "GET", _graphql_mutates)
    assert not [*verdicts.failures, *verdicts.fixed], verdicts.report()
    assert not through_get.failures, through_get.report()
