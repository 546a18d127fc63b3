"""Where the PESEL keys come from: a JSON key file (rotatable), or the environment.

The file:
    {"format": 1,
     "current_hmac_key": "h20261125a1b2c3", "hmac_keys": {"h20261125a1b2c3": "<base64 of 32 bytes>"},
     "current_key": "k20261125d4e5f6", "keys": {"k20261125d4e5f6": "<base64 of 32 bytes>"}}
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from app.adapters.crypto.vault import KeyRing, PersonalDataVault
from app.config import PeselProtection

FORMAT = 1
ENV_HMAC_KEY_ID = "env"

log = logging.getLogger("spojnia.keys")


class KeysUnavailable(RuntimeError):
    """The PESEL keys are missing or unreadable; the service must not start without them."""


def ring_to_document(ring: KeyRing) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "current_hmac_key": ring.current_hmac_key,
        "hmac_keys": {k: _b64(v) for k, v in ring.hmac_keys.items()},
        "current_key": ring.current_aes_key,
        "keys": {k: _b64(v) for k, v in ring.aes_keys.items()},
    }


def ring_from_document(document: Any, *, where: str) -> KeyRing:
    # Messages name the file and the field, never a key.
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeysUnavailable(f"{where} is not a PESEL key file of format {FORMAT}")
    try:
        return KeyRing(
            hmac_keys={str(k): _unb64(v) for k, v in document["hmac_keys"].items()},
            current_hmac_key=str(document["current_hmac_key"]),
            aes_keys={str(k): _unb64(v) for k, v in document["keys"].items()},
            current_aes_key=str(document["current_key"]),
        )
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        raise KeysUnavailable(f"{where} holds no valid PESEL keys: {error}") from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("a key is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a key is not valid base64") from None


def _write_private(path: Path, ring: KeyRing) -> Path:
    """A new file beside `path`, readable by its owner only, holding the ring."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(ring_to_document(ring), file, indent=2)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
    return temporary


def create_key_file(path: Path, ring: KeyRing | None = None) -> bool:
    """Write a new key file unless one exists; False when another process (or an earlier run) made it first."""
    temporary = _write_private(path, ring or KeyRing.generate())
    try:
        # A hard link never replaces an existing file: two workers starting together keep one set of keys.
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


class KeyFile:
    """The key ring of a file, read again whenever the file is replaced (by a rotation in another process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp, self._ring = self._read()

    def _read(self) -> tuple[tuple[int, int, int], KeyRing]:
        try:
            status = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as error:
            raise KeysUnavailable(f"the PESEL key file {self.path} cannot be read: {error.strerror}") from None
        if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("the PESEL key file is readable by others than its owner", extra={"path": str(self.path)})
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise KeysUnavailable(f"the PESEL key file {self.path} is not JSON") from None
        return _stamp(status), ring_from_document(document, where=f"the PESEL key file {self.path}")

    def ring(self) -> KeyRing:
        try:
            current = _stamp(self.path.stat())
        except FileNotFoundError:
            return self._ring  # the keys in memory still open what they sealed; startup will say it is gone
        if current != self._stamp:
            self._stamp, self._ring = self._read()
        return self._ring

    def replace(self, ring: KeyRing) -> None:
        """Write the ring atomically: a reader sees the old file or the new one, never half of either."""
        temporary = _write_private(self.path, ring)
        os.replace(temporary, self.path)
        self._stamp, self._ring = self._read()


def _stamp(status: os.stat_result) -> tuple[int, int, int]:
    return status.st_ino, status.st_mtime_ns, status.st_size


def keys_from_environment(settings: PeselProtection) -> KeyRing | None:
    """The ring given in SPOJNIA_PESEL__HMAC_KEY / __KEYS / __CURRENT_KEY, or None when none is given."""
    if settings.hmac_key is None and not settings.keys:
        return None
    if settings.hmac_key is None or not settings.keys:
        raise KeysUnavailable("SPOJNIA_PESEL__HMAC_KEY and SPOJNIA_PESEL__KEYS are given together or not at all")
    current = settings.current_key or (next(iter(settings.keys)) if len(settings.keys) == 1 else None)
    if current is None:
        raise KeysUnavailable("SPOJNIA_PESEL__CURRENT_KEY must name one of several SPOJNIA_PESEL__KEYS")
    try:
        return KeyRing(
            hmac_keys={ENV_HMAC_KEY_ID: _unb64(settings.hmac_key.get_secret_value())},
            current_hmac_key=ENV_HMAC_KEY_ID,
            aes_keys={k: _unb64(v.get_secret_value()) for k, v in settings.keys.items()},
            current_aes_key=current,
        )
    except ValueError as error:
        raise KeysUnavailable(f"the PESEL keys in the environment are not valid: {error}") from None


def open_vault(settings: PeselProtection, *, development: bool) -> PersonalDataVault:
    """The vault of the configured keys. Only development creates a missing key file.

    Anywhere else a missing file stops the service: a fresh HMAC key would make every stored PESEL
    unfindable and every sealed one unreadable, so it is restored from backup, or made once on
    purpose with `spojnia keys init-pesel`.
    """
    given = keys_from_environment(settings)
    if given is not None:
        return PersonalDataVault(given)
    path = settings.key_file
    if not path.exists():
        if not development:
            raise KeysUnavailable(
                f"the PESEL key file {path} does not exist. Outside development it is never created on its own: "
                "restore it from backup, or on a new installation create it once with `spojnia keys init-pesel`"
            )
        if create_key_file(path):
            log.warning("created a new PESEL key file for development", extra={"path": str(path)})
    return PersonalDataVault(KeyFile(path))


def new_key_file(path: Path) -> KeyRing:
    """`spojnia keys init-pesel`: keys for a new installation, never over existing ones."""
    ring = KeyRing.generate()
    if not create_key_file(path, ring):
        raise KeysUnavailable(f"the PESEL key file {path} exists already; it is left as it is")
    return ring
