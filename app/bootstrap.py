"""The one composition root: settings in, ports wired to adapters out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from app.adapters.audit_signing import AnchorFile, CheckpointKeys
from app.adapters.auth.tokens import LocalTokenIssuer, RemoteJwks, TokenVerifier
from app.adapters.crypto.key_file import open_vault
from app.adapters.crypto.vault import PersonalDataVault
from app.adapters.db.audit_chain import SqlAuditChain
from app.adapters.db.directory_repository import SqlDirectoryStore
from app.adapters.db.engine import asyncpg_dsn, make_engine, make_session_factory
from app.adapters.db.idempotency import SqlIdempotencyStore
from app.adapters.db.read_models import asyncpg_read_models
from app.adapters.db.read_pool import ReadPool
from app.adapters.db.record_sync_repository import SqlRecordImportStore
from app.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from app.adapters.events.partner_relay import PartnerRelay, build_partner_relay, partner_endpoints
from app.adapters.events.relay import Relay
from app.adapters.record_systems.file_exchange import FileRecordSystem
from app.adapters.record_systems.partner_api import HttpRecordSystem
from app.adapters.record_systems.profiles import load_profile
from app.config import Settings
from app.domain.clock import SystemClock
from app.domain.code_lists import default_code_lists
from app.domain.ids import InstitutionId, PersonId
from app.domain.ports import Clock
from app.domain.record_imports import RecordImportStore
from app.domain.record_systems import RecordSystem, RecordSystemKind
from app.domain.services.context import Policies, UseCaseContext
from app.domain.services.directory import DirectoryStore
from app.domain.webhooks import RetryPolicy, UrlPolicy


@dataclass(kw_only=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    ctx: UseCaseContext
    issuer: LocalTokenIssuer | None
    verifier: TokenVerifier
    idempotency: SqlIdempotencyStore
    http: httpx.AsyncClient
    relay: Relay
    audit_chain: SqlAuditChain
    directory: DirectoryStore
    url_policy: UrlPolicy
    vault: PersonalDataVault
    # The asyncpg pool of PostgreSQL's read models (ctx.read_models); None on SQLite.
    read_pool: ReadPool | None = None

    @cached_property
    def partners(self) -> PartnerRelay:
        """The partner relay (`spojnia partners sync`), built on first use: a partner URL that the URL policy
        refuses stops that command, not the API."""
        return build_partner_relay(
            self.settings, make_session_factory(self.engine), self.ctx, self.http, publish=self.relay.publish
        )

    @cached_property
    def record_imports(self) -> RecordImportStore:
        """Units of work of file batches (`spojnia sync`, POST /v1/imports): source records, batches, bulk rows."""
        return SqlRecordImportStore(make_session_factory(self.engine), self.vault)

    def record_system(self, institution_id: InstitutionId) -> RecordSystem | None:
        """The institution's record system as the settings name it: its partner API (SPOJNIA_PARTNER_APIS), else
        its exchange folder read with its profile (SPOJNIA_SYNC__INSTITUTIONS, SPOJNIA_SYNC__EXCHANGE_DIR); None
        when neither is set. InvalidInput for a partner URL the URL policy refuses, ProfileError for a profile."""
        api = self.settings.partner_apis.get(institution_id)
        if api is not None:
            [endpoint] = partner_endpoints({institution_id: api}, self.url_policy)
            insecure = self.settings.webhook_insecure_allowed()
            return HttpRecordSystem(endpoint, self.http, self.ctx.codes, allow_private_targets=insecure)
        sync = self.settings.sync
        name = sync.institutions.get(str(institution_id))
        if name is None or sync.exchange_dir is None:
            return None
        profile = load_profile(name, institution_id=institution_id, overrides_dir=sync.overrides_dir)
        store = self.record_imports

        async def own_refs(ids: Sequence[PersonId]) -> Mapping[PersonId, str]:
            async with store() as uow:
                return await uow.sources.refs_of_persons(institution_id, ids)

        # Only the shipped profiles load, and each is the name of its kind of system.
        kind = RecordSystemKind(name)
        return FileRecordSystem(kind, profile, sync.exchange_dir / str(institution_id), own_refs=own_refs)

    async def aclose(self) -> None:
        await self.http.aclose()
        if self.read_pool is not None:
            await self.read_pool.aclose()
        await self.engine.dispose()


def bootstrap(settings: Settings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    # Missing keys outside development stop the start here, before any request could store a PESEL.
    vault = open_vault(settings.pesel, development=settings.development)
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    sessions = make_session_factory(engine)
    # As many connections as the engine may open (pool size plus overflow): the hot paths now go through this pool.
    read_pool = (
        ReadPool(asyncpg_dsn(engine), size=2 * settings.database_pool_size)
        if engine.dialect.name == "postgresql"
        else None
    )
    http = httpx.AsyncClient()
    issuer = (
        LocalTokenIssuer(settings.local_issuer, create_missing=settings.development)
        if settings.local_issuer.enabled
        else None
    )
    remote = RemoteJwks(settings.oidc, http) if settings.oidc.jwks_url else None
    return Container(
        settings=settings,
        engine=engine,
        ctx=UseCaseContext(
            uow=SqlUnitOfWorkFactory(sessions, vault),
            clock=clock,
            codes=default_code_lists(),
            read_models=asyncpg_read_models(read_pool, vault) if read_pool else None,
            policies=Policies(
                referral_response_days=settings.referral_response_days,
                lookups_per_window=settings.lookups_per_window,
                lookup_window_seconds=settings.lookup_window_seconds,
                retention=settings.retention.policy(),
            ),
        ),
        issuer=issuer,
        verifier=TokenVerifier(issuer, settings.local_issuer, settings.oidc, remote),
        idempotency=SqlIdempotencyStore(sessions, vault, ttl_hours=settings.idempotency_ttl_hours),
        http=http,
        relay=Relay(
            sessions,
            http,
            retry=RetryPolicy(
                base_delay_ms=settings.webhooks.retry_base_ms, max_attempts=settings.webhooks.max_attempts
            ),
            clock=clock,
            allow_private_targets=settings.webhook_insecure_allowed(),
            timeout_seconds=settings.webhooks.timeout_seconds,
        ),
        audit_chain=SqlAuditChain(
            sessions,
            CheckpointKeys(settings.audit, create_missing=settings.development),
            clock=clock,
            anchor=AnchorFile(settings.audit.anchor_file) if settings.audit.anchor_file else None,
            batch_size=settings.audit.seal_batch_size,
        ),
        directory=SqlDirectoryStore(sessions),
        url_policy=UrlPolicy(
            allow_insecure=settings.webhook_insecure_allowed(), allowed_hosts=tuple(settings.webhooks.allowed_hosts)
        ),
        vault=vault,
        read_pool=read_pool,
    )
