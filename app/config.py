"""Settings from SPOJNIA_* environment variables (nested with a double underscore)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # Days a receiver has to answer a referral, by requested instrument code.
    referral_response_days: dict[str, int] = Field(
        default_factory=lambda: {"default": 14, "TRAINING": 21, "INTERNSHIP": 21, "CAREER_GUIDANCE": 7}
    )
    jobs_interval_seconds: float = Field(default=300, gt=0)

    @property
    def development(self) -> bool:
        return self.environment == "development"

    def webhook_insecure_allowed(self) -> bool:
        allowed = self.webhooks.allow_insecure
        return self.development if allowed is None else allowed
