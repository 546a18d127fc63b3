"""Schemathesis against the committed spec and the real ASGI app: no 5xx, and answers as documented.

The app under test is `create_app(settings)` without a container: its lifespan builds its own engine on
the event loop schemathesis serves ASGI apps from, so nothing is shared with the session loop of the other
fixtures except the database. Each operation's run starts from a small world (a person enrolled at an
institution with every scope, in a family). So that the cases reach past 404, 403 and 412 into the use
cases, a reproducible coin per case swaps the generated ids for the world's ones (half the cases), drops
the generated X-Acting-Worker (three in four: the world's token is a worker's own, which may act for no
one) and sends the record's current ETag as If-Match (half). Seeded and derandomized: CI sees the same
cases every run; the examples, coverage and fuzzing phases all run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from schemathesis.python import asgi

from app.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES
from app.config import Settings
from app.main import create_app
from tests.builders import JAN, person_body
from tests.conftest import Party

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
MAX_EXAMPLES = 20
SEED = 90_457  # fixed, so a failure seen in CI is the one seen locally

schema = schemathesis.openapi.from_path(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {
                # Valid by the schema is not valid by the domain: code lists, PESEL checksums, dates in order.
                "positive_data_acceptance": {"enabled": False},
                # Rejections; 412 included because preconditions are checked before the body is read
                # (RFC 9110 §13.2.1), so a malformed If-Match wins over a malformed body.
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "405", "409", "412", "415", "422", "428"]
                },
            },
        }
    ),
)

KNOWN_TYPES = {kind.uri for kind in PROBLEM_TYPES.values()}
_RAW = json.loads(SPEC.read_text(encoding="utf-8"))
TAKES_IF_MATCH = {
    (method.upper(), path)
    for path, item in _RAW["paths"].items()
    for method, operation in item.items()
    if any(p["name"] == "If-Match" for p in operation.get("parameters", []))
}


@dataclass(frozen=True)
class World:
    token: str
    ids: dict[str, str]
    person_url: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture
async def world(client: httpx.AsyncClient, ops: Party) -> World:
    person = await client.post("/v1/persons", json=person_body(JAN), headers=ops.headers())
    assert person.status_code == 201, person.text
    family = await client.post(
        "/v1/families",
        json={"name": "Rodzina Nowaków", "members": [{"person_id": person.json()["id"], "role": "PARENT"}]},
        headers=ops.headers(),
    )
    assert family.status_code == 201, family.text
    return World(
        token=ops.token(),
        ids={
            "person_id": person.json()["id"],
            "enrollment_id": person.json()["enrollments"][0]["id"],
            "family_id": family.json()["id"],
            "membership_id": family.json()["members"][0]["membership_id"],
            "institution_id": str(ops.id),
            "worker_id": str(ops.worker_id),
        },
        person_url=person.headers["location"],
    )


def current_etag(app: FastAPI, world: World, case: schemathesis.Case) -> str | None:
    """The ETag of the record the case changes, read from the app under test."""
    with asgi.get_client(app) as http:
        if case.path.startswith("/v1/enrollments/"):
            person = http.get(world.person_url, headers=world.headers)
            wanted = case.path_parameters.get("enrollment_id")
            versions = [e["version"] for e in person.json().get("enrollments", []) if e["id"] == wanted]
            return f'"{versions[0]}"' if person.status_code == 200 and versions else None
        record = "/".join(case.formatted_path.split("/")[:4])  # /v1/<collection>/<id>
        found = http.get(record, headers=world.headers)
        return found.headers.get("etag") if found.status_code == 200 else None


def coin(case: schemathesis.Case, salt: str, *, one_in: int = 2) -> bool:
    """A reproducible coin per case (true once in `one_in`): the same case always lands the same side."""
    seen = [salt, case.path_parameters, case.query, case.body]
    return zlib.crc32(json.dumps(seen, sort_keys=True, default=repr).encode()) % one_in == 0


@schema.parametrize()
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_server_error_and_answers_as_documented(case: schemathesis.Case, fuzzed_app: FastAPI, world: World) -> None:
    if coin(case, "known ids"):
        for name in case.path_parameters or {}:
            if name in world.ids:
                case.path_parameters[name] = world.ids[name]
    headers = dict(case.headers or {})
    if "X-Acting-Worker" in headers and not coin(case, "acting worker", one_in=4):
        # A worker's own token may not act for anyone: most cases go on as the token's caller.
        del headers["X-Acting-Worker"]
    if (case.method.upper(), case.path) in TAKES_IF_MATCH and coin(case, "current etag"):
        tag = current_etag(fuzzed_app, world, case)
        if tag is not None:
            headers["If-Match"] = tag
    case.headers = headers
    response = case.call_and_validate(app=fuzzed_app, headers=world.headers)
    content_type = {name.lower(): values for name, values in response.headers.items()}.get("content-type", [""])
    if content_type[0].split(";")[0] == PROBLEM_MEDIA_TYPE:
        problem = response.json()
        assert problem["status"] == response.status_code, f"a {response.status_code} answer says {problem}"
        assert problem["type"] in KNOWN_TYPES, problem
