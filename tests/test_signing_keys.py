"""The key that signs checkpoints: a server database's service does not start without one
of its own, and the key is taken from the environment or a file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.store.integrity import (
    SIGNING_KEY_FILE_VARIABLE,
    SIGNING_KEY_VARIABLE,
    configured_signing_key,
)
from interface.runtime import Services


def fullchain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interface.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def without_keys() -> dict[str, str]:
    env = dict(os.environ)
    env.pop(SIGNING_KEY_VARIABLE, None)
    env.pop(SIGNING_KEY_FILE_VARIABLE, None)
    return env


def test_a_server_database_service_refuses_to_start_without_its_own_key(
    services: Services,
) -> None:
    env = {**without_keys(), "FULLCHAIN_DATABASE_URL": services.database.conninfo}
    refused = fullchain("serve", "--port", "1", env=env)
    assert refused.returncode == 2
    assert "needs the key that signs its checkpoints" in refused.stderr
    assert "embedded demo only" in refused.stderr

    broken = fullchain(
        "serve", "--port", "1", env={**env, SIGNING_KEY_FILE_VARIABLE: "/nonexistent/key.pem"}
    )
    assert broken.returncode == 2
    assert f"{SIGNING_KEY_FILE_VARIABLE} (/nonexistent/key.pem) cannot be read" in broken.stderr


def test_keygen_writes_a_key_only_its_owner_reads_and_the_file_configures_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "signing.pem"
    written = fullchain("keygen", str(key_file), env=without_keys())
    assert written.returncode == 0, written.stderr
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert fullchain("keygen", str(key_file), env=without_keys()).returncode == 1  # kept

    monkeypatch.delenv(SIGNING_KEY_VARIABLE, raising=False)
    monkeypatch.setenv(SIGNING_KEY_FILE_VARIABLE, str(key_file))
    key = configured_signing_key()
    assert isinstance(key, Ed25519PrivateKey)
    assert configured_signing_key().public_key() == key.public_key()  # type: ignore[union-attr]

    key_file.write_text("not a key")
    with pytest.raises(ValueError, match="is not a PEM private key"):
        configured_signing_key()


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("FULLCHAIN_LOG_ORIGIN", "a log with spaces", "FULLCHAIN_LOG_ORIGIN is a log's name"),
        ("FULLCHAIN_RETIRED_VERIFIER_KEYS", "not-a-key", "FULLCHAIN_RETIRED_VERIFIER_KEYS"),
        ("FULLCHAIN_WITNESS_KEYS", "x+y+z", "FULLCHAIN_WITNESS_KEYS"),
        (SIGNING_KEY_VARIABLE, "not a key", "is not a PEM private key"),
    ],
)
def test_settings_of_the_proofs_are_checked_when_the_service_starts(
    variable: str, value: str, reason: str
) -> None:
    refused = fullchain("serve", "--port", "1", env={**without_keys(), variable: value})
    assert refused.returncode == 2
    assert reason in refused.stderr
