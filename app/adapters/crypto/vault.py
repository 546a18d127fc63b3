"""Blind indexes and sealed values: personal data (a PESEL first) that the database never holds in plain text.

A PESEL is stored twice. Its blind index, an HMAC-SHA256 under a server key, finds a person without revealing
the number; its sealed value, AES-256-GCM under another key, gives the number back to those allowed to see it.
A sealed token names its key (`v1.<key id>.<base64url(nonce + ciphertext)>`), so old and new keys can be held
side by side while rows are re-sealed; the context it is bound to (which row, which column) is authenticated,
so a token copied to another row does not open there.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED_FORMAT = "v1"  # the first part of every sealed token
KEY_BYTES = 32  # AES-256, and an HMAC-SHA256 key as long as its output
NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for; random, so a key seals well under 2**32 values
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class VaultError(Exception):
    """A token cannot be opened: malformed, sealed under a key no longer held, altered, or bound elsewhere."""


def new_key_id(prefix: str) -> str:
    """Sortable by creation day, unique by its random tail: `k20261125a1b2c3`."""
    return f"{prefix}{datetime.now(UTC):%Y%m%d}{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys in force: the current ones write, every one held reads."""

    hmac_keys: Mapping[str, bytes]
    current_hmac_key: str
    aes_keys: Mapping[str, bytes]
    current_aes_key: str

    def __post_init__(self) -> None:
        for kind, keys, current in (
            ("HMAC", self.hmac_keys, self.current_hmac_key),
            ("AES", self.aes_keys, self.current_aes_key),
        ):
            if current not in keys:
                raise ValueError(f"the current {kind} key {current!r} is not among the {kind} keys")
            for key_id, key in keys.items():
                if not KEY_ID.match(key_id):
                    raise ValueError(f"{kind} key id {key_id!r} is not 1-40 letters, digits, '-' or '_'")
                if len(key) != KEY_BYTES:
                    raise ValueError(f"{kind} key {key_id!r} is not {KEY_BYTES} bytes")

    @classmethod
    def generate(cls) -> KeyRing:
        hmac_id, aes_id = new_key_id("h"), new_key_id("k")
        return cls(
            hmac_keys={hmac_id: secrets.token_bytes(KEY_BYTES)},
            current_hmac_key=hmac_id,
            aes_keys={aes_id: secrets.token_bytes(KEY_BYTES)},
            current_aes_key=aes_id,
        )

    def with_new_aes_key(self) -> KeyRing:
        key_id = _fresh_id("k", self.aes_keys)
        return KeyRing(
            hmac_keys=self.hmac_keys,
            current_hmac_key=self.current_hmac_key,
            aes_keys={**self.aes_keys, key_id: secrets.token_bytes(KEY_BYTES)},
            current_aes_key=key_id,
        )

    def with_new_hmac_key(self) -> KeyRing:
        key_id = _fresh_id("h", self.hmac_keys)
        return KeyRing(
            hmac_keys={**self.hmac_keys, key_id: secrets.token_bytes(KEY_BYTES)},
            current_hmac_key=key_id,
            aes_keys=self.aes_keys,
            current_aes_key=self.current_aes_key,
        )

    def without(self, *, aes: Collection[str] = (), hmac: Collection[str] = ()) -> KeyRing:
        """The ring less the given old keys; the current ones are never dropped."""
        if self.current_aes_key in aes or self.current_hmac_key in hmac:
            raise ValueError("the current keys cannot be retired")
        return KeyRing(
            hmac_keys={k: v for k, v in self.hmac_keys.items() if k not in hmac},
            current_hmac_key=self.current_hmac_key,
            aes_keys={k: v for k, v in self.aes_keys.items() if k not in aes},
            current_aes_key=self.current_aes_key,
        )


def _fresh_id(prefix: str, taken: Collection[str]) -> str:
    while (key_id := new_key_id(prefix)) in taken:
        pass
    return key_id


class KeySource(Protocol):
    def ring(self) -> KeyRing:
        """The keys in force now; a source may pick up keys another process rotated."""


class FixedKeys:
    """Keys that never change while the process runs (given in the environment, or in a test)."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def ring(self) -> KeyRing:
        return self._ring


class PersonalDataVault:
    """Blind indexes and AES-256-GCM sealing under the keys of a key source."""

    def __init__(self, keys: KeySource | KeyRing) -> None:
        self.keys: KeySource = FixedKeys(keys) if isinstance(keys, KeyRing) else keys

    def blind_index(self, value: str) -> str:
        """The value's HMAC-SHA256 under the current key, as 64 hex digits."""
        ring = self.keys.ring()
        return _hmac(ring.hmac_keys[ring.current_hmac_key], value)

    def blind_indexes(self, value: str) -> list[str]:
        """The value's index under every key held, the current one first: rows not yet re-hashed are found too."""
        ring = self.keys.ring()
        ordered = [ring.current_hmac_key, *(k for k in ring.hmac_keys if k != ring.current_hmac_key)]
        return [_hmac(ring.hmac_keys[k], value) for k in ordered]

    def hmac_key_of(self, value: str, index: str) -> str | None:
        """Which key held computed this index of the value, or None."""
        ring = self.keys.ring()
        return next((k for k, key in ring.hmac_keys.items() if hmac.compare_digest(_hmac(key, value), index)), None)

    def seal(self, plaintext: str, *, context: bytes) -> str:
        ring = self.keys.ring()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(ring.aes_keys[ring.current_aes_key]).encrypt(nonce, plaintext.encode(), context)
        return f"{SEALED_FORMAT}.{ring.current_aes_key}.{_b64encode(nonce + sealed)}"

    def open(self, token: str, *, context: bytes) -> str:
        key_id, payload = _parse(token)
        key = self.keys.ring().aes_keys.get(key_id)
        if key is None:
            raise VaultError(f"the token was sealed under key {key_id!r}, which is not held")
        try:
            return AESGCM(key).decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:], context).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise VaultError("the token does not open: altered, or sealed for another context") from None

    def is_current(self, token: str) -> bool:
        """Whether the token is sealed under the current key (re-sealing may skip it)."""
        return key_id_of(token) == self.keys.ring().current_aes_key


def key_id_of(token: str) -> str:
    return _parse(token)[0]


def _parse(token: str) -> tuple[str, bytes]:
    version, _, rest = token.partition(".")
    key_id, _, encoded = rest.partition(".")
    if version != SEALED_FORMAT or not KEY_ID.match(key_id) or not encoded:
        raise VaultError("not a sealed token")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise VaultError("not a sealed token") from None
    if len(payload) < NONCE_BYTES + 16:  # a nonce and GCM's 16-byte tag at the least
        raise VaultError("not a sealed token")
    return key_id, payload


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# What each sealed value is bound to. Changing one makes every value sealed under it unreadable.
def person_pesel_context(person_id: UUID) -> bytes:
    return b"persons.pesel:" + person_id.bytes


def stored_response_context(owner: str, key: str, part: str) -> bytes:
    return f"idempotency_keys.{part}:{owner}\x00{key}".encode()
