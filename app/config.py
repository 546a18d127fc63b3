"""Settings from SPOJNIA_* environment variables (nested with a double underscore)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.ids import InstitutionId
from app.domain.retention import DEFAULT_DAYS, RecordClass, RetentionPolicy


class LocalIssuer(BaseModel):
    """Spójnia's own client-credentials tokens (the embedded default)."""

    enabled: bool = True
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "spojnia"
    # PEM file of the EC P-256 signing key; created on first use when missing.
    key_file: Path = Path(".spojnia/signing-key.pem")
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)


class ExternalOidc(BaseModel):
    """An external OpenID Connect provider (Keycloak, the county's identity server)."""

    jwks_url: str | None = None
    issuer: str | None = None
    audience: str = "spojnia"
    institution_claim: str = "inst"
    jwks_cache_seconds: int = 300
    # The least time between two fetches caused by tokens with an unknown key id.
    jwks_min_refetch_seconds: float = 10.0


class Webhooks(BaseModel):
    """Where partner systems may be called back, and how persistently."""

    # Development accepts http and loopback targets; anything else needs https to a public, allowed host.
    allow_insecure: bool | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    retry_base_ms: int = Field(default=2000, ge=1)
    max_attempts: int = Field(default=10, ge=1, le=30)
    timeout_seconds: float = Field(default=5.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)


class AuditTrail(BaseModel):
    """The audit trail's hash chain: how often it is sealed, who signs its checkpoints, where they are anchored."""

    # PEM file of the Ed25519 key that signs checkpoints; created on first use in development only.
    signing_key_file: Path = Path(".spojnia/audit-signing-key.pem")
    # Public keys (PEM) of earlier signing keys, so checkpoints signed before a rotation still verify.
    previous_public_key_files: list[Path] = Field(default_factory=list)
    # Each checkpoint is also appended here as a JSON line: keep it apart from the database (WORM storage, another
    # host), since whoever can rewrite the database can also rewrite the checkpoints kept in it.
    anchor_file: Path | None = None
    seal_interval_seconds: float = Field(default=5.0, gt=0)
    seal_batch_size: int = Field(default=5000, ge=1, le=100_000)


class PeselProtection(BaseModel):
    """Keys that keep PESELs out of the database in plain text: an HMAC key for the blind index, AES-GCM keys."""

    # JSON key file (see app/adapters/crypto/key_file.py), created on first use in development only: elsewhere a
    # missing file stops the service, since new keys would make every stored PESEL unfindable and unreadable.
    key_file: Path = Path(".spojnia/pesel-keys.json")
    # Keys from a secret store instead of the file (base64 of 32 bytes each; `keys` maps key id to AES key).
    # Such keys are rotated in the secret store; `spojnia keys rotate-pesel` works on the file only.
    hmac_key: SecretStr | None = None
    keys: dict[str, SecretStr] = Field(default_factory=dict)
    current_key: str | None = None


class RetentionPeriods(BaseModel):
    """Days each record class is kept after its clock starts (app/domain/retention.py says when it starts)."""

    referral_copy: int = Field(default=DEFAULT_DAYS[RecordClass.REFERRAL_COPY], ge=1)
    ended_enrollment: int = Field(default=DEFAULT_DAYS[RecordClass.ENDED_ENROLLMENT], ge=1)
    consent: int = Field(default=DEFAULT_DAYS[RecordClass.CONSENT], ge=1)
    agreement: int = Field(default=DEFAULT_DAYS[RecordClass.AGREEMENT], ge=1)
    person: int = Field(default=DEFAULT_DAYS[RecordClass.PERSON], ge=1)


class InstitutionRetention(BaseModel):
    """An institution's own periods, from its file plan (JRWA); a class it leaves out keeps the default."""

    referral_copy: int | None = Field(default=None, ge=1)
    ended_enrollment: int | None = Field(default=None, ge=1)
    consent: int | None = Field(default=None, ge=1)
    agreement: int | None = Field(default=None, ge=1)
    person: int | None = Field(default=None, ge=1)


