"""Spójnia's own token-signing key: never made up outside development, and one key however many workers start."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.adapters.auth.tokens import LocalTokenIssuer, SigningKeyMissing
from app.adapters.crypto.key_file import new_key_file
from app.bootstrap import bootstrap
from app.config import LocalIssuer, PeselProtection, Settings


def test_outside_development_a_missing_signing_key_stops_the_start_and_none_is_made(tmp_path: Path) -> None:
    key_file = tmp_path / "signing-key.pem"
    settings = Settings(
        environment="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'spojnia.db'}",
        local_issuer=LocalIssuer(key_file=key_file),
        pesel=PeselProtection(key_file=tmp_path / "pesel-keys.json"),
    )
    new_key_file(settings.pesel.key_file)

    with pytest.raises(SigningKeyMissing, match="every process must sign with the same key"):
        bootstrap(settings)
    assert not key_file.exists()


def test_workers_starting_together_in_development_end_with_one_signing_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "signing-key.pem"
    with ThreadPoolExecutor(max_workers=8) as pool:
        issuers = list(pool.map(lambda _: LocalTokenIssuer(LocalIssuer(key_file=key_file)), range(8)))

    assert len({issuer.kid for issuer in issuers}) == 1
    assert LocalTokenIssuer(LocalIssuer(key_file=key_file), create_missing=False).kid == issuers[0].kid
    assert [p.name for p in key_file.parent.iterdir()] == ["signing-key.pem"]
    assert key_file.stat().st_mode & 0o077 == 0
