"""Use cases of API clients and callers: registering a client, checking its secret,
turning verified token claims into the caller that use cases see."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from app.domain.caller import Caller
from app.domain.clients import ApiClient, hash_secret, parse_scopes
from app.domain.errors import NotFound, PermissionDenied
from app.domain.ids import InstitutionId, WorkerId
from app.domain.services.context import UseCaseContext


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedClaims:
    """Claims of a token whose signature, issuer, audience and lifetime were checked."""

    subject: str
    institution_id: InstitutionId
    scopes: frozenset[str]
    roles: frozenset[str]
    # True for tokens of Spójnia's own client-credentials endpoint: their subject is a client.
    system: bool


async def register_client(
    ctx: UseCaseContext, *, institution_id: InstitutionId, scope: str, name: str
) -> tuple[ApiClient, str]:
    """Returns the client and its secret; the secret is shown once and stored only hashed."""
    scopes = parse_scopes(scope)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"spojnia-{secrets.token_hex(8)}",
        secret_hash=await asyncio.to_thread(hash_secret, secret),
        institution_id=institution_id,
        scopes=scopes,
        name=name,
        created_at=ctx.clock.now(),
    )
    async with ctx.uow() as uow:
        if await uow.institutions.get(institution_id) is None:
            raise NotFound("no such institution")
        await uow.api_clients.add(client)
        await uow.commit()
    return client, secret


async def authenticate_client(ctx: UseCaseContext, client_id: str, secret: str) -> ApiClient | None:
    async with ctx.uow() as uow:
        client = await uow.api_clients.get(client_id)
    # scrypt takes tens of milliseconds of CPU: off the event loop, so other requests go on meanwhile.
    if client is None:
        # Hash anyway, so that the answer's timing does not tell which client ids exist.
        await asyncio.to_thread(hash_secret, secret)
        return None
    if not await asyncio.to_thread(client.secret_matches, secret) or not client.active:
        return None
    return client


async def resolve_caller(
    ctx: UseCaseContext, claims: VerifiedClaims, acting_worker: WorkerId | None, request_id: str
) -> Caller:
    """A worker's own token acts as that worker; only a system token may name a worker of its institution."""
    # A system client acting for nobody has nothing to look up (most calls of vendors' systems).
    worker_id = None if claims.system and acting_worker is None else await _acting(ctx, claims, acting_worker)
    return Caller(
        subject=claims.subject,
        institution_id=claims.institution_id,
        scopes=claims.scopes,
        roles=claims.roles,
        worker_id=worker_id,
        request_id=request_id,
    )


async def _acting(ctx: UseCaseContext, claims: VerifiedClaims, acting_worker: WorkerId | None) -> WorkerId | None:
    worker_id: WorkerId | None = None
    async with ctx.uow() as uow:
        if not claims.system:
            own = await uow.workers.by_idp_subject(claims.institution_id, claims.subject)
            if own is not None and not own.active:
                raise PermissionDenied("the token's worker is no longer active")
            worker_id = own.id if own else None
        if acting_worker is not None:
            # A person's token (not a system client's) never acts for someone else, whether or not
            # its subject is a registered worker.
            if not claims.system and acting_worker != worker_id:
                raise PermissionDenied("a worker's own token cannot act for another worker")
            worker = await uow.workers.get(acting_worker)
            if worker is None or worker.institution_id != claims.institution_id or not worker.active:
                raise PermissionDenied("the acting worker is not a worker of the token's institution")
            worker_id = worker.id
    return worker_id
