"""API clients registered for the service's own OAuth2 client-credentials endpoint."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from app.domain.caller import ALL_SCOPES
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import InstitutionId

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def parse_scopes(raw: str) -> frozenset[str]:
    scopes = frozenset(raw.split())
    if not scopes:
        raise InvalidInput("a client needs at least one scope", [FieldError("scope", "at least one scope")])
    unknown = scopes - ALL_SCOPES
    if unknown:
        message = f"unknown scopes: {', '.join(sorted(unknown))}"
        raise InvalidInput(message, [FieldError("scope", message)])
    return scopes


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiClient:
    client_id: str
    secret_hash: str
    institution_id: InstitutionId
    scopes: frozenset[str]
    name: str
    created_at: datetime
    active: bool = True

    def secret_matches(self, secret: str) -> bool:
        _, salt_hex, digest_hex = self.secret_hash.split("$")
        candidate = hash_secret(secret, bytes.fromhex(salt_hex)).split("$")[2]
        return hmac.compare_digest(candidate, digest_hex)

    def grant(self, requested: frozenset[str] | None) -> frozenset[str]:
        """Scopes for a token: those asked for, never more than registered."""
        if requested is None:
            return self.scopes
        return requested & self.scopes
