"""The vault: blind indexes and AES-GCM tokens under rotating keys, and where its keys come from."""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.adapters.crypto.key_file import (
    KeyFile,
    KeysUnavailable,
    create_key_file,
    keys_from_environment,
    new_key_file,
    open_vault,
)
from app.adapters.crypto.vault import KeyRing, PersonalDataVault, VaultError, key_id_of, person_pesel_context
from app.config import PeselProtection, Settings
from tests.builders import JAN, MARIA

CONTEXT = person_pesel_context(uuid.UUID(int=1))


def test_a_sealed_value_opens_again_and_names_its_key() -> None:
    vault = PersonalDataVault(KeyRing.generate())

    token = vault.seal(JAN, context=CONTEXT)

    assert JAN not in token
    version, key_id, payload = token.split(".")
    assert (version, key_id) == ("v1", vault.keys.ring().current_aes_key)
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert len(raw) == 12 + len(JAN) + 16, "a 96-bit nonce, the ciphertext and GCM's tag"
    assert vault.open(token, context=CONTEXT) == JAN


def test_sealing_twice_gives_two_tokens_so_equal_values_cannot_be_spotted() -> None:
    vault = PersonalDataVault(KeyRing.generate())

    assert vault.seal(JAN, context=CONTEXT) != vault.seal(JAN, context=CONTEXT)


def test_a_token_does_not_open_in_another_context_or_when_altered() -> None:
    vault = PersonalDataVault(KeyRing.generate())
    token = vault.seal(JAN, context=CONTEXT)

    with pytest.raises(VaultError, match="another context"):
        vault.open(token, context=person_pesel_context(uuid.UUID(int=2)))
    altered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(VaultError):
        vault.open(altered, context=CONTEXT)
    for garbage in ("", JAN, "v1.k1", "v2.k1.AAAA", "v1.bad key.AAAA", "v1.k1.!!!!"):
        with pytest.raises(VaultError):
            vault.open(garbage, context=CONTEXT)


def test_the_blind_index_is_a_keyed_sha256_stable_per_key() -> None:
    ring = KeyRing.generate()
    vault, other = PersonalDataVault(ring), PersonalDataVault(KeyRing.generate())

    index = vault.blind_index(JAN)

    assert len(index) == 64
    assert int(index, 16) >= 0
    assert index == PersonalDataVault(ring).blind_index(JAN)
    assert index != vault.blind_index(MARIA)
    assert index != other.blind_index(JAN), "without the key, the index cannot be recomputed"


def test_after_rotation_old_tokens_and_indexes_still_work_and_new_ones_use_the_new_keys() -> None:
    old = KeyRing.generate()
    old_token, old_index = PersonalDataVault(old).seal(JAN, context=CONTEXT), PersonalDataVault(old).blind_index(JAN)
    rotated = PersonalDataVault(old.with_new_aes_key().with_new_hmac_key())

    assert rotated.open(old_token, context=CONTEXT) == JAN
    assert not rotated.is_current(old_token)
    assert rotated.is_current(rotated.seal(JAN, context=CONTEXT))
    assert rotated.blind_indexes(JAN)[0] == rotated.blind_index(JAN) != old_index
    assert old_index in rotated.blind_indexes(JAN)
    assert rotated.hmac_key_of(JAN, old_index) == old.current_hmac_key

    retired = PersonalDataVault(rotated.keys.ring().without(aes=[old.current_aes_key]))
    with pytest.raises(VaultError, match="not held"):
        retired.open(old_token, context=CONTEXT)
    assert key_id_of(old_token) == old.current_aes_key


def test_the_current_keys_cannot_be_retired_and_a_ring_must_hold_its_current_keys() -> None:
    ring = KeyRing.generate()

    with pytest.raises(ValueError, match="current"):
        ring.without(aes=[ring.current_aes_key])
    with pytest.raises(ValueError, match="not among"):
        KeyRing(hmac_keys=ring.hmac_keys, current_hmac_key="h1", aes_keys=ring.aes_keys, current_aes_key="k1")
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing(hmac_keys={"h1": b"short"}, current_hmac_key="h1", aes_keys=ring.aes_keys, current_aes_key="x")


