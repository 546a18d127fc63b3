"""Bearer tokens: Spójnia's own ES256 issuer and verification of its own and an OIDC provider's.

JOSE comes from joserfc, Authlib's successor to `authlib.jose`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, KeySet, KeySetSerialization
from joserfc.jwt import JWTClaimsRegistry

from app.config import ExternalOidc, LocalIssuer
from app.domain.ids import InstitutionId
from app.domain.services.clients import VerifiedClaims

# Spójnia signs its own tokens with ES256 only; an OIDC provider may use any of these.
LOCAL_ALGORITHMS = ["ES256"]
ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]

# Clock skew allowed between Spójnia and the issuer of a token.
TOKEN_LEEWAY_SECONDS = 30
# Tokens remembered as verified, per process: a county's clients and workers, several times over.
VERIFIED_CACHE_SIZE = 10_000

log = logging.getLogger("spojnia.auth")


class InvalidToken(Exception):
    """The token is missing, malformed, wrongly signed, expired or from an unknown issuer."""


class SigningKeyMissing(RuntimeError):
    """The token-signing key file is missing outside development, where it is never made up."""


def _load_key(path: Path) -> ECKey:
    return ECKey.import_key(path.read_bytes(), parameters={"use": "sig"})


def load_or_create_key(path: Path, *, create: bool = True) -> ECKey:
    """The key in the file; made (development only) when missing. Every worker and process must sign with one
    key, or each refuses the others' tokens: a key made elsewhere than in development would be one per process."""
    if path.exists():
        return _load_key(path)
    if not create:
        raise SigningKeyMissing(
            f"the token-signing key {path} does not exist; outside development it is not made up, since every "
            "process must sign with the same key: create it (openssl genpkey -algorithm EC -pkeyopt "
            "ec_paramgen_curve:P-256 -out FILE) and set SPOJNIA_LOCAL_ISSUER__KEY_FILE"
        )
    key = ECKey.generate_key("P-256", parameters={"use": "sig"}, private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, owner-readable, then linked into place: workers starting together end with one whole key,
    # the first one linked; the others load it.
    aside = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
    descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key.as_pem(private=True))
    try:
        os.link(aside, path)
    except FileExistsError:
        return _load_key(path)
    finally:
        aside.unlink()
    return key


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class LocalTokenIssuer:
    def __init__(self, settings: LocalIssuer, *, create_missing: bool = True) -> None:
        self.settings = settings
        self.key = load_or_create_key(settings.key_file, create=create_missing)
        self.kid = self.key.thumbprint()
        self.keys = KeySet([ECKey.import_key(self.key.as_dict(private=False) | {"kid": self.kid})])

    def issue(
        self,
        *,
        subject: str,
        institution_id: InstitutionId,
        scopes: frozenset[str],
        roles: frozenset[str] = frozenset(),
        ttl: int | None = None,
        system: bool = True,
    ) -> IssuedToken:
        now = int(time.time())
        lifetime = ttl or self.settings.token_ttl_seconds
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": subject,
            "inst": str(institution_id),
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        if roles:
            claims["roles"] = sorted(roles)
        if system:
            claims["client_id"] = subject
        token = jwt.encode({"alg": "ES256", "kid": self.kid, "typ": "at+jwt"}, claims, self.key)
        return IssuedToken(access_token=token, expires_in=lifetime)

    def jwks(self) -> dict[str, Any]:
        return dict(self.keys.as_dict(private=False))


