"""The run's key directory: PESEL keys, the token-signing key, the audit key, and the sample of inputs.

They live outside the repository (~/.cache/spojnia-bench/hot_paths/<database>/) so that a kept database can be
reused with the very keys its PESELs were hashed and sealed under.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from app.adapters.auth.tokens import LocalTokenIssuer
from app.adapters.crypto.key_file import KeyFile, create_key_file
from app.adapters.crypto.vault import KeyRing, PersonalDataVault
from app.config import LocalIssuer
from app.domain.ids import InstitutionId

CACHE = Path.home() / ".cache" / "spojnia-bench"
KEYS_ROOT = CACHE / "hot_paths"

# What each kind of caller may do; the bench only reads.
SCOPES = frozenset(
    {"persons:read", "families:read", "referrals:read", "reports:read", "contracts:read"},
)


@dataclass(frozen=True, slots=True)
class KeyDir:
    path: Path

    @classmethod
    def of(cls, database: str) -> KeyDir:
        return cls(KEYS_ROOT / database)

    @property
    def pesel_keys(self) -> Path:
        return self.path / "pesel-keys.json"

    @property
    def signing_key(self) -> Path:
        return self.path / "signing-key.pem"

    @property
    def audit_key(self) -> Path:
        return self.path / "audit-signing-key.pem"

    @property
    def sample(self) -> Path:
        return self.path / "sample.json"

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_key_file(self.pesel_keys, KeyRing.generate())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def vault(self) -> PersonalDataVault:
        """The vault the service will open: the same key file, read the same way."""
        return PersonalDataVault(KeyFile(self.pesel_keys))

    def service_env(self, database_url: str) -> dict[str, str]:
        """The settings of a service process for the run (development, quiet, the rate limit out of the way)."""
        return {
            "SPOJNIA_DATABASE_URL": database_url,
            "SPOJNIA_ENVIRONMENT": "development",
            "SPOJNIA_LOG_LEVEL": "WARNING",
            "SPOJNIA_PESEL__KEY_FILE": str(self.pesel_keys),
            "SPOJNIA_LOCAL_ISSUER__KEY_FILE": str(self.signing_key),
            "SPOJNIA_AUDIT__SIGNING_KEY_FILE": str(self.audit_key),
            "SPOJNIA_LOOKUPS_PER_WINDOW": str(10**12),
        }


def mint_tokens(keys: KeyDir, institutions: dict[str, str], ttl: int = 12 * 3600) -> dict[str, str]:
    """A system token per institution (id -> type), signed by the key the service's local issuer loads."""
    issuer = LocalTokenIssuer(LocalIssuer(key_file=keys.signing_key))
    return {
        inst: issuer.issue(
            subject=f"bench-{kind.lower()}-{inst[:8]}",
            institution_id=InstitutionId(UUID(inst)),
            scopes=SCOPES,
            ttl=ttl,
        ).access_token
        for inst, kind in institutions.items()
    }