class Retention(BaseModel):
    """How long records are kept: defaults, and each institution's own periods by its id."""

    # Whether `spojnia jobs` runs the purge, and how often; `spojnia retention purge` runs it whatever these say.
    enabled: bool = True
    interval_hours: float = Field(default=24, gt=0)
    batch_size: int = Field(default=200, ge=1, le=10_000)
    defaults: RetentionPeriods = RetentionPeriods()
    institutions: dict[UUID, InstitutionRetention] = Field(default_factory=dict)

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            defaults={RecordClass(k): v for k, v in self.defaults.model_dump().items()},
            overrides={
                InstitutionId(i): {RecordClass(k): v for k, v in own.model_dump().items() if v is not None}
                for i, own in self.institutions.items()
            },
            batch_size=self.batch_size,
        )


class PartnerApi(BaseModel):
    """One institution's system reached over HTTP (the contract: openapi/partner/openapi.json)."""

    # Must pass the webhooks' URL policy: outside development, https to a public (allowed) host.
    base_url: str
    # The bearer token the partner's system issued to Spójnia; never logged or shown.
    token: SecretStr
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    event_types: list[str] = Field(default_factory=lambda: ["*"])  # events POSTed besides the envelopes


class PartnerSync(BaseModel):
    """How persistently partners' systems are called (`spojnia partners sync`)."""

    retry_base_ms: int = Field(default=2000, ge=1)
    # Back-off doubles each time: 20 attempts span two to three weeks before a delivery is parked.
    max_attempts: int = Field(default=20, ge=1, le=40)
    # The circuit breaker: this many failures in a row, then no call for the cool-down, then one trial call.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=60.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    status_poll_seconds: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=20, ge=1, le=500)


class RecordSync(BaseModel):
    """File batches from the institutions' record systems (`spojnia sync`, POST /v1/imports)."""

    # Per-institution adjustments of the shipped mapping profiles: `<institution id>.<profile>.yaml` files here,
    # deep-merged over the profile (app/adapters/record_systems/profiles.py).
    overrides_dir: Path | None = None
    # The largest file the upload endpoint takes.
    max_upload_mb: int = Field(default=50, ge=1, le=1024)
    # Each institution's record system, by its profile (pomost-std, tt-pomoc, syriusz-std, generic-csv): the
    # `spojnia sync` commands use it when no --profile is given, e.g. '{"<institution id>": "syriusz-std"}'.
    institutions: dict[str, str] = Field(default_factory=dict)
    # Where the systems of those institutions drop their exports and pick up Spójnia's files, one folder per
    # institution id (app/adapters/record_systems/file_exchange.py): what `spojnia sync pull` reads.
    exchange_dir: Path | None = None

    def profile_of(self, institution_id: object, given: str | None) -> str | None:
        return given or self.institutions.get(str(institution_id))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPOJNIA_", env_nested_delimiter="__", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./spojnia.db"
    database_pool_size: int = 10
    log_level: str = "INFO"
    environment: str = "development"
    local_issuer: LocalIssuer = LocalIssuer()
    oidc: ExternalOidc = ExternalOidc()
    # Idempotency keys are kept this long; a retry after that is a new request.
    idempotency_ttl_hours: int = 24
    graphql_max_depth: int = 8
    graphql_max_tokens: int = 2000
    graphql_max_aliases: int = 30
    webhooks: Webhooks = Webhooks()
    pesel: PeselProtection = PeselProtection()
    # Days a receiver has to answer a referral, by requested instrument code.
    referral_response_days: dict[str, int] = Field(
        default_factory=lambda: {"default": 14, "TRAINING": 21, "INTERNSHIP": 21, "CAREER_GUIDANCE": 7}
    )
    jobs_interval_seconds: float = Field(default=300, gt=0)
    retention: Retention = Retention()
    # Shared-client lookups one API client may make per window (counted in the database, across workers).
    lookups_per_window: int = Field(default=60, ge=1)
    lookup_window_seconds: int = Field(default=60, ge=1, le=3600)
    audit: AuditTrail = AuditTrail()
    # Partner APIs by institution id, e.g. SPOJNIA_PARTNER_APIS='{"<id>": {"base_url": "...", "token": "..."}}'.
    partner_apis: dict[UUID, PartnerApi] = Field(default_factory=dict)
    partner_sync: PartnerSync = PartnerSync()
    sync: RecordSync = RecordSync()

    @property
    def development(self) -> bool:
        return self.environment == "development"

    def webhook_insecure_allowed(self) -> bool:
        allowed = self.webhooks.allow_insecure
        return self.development if allowed is None else allowed