class RemoteJwks:
    """The OIDC provider's key set, cached, and fetched again when an unknown `kid` appears."""

    def __init__(self, settings: ExternalOidc, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    async def keys(self, kid: str | None) -> KeySet:
        since_fetch = time.monotonic() - self._fetched_at
        stale = since_fetch > self.settings.jwks_cache_seconds
        known = self._keys is not None and (kid is None or any(k.kid == kid for k in self._keys.keys))
        # Unknown key ids are what an attacker controls: they may trigger a fetch only so often.
        may_refetch = self._keys is None or since_fetch >= self.settings.jwks_min_refetch_seconds
        if self._keys is None or stale or (not known and may_refetch):
            try:
                await self._fetch()
            except InvalidToken:
                # A provider outage must not turn away tokens signed by keys we already hold.
                if not known:
                    raise
                log.warning("the identity provider's keys cannot be fetched; using the cached ones")
        assert self._keys is not None  # noqa: S101 - _fetch sets it or raises
        return self._keys

    async def _fetch(self) -> None:
        if not self.settings.jwks_url:
            raise InvalidToken("no OIDC provider is configured")
        try:
            response = await self.client.get(self.settings.jwks_url, timeout=5.0)
            response.raise_for_status()
            document = response.json()
            # A wrong URL (the discovery document, an error page) must be a 401, never a 500.
            if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
                raise ValueError("not a JWK set")
            self._keys = KeySet.import_key_set(KeySetSerialization(keys=document["keys"]))
        except (httpx.HTTPError, ValueError, TypeError, KeyError, AttributeError, JoseError) as error:
            raise InvalidToken("the identity provider's keys cannot be fetched") from error
        self._fetched_at = time.monotonic()


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _unverified_header_and_issuer(token: str) -> tuple[dict[str, Any], str | None]:
    try:
        header_b64, payload_b64, _ = token.split(".")
        header = json.loads(_b64decode(header_b64))
        payload = json.loads(_b64decode(payload_b64))
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise InvalidToken("the token is not a JWT") from error
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise InvalidToken("the token is not a JWT")
    issuer = payload.get("iss")
    return header, issuer if isinstance(issuer, str) else None


class TokenVerifier:
    def __init__(
        self, local: LocalTokenIssuer | None, local_settings: LocalIssuer, oidc: ExternalOidc, remote: RemoteJwks | None
    ) -> None:
        self.local = local
        self.local_settings = local_settings
        self.oidc = oidc
        self.remote = remote
        self._verified: dict[str, tuple[VerifiedClaims, float]] = {}

    async def verify(self, token: str) -> VerifiedClaims:
        """The token's claims once its signature and claims are checked; a token seen before and not yet expired
        is taken from a small cache, since checking a signature costs more than many a request's own work."""
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            claims, expires_at = cached
            if now < expires_at:
                return claims
            del self._verified[token]
        claims, expires_at = await self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            # Whole-cache eviction keeps this O(1) and bounded; the live tokens are verified again, once each.
            self._verified.clear()
        self._verified[token] = (claims, expires_at)
        return claims

    async def _verify(self, token: str) -> tuple[VerifiedClaims, float]:
        header, issuer = _unverified_header_and_issuer(token)
        if self.local is not None and issuer == self.local_settings.issuer:
            keys, audience, inst_claim = self.local.keys, self.local_settings.audience, "inst"
            algorithms = LOCAL_ALGORITHMS
        elif self.remote is not None and issuer is not None and issuer == self.oidc.issuer:
            kid = header.get("kid")
            keys = await self.remote.keys(kid if isinstance(kid, str) else None)
            audience, inst_claim = self.oidc.audience, self.oidc.institution_claim
            algorithms = ALGORITHMS
        else:
            raise InvalidToken("the token's issuer is not trusted")
        try:
            with warnings.catch_warnings():
                # joserfc warns that RFC 9864 deprecates the name "EdDSA"; providers still sign with it.
                warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
                decoded = jwt.decode(token, keys, algorithms=algorithms)
            JWTClaimsRegistry(
                leeway=TOKEN_LEEWAY_SECONDS,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise InvalidToken(f"the token is not valid: {error.__class__.__name__}") from error
        # Kept no longer than the token lives, and never past the leeway the check above allowed.
        return _claims(decoded.claims, inst_claim), float(decoded.claims["exp"]) + TOKEN_LEEWAY_SECONDS


def _claims(claims: dict[str, Any], inst_claim: str) -> VerifiedClaims:
    try:
        institution_id = InstitutionId(uuid.UUID(str(claims[inst_claim])))
    except (KeyError, ValueError) as error:
        raise InvalidToken(f"the token has no valid '{inst_claim}' claim") from error
    scope = claims.get("scope", "")
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    return VerifiedClaims(
        subject=str(claims["sub"]),
        institution_id=institution_id,
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        roles=frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset(),
        system="client_id" in claims,
    )