def test_development_creates_a_private_key_file_on_first_use_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "pesel-keys.json"

    first = open_vault(PeselProtection(key_file=path), development=True)
    second = open_vault(PeselProtection(key_file=path), development=True)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.blind_index(JAN) == second.blind_index(JAN)
    assert second.open(first.seal(JAN, context=CONTEXT), context=CONTEXT) == JAN
    document = json.loads(path.read_text())
    assert set(document) == {"format", "current_hmac_key", "hmac_keys", "current_key", "keys"}


def test_outside_development_a_missing_key_file_stops_the_start_and_no_key_is_made(tmp_path: Path) -> None:
    path = tmp_path / "pesel-keys.json"
    settings = Settings(environment="production", pesel=PeselProtection(key_file=path))

    with pytest.raises(KeysUnavailable, match="never created on its own"):
        open_vault(settings.pesel, development=settings.development)
    assert not path.exists()


def test_init_creates_the_file_once_and_never_over_existing_keys(tmp_path: Path) -> None:
    path = tmp_path / "pesel-keys.json"
    new_key_file(path)
    before = path.read_text()

    with pytest.raises(KeysUnavailable, match="exists already"):
        new_key_file(path)
    assert not create_key_file(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["pesel-keys.json"], "no temporary file is left behind"


def test_a_broken_key_file_is_a_clear_error_that_shows_no_key(tmp_path: Path) -> None:
    path = tmp_path / "pesel-keys.json"
    path.write_text('{"format": 1, "hmac_keys": {"h1": "c2VjcmV0"}}')

    with pytest.raises(KeysUnavailable) as error:
        open_vault(PeselProtection(key_file=path), development=True)
    assert "c2VjcmV0" not in str(error.value)
    path.write_text("not json")
    with pytest.raises(KeysUnavailable, match="not JSON"):
        open_vault(PeselProtection(key_file=path), development=True)


def test_a_vault_on_a_key_file_sees_a_rotation_made_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "pesel-keys.json"
    serving = open_vault(PeselProtection(key_file=path), development=True)
    old_token = serving.seal(JAN, context=CONTEXT)

    rotating = KeyFile(path)
    rotating.replace(rotating.ring().with_new_aes_key())
    new_token = PersonalDataVault(KeyFile(path)).seal(JAN, context=CONTEXT)

    assert serving.open(new_token, context=CONTEXT) == JAN
    assert serving.is_current(new_token)
    assert not serving.is_current(old_token)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keys_may_come_from_the_environment_instead_of_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hmac_key, aes_key = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    monkeypatch.setenv("SPOJNIA_PESEL__HMAC_KEY", hmac_key)
    monkeypatch.setenv("SPOJNIA_PESEL__KEYS", json.dumps({"k2026": aes_key}))
    monkeypatch.setenv("SPOJNIA_PESEL__KEY_FILE", str(tmp_path / "unused.json"))

    settings = Settings(environment="production")
    vault = open_vault(settings.pesel, development=settings.development)

    assert vault.keys.ring().current_aes_key == "k2026"
    assert vault.open(vault.seal(JAN, context=CONTEXT), context=CONTEXT) == JAN
    assert not (tmp_path / "unused.json").exists()
    assert aes_key not in repr(settings), "the keys are secrets in the settings too"


def test_keys_from_the_environment_must_be_complete() -> None:
    aes_key = SecretStr(base64.b64encode(os.urandom(32)).decode())

    with pytest.raises(KeysUnavailable, match="together"):
        keys_from_environment(PeselProtection(keys={"k1": aes_key}))
    with pytest.raises(KeysUnavailable, match="CURRENT_KEY"):
        keys_from_environment(PeselProtection(hmac_key=aes_key, keys={"k1": aes_key, "k2": aes_key}))
    with pytest.raises(KeysUnavailable, match="not valid"):
        keys_from_environment(PeselProtection(hmac_key=SecretStr("short"), keys={"k1": aes_key}))
