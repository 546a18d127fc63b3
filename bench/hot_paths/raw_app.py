"""The baseline: a minimal FastAPI app over a raw asyncpg pool, doing the SQL of the service's hot paths by hand.

    BENCH_RAW_DSN=postgresql://postgres@127.0.0.1:5432/<db> SPOJNIA_PESEL__KEY_FILE=<keys>/pesel-keys.json \
        .venv/bin/python -m bench.hot_paths.raw_app --port 8100 --workers 1

Served by uvicorn with the settings `spojnia serve` uses. It answers the same requests as the service (same
paths, bodies and headers) with the same rows, and writes the same audit records, in two statements per request
on one pooled connection and no explicit transaction (the read, then the audit INSERT; an answer is sent only once
its record is written). The pool's reset query on release is left out, since nothing leaves session state behind:

- POST /v1/shared-client-lookups: the person by the PESEL's blind index (the HMAC computed with the vault of the
  service's key file) joined with their active enrollments, institutions and workers; one audit row (LOOKUP);
- GET /v1/persons/{id}: the person (PESEL opened with the vault) with the caller's enrollments and the active ones
  elsewhere, institutions, workers and current family ids; one audit row (READ);
- GET /v1/families/{id}: the family, every membership, each member and their enrollments at the caller's
  institution with workers; one audit row for the family and one per member shown (one INSERT ... unnest).

It does NO authentication and no access policy: the caller's institution is read from the bearer token's payload
without checking its signature, and nothing else is checked. It holds its pool like the service's engine: as many
connections as SQLAlchemy's pool_size plus max_overflow (BENCH_RAW_POOL, 20 by default).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.adapters.crypto.key_file import KeyFile
from app.adapters.crypto.vault import PersonalDataVault, person_pesel_context

LABOUR_OFFICES = frozenset({"PUP", "WUP"})

LOOKUP = """
SELECT p.id, e.institution_id, e.since, i.name, i.type, i.email AS i_email, i.phone AS i_phone,
       w.first_name, w.last_name, w.email, w.phone
FROM persons p
JOIN enrollments e ON e.person_id = p.id AND e.until IS NULL
JOIN institutions i ON i.id = e.institution_id
LEFT JOIN workers w ON w.id = e.worker_id
WHERE p.pesel_hash = $1
ORDER BY e.since, e.id
"""

PERSON = """
SELECT p.id, p.first_name, p.last_name, p.birth_date, p.sex, p.pesel_sealed, p.id_doc_kind, p.id_doc_number,
       p.id_doc_country, p.version, p.created_at, p.updated_at,
       ARRAY(SELECT m.family_id FROM family_memberships m WHERE m.person_id = p.id AND m.until IS NULL) AS family_ids,
       e.id AS e_id, e.institution_id, i.name AS i_name, i.type AS i_type, e.status, e.since, e.until,
       e.external_ref, e.version AS e_version, w.id AS w_id, w.first_name AS w_first, w.last_name AS w_last,
       w.role AS w_role, w.email AS w_email, w.phone AS w_phone
FROM persons p
LEFT JOIN enrollments e ON e.person_id = p.id AND (e.institution_id = $2 OR e.until IS NULL)
LEFT JOIN institutions i ON i.id = e.institution_id
LEFT JOIN workers w ON w.id = e.worker_id
WHERE p.id = $1
ORDER BY e.since, e.id
"""

FAMILY = """
SELECT f.id, f.name, f.teryt, f.version, f.created_at, f.updated_at,
       m.id AS m_id, m.role, m.since AS m_since, m.until AS m_until, m.end_reason,
       p.id AS p_id, p.first_name, p.last_name, p.birth_date, p.sex,
       e.id AS e_id, e.institution_id, e.status, e.since AS e_since, e.until AS e_until, e.external_ref,
       e.version AS e_version, w.id AS w_id, w.first_name AS w_first, w.last_name AS w_last, w.role AS w_role,
       w.email AS w_email, w.phone AS w_phone
FROM families f
JOIN family_memberships m ON m.family_id = f.id
JOIN persons p ON p.id = m.person_id
LEFT JOIN enrollments e ON e.person_id = p.id AND e.institution_id = $2
LEFT JOIN workers w ON w.id = e.worker_id
WHERE f.id = $1
ORDER BY m.since, m.id, e.since, e.id
"""

AUDIT_ONE = """
INSERT INTO audit_events (id, occurred_at, actor, actor_worker_id, institution_id, action, subject_type, subject_id,
                          request_id, purpose, categories, decision, reason)
VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""

AUDIT_MANY = """
INSERT INTO audit_events (id, occurred_at, actor, actor_worker_id, institution_id, action, subject_type, subject_id,
                          request_id, purpose, categories, decision, reason)
SELECT u.id, $3, $4, NULL, $5, $6, u.subject_type, u.subject_id, $7, $8, $9, 'ALLOW', NULL
FROM unnest($1::uuid[], $2::uuid[], $10::text[]) AS u(id, subject_id, subject_type)
"""


def _caller(request: Request) -> tuple[uuid.UUID, str]:
    """The institution and subject named in the bearer token, read WITHOUT verifying it (no auth here)."""
    token = request.headers.get("authorization", "")[7:]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return uuid.UUID(claims["inst"]), str(claims["sub"])


def _default(value: object) -> str:
    if isinstance(value, uuid.UUID | date | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    raise TypeError(type(value).__name__)


def _json(content: Any, status: int = 200, version: int | None = None) -> Response:
    headers = {"ETag": f'"{version}"'} if version is not None else None
    body = json.dumps(content, default=_default, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _status_category(kind: str) -> str:
    return "labour_market_status" if kind in LABOUR_OFFICES else "social_assistance_status"


def _worker(row: asyncpg.Record) -> dict[str, Any] | None:
    if row["w_id"] is None:
        return None
    return {
        "id": row["w_id"],
        "first_name": row["w_first"],
        "last_name": row["w_last"],
        "role": row["w_role"],
        "contact": {"email": row["w_email"], "phone": row["w_phone"]},
    }


async def _audit(
    connection: asyncpg.Connection,
    institution: uuid.UUID,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID,
    purpose: str,
    categories: str,
    decision: str = "ALLOW",
) -> None:
    """One audit record, as the service writes it (reason: what opened the data, or why nothing was found)."""
    reason = "no match" if decision == "DENY" else "own records or agreement"
    await connection.execute(
        AUDIT_ONE,
        uuid.uuid4(),
        datetime.now(UTC),
        actor,
        institution,
        action,
        subject_type,
        subject_id,
        uuid.uuid4().hex,
        purpose,
        categories,
        decision,
        reason,
    )


async def _leave_as_is(_: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg's default costs a round trip): nothing here leaves session state."""


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_RAW_DSN"]
    pool_size = int(os.environ.get("BENCH_RAW_POOL", "20"))
    vault = PersonalDataVault(KeyFile(Path(os.environ["SPOJNIA_PESEL__KEY_FILE"])))
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            dsn, min_size=min(10, pool_size), max_size=pool_size, reset=_leave_as_is
        )
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> Response:
        return Response(b"ok")

    @app.post("/v1/shared-client-lookups")
    async def lookup(request: Request) -> Response:
        institution, subject = _caller(request)
        body = json.loads(await request.body())
        purpose = body["purpose"]
        async with state["pool"].acquire() as connection:
            return await _lookup(connection, institution, subject, purpose, vault.blind_index(body["pesel"]))

    async def _lookup(
        connection: asyncpg.Connection, institution: uuid.UUID, subject: str, purpose: str, digest: str
    ) -> Response:
        rows = await connection.fetch(LOOKUP, digest)
        if not rows:
            await _audit(connection, institution, subject, "LOOKUP", "lookup", uuid.uuid4(), purpose, "", "DENY")
            return _json({"matches": []})
        categories = ",".join(sorted({_status_category(r["type"]) for r in rows}))
        await _audit(connection, institution, subject, "LOOKUP", "person", rows[0]["id"], purpose, categories)
        served = [
            {
                "institution_id": r["institution_id"],
                "institution_name": r["name"],
                "institution_type": r["type"],
                "since": r["since"],
                "worker": None
                if r["first_name"] is None
                else {
                    "first_name": r["first_name"],
                    "last_name": r["last_name"],
                    "contact": {"email": r["email"], "phone": r["phone"]},
                },
                "institution_contact": {"email": r["i_email"], "phone": r["i_phone"]},
            }
            for r in rows
        ]
        return _json({"matches": [{"person_id": rows[0]["id"], "served_at": served}]})

    @app.get("/v1/persons/{person_id}")
    async def person(person_id: uuid.UUID, request: Request) -> Response:
        institution, subject = _caller(request)
        async with state["pool"].acquire() as connection:
            return await _person(connection, person_id, institution, subject)

    async def _person(
        connection: asyncpg.Connection, person_id: uuid.UUID, institution: uuid.UUID, subject: str
    ) -> Response:
        rows = await connection.fetch(PERSON, person_id, institution)
        if not rows:
            return _json({"title": "not found"}, 404)
        p = rows[0]
        own, elsewhere = [], []
        categories = {"identity"}
        for r in rows:
            if r["e_id"] is None:
                continue
            enrollment = {
                "id": r["e_id"],
                "institution_id": r["institution_id"],
                "status": r["status"],
                "since": r["since"],
                "until": r["until"],
                "worker": _worker(r),
                "external_ref": r["external_ref"],
                "version": r["e_version"],
            }
            categories.add(_status_category(r["i_type"]))
            if r["institution_id"] == institution:
                own.append(enrollment)
            else:
                elsewhere.append({**enrollment, "institution_name": r["i_name"], "institution_type": r["i_type"]})
        sealed = p["pesel_sealed"]
        pesel = vault.open(sealed, context=person_pesel_context(p["id"])) if sealed else None
        categorised = ",".join(sorted(categories))
        await _audit(connection, institution, subject, "READ", "person", person_id, "FAMILY_COOPERATION", categorised)
        document = (
            {"kind": p["id_doc_kind"], "number": p["id_doc_number"], "country": p["id_doc_country"]}
            if p["id_doc_kind"]
            else None
        )
        return _json(
            {
                "id": p["id"],
                "pesel": pesel,
                "identity_document": document,
                "first_name": p["first_name"],
                "last_name": p["last_name"],
                "birth_date": p["birth_date"],
                "sex": p["sex"],
                "enrollments": own,
                "served_elsewhere": elsewhere,
                "family_ids": p["family_ids"],
                "version": p["version"],
                "created_at": p["created_at"],
                "updated_at": p["updated_at"],
            },
            version=p["version"],
        )

    @app.get("/v1/families/{family_id}")
    async def family(family_id: uuid.UUID, request: Request) -> Response:
        institution, subject = _caller(request)
        async with state["pool"].acquire() as connection:
            return await _family(connection, family_id, institution, subject)

    async def _family(
        connection: asyncpg.Connection, family_id: uuid.UUID, institution: uuid.UUID, subject: str
    ) -> Response:
        rows = await connection.fetch(FAMILY, family_id, institution)
        if not rows:
            return _json({"title": "not found"}, 404)
        members: dict[uuid.UUID, dict[str, Any]] = {}
        for r in rows:
            member = members.get(r["m_id"])
            if member is None:
                member = members[r["m_id"]] = {
                    "membership_id": r["m_id"],
                    "role": r["role"],
                    "since": r["m_since"],
                    "until": r["m_until"],
                    "end_reason": r["end_reason"],
                    "current": r["m_until"] is None,
                    "person": {
                        "id": r["p_id"],
                        "first_name": r["first_name"],
                        "last_name": r["last_name"],
                        "birth_date": r["birth_date"],
                        "sex": r["sex"],
                        "enrollments": [],
                    },
                }
            if r["e_id"] is not None:
                member["person"]["enrollments"].append(
                    {
                        "id": r["e_id"],
                        "institution_id": r["institution_id"],
                        "status": r["status"],
                        "since": r["e_since"],
                        "until": r["e_until"],
                        "worker": _worker(r),
                        "external_ref": r["external_ref"],
                        "version": r["e_version"],
                    }
                )
        persons = list(dict.fromkeys(m["person"]["id"] for m in members.values()))
        subjects = [family_id, *persons]
        await connection.execute(
            AUDIT_MANY,
            [uuid.uuid4() for _ in subjects],
            subjects,
            datetime.now(UTC),
            subject,
            institution,
            "READ",
            uuid.uuid4().hex,
            "FAMILY_COOPERATION",
            "household,identity",
            ["family"] + ["person"] * len(persons),
        )
        f = rows[0]
        return _json(
            {
                "id": f["id"],
                "name": f["name"],
                "teryt": f["teryt"],
                "members": list(members.values()),
                "version": f["version"],
                "created_at": f["created_at"],
                "updated_at": f["updated_at"],
            },
            version=f["version"],
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="the raw-asyncpg baseline of bench.hot_paths")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The settings of `spojnia serve` (app/cli.py), quiet.
    uvicorn.run(
        "bench.hot_paths.raw_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        proxy_headers=True,
        loop="auto",
        http="auto",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
