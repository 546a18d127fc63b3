"""Signed checkpoints of the audit chain, and the anchor file that keeps them apart from the database.

A checkpoint says "after sealing, the chain's hash at this position was this", signed with an Ed25519
key that lives outside the database. Whoever can rewrite the database can recompute every hash of
the chain, but cannot sign; and whoever can also delete the newest rows together with their
checkpoints is still caught by the anchor file, which the database cannot reach.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import AuditTrail

CHECKPOINT_FORMAT = "spojnia-audit-checkpoint/1"


class AuditKeyMissing(Exception):
    """Checkpoints cannot be signed: no key file, and outside development none is made up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    position: int
    chain_hash: str
    rows: int
    sealed_at: datetime
    key_id: str
    signature: str  # base64 of the Ed25519 signature over `payload()`

    def payload(self) -> bytes:
        """The signed bytes: every field but the signature, in one fixed encoding."""
        return _canonical(
            {
                "format": CHECKPOINT_FORMAT,
                "position": self.position,
                "chain_hash": self.chain_hash,
                "rows": self.rows,
                "sealed_at": timestamp(self.sealed_at),
                "key_id": self.key_id,
            }
        )

    def to_json_line(self) -> str:
        fields = json.loads(self.payload()) | {"signature": self.signature}
        return json.dumps(fields, separators=(",", ":"), sort_keys=True) + "\n"

    @classmethod
    def from_json_line(cls, line: str) -> Checkpoint:
        """Raises ValueError for a line that is no checkpoint of this format."""
        try:
            fields: dict[str, Any] = json.loads(line)
            if fields.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("not a checkpoint of this format")
            return cls(
                position=int(fields["position"]),
                chain_hash=str(fields["chain_hash"]),
                rows=int(fields["rows"]),
                sealed_at=datetime.fromisoformat(str(fields["sealed_at"]).replace("Z", "+00:00")),
                key_id=str(fields["key_id"]),
                signature=str(fields["signature"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a checkpoint: {error}") from None


def timestamp(moment: datetime) -> str:
    """UTC with microseconds, always the same length: a timestamp has one encoding in hashes and signatures."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


class CheckpointKeys:
    """The signing key (loaded on first use) and every public key a checkpoint may be verified with."""

    def __init__(self, settings: AuditTrail, *, create_missing: bool) -> None:
        self._settings = settings
        self._create_missing = create_missing
        self._private: Ed25519PrivateKey | None = None

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._private is None:
            self._private = _load_or_create(self._settings.signing_key_file, create=self._create_missing)
        return self._private

    def sign(self, *, position: int, chain_hash: str, rows: int, sealed_at: datetime) -> Checkpoint:
        key = self._signing_key()
        unsigned = Checkpoint(
            position=position,
            chain_hash=chain_hash,
            rows=rows,
            sealed_at=sealed_at,
            key_id=key_id(key.public_key()),
            signature="",
        )
        signature = base64.b64encode(key.sign(unsigned.payload())).decode()
        return replace(unsigned, signature=signature)

    def trusted(self) -> dict[str, Ed25519PublicKey]:
        """Public keys by key id: the current key's, when its file exists, and the earlier ones named in settings."""
        keys: list[Ed25519PublicKey] = []
        if self._private is not None or self._settings.signing_key_file.exists():
            keys.append(self._signing_key().public_key())
        for path in self._settings.previous_public_key_files:
            loaded = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(loaded, Ed25519PublicKey):
                raise AuditKeyMissing(f"{path} is not an Ed25519 public key")
            keys.append(loaded)
        return {key_id(k): k for k in keys}

    @staticmethod
    def valid(checkpoint: Checkpoint, trusted: dict[str, Ed25519PublicKey]) -> bool:
        key = trusted.get(checkpoint.key_id)
        if key is None:
            return False
        try:
            key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.payload())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _load_or_create(path: Path, *, create: bool) -> Ed25519PrivateKey:
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise AuditKeyMissing(f"{path} is not an Ed25519 private key")
        return loaded
    if not create:
        raise AuditKeyMissing(
            f"the audit signing key {path} does not exist; outside development it is not made up: "
            "create it (an Ed25519 private key in PEM) and set SPOJNIA_AUDIT__SIGNING_KEY_FILE"
        )
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created readable by the owner only, before any key material is written to it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    return key


class AnchorFile:
    """Checkpoints appended as JSON lines to a file apart from the database (append-only or WORM storage)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line with O_APPEND: two sealers never interleave within a line.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(descriptor, checkpoint.to_json_line().encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def lines(self) -> Iterator[tuple[int, str]]:
        """Non-empty lines with their 1-based numbers; none when the file does not exist yet."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield number, line
