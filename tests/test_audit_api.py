"""Tamper evidence over HTTP and on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from application.store.database import DATABASE_URL_VARIABLE, Database
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.branches import BRANCH_EVENTS as B
from tests.staffing import enroll
from tests.test_integrity import write_history


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def test_an_auditor_keeps_a_checkpoint_and_checks_it_later(
    client: TestClient, services: Services
) -> None:
    enrolled = 3  # the auditor's registration, role and token are events too
    write_history(services, 2)
    checkpoint = client.post("/v1/audit/checkpoints")
    assert checkpoint.status_code == 201
    kept = checkpoint.json()
    assert kept["position"] == B + enrolled + 6
    key = client.get("/v1/audit/public-key").json()
    assert key["key_id"] == kept["key_id"]
    assert key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")

    write_history(services, 1)
    result = client.post("/v1/audit/verify", json={"checkpoint": kept}).json()
    assert result["intact"] is True
    head = B + enrolled + 9
    assert result["summary"] == f"intact up to position {head} ({head} entries)"
    assert result["checkpoint"] == {
        "signature_valid": True,
        "extends": True,
        "detail": f"today's log extends the checkpoint at position {B + enrolled + 6}",
    }
    forged = {**kept, "position": kept["position"] - 1}
    refused = client.post("/v1/audit/verify", json={"checkpoint": forged}).json()
    assert refused["checkpoint"]["signature_valid"] is False
    bad = client.post("/v1/audit/verify", json={"checkpoint": {**kept, "chain_hash": "zz"}})
    assert bad.status_code == 422
    assert (
        client.post("/v1/audit/verify", json={}, headers={"Authorization": ""}).status_code == 401
    )


def test_verify_on_the_command_line(
    services: Services, superuser_database: Database, tmp_path: Path
) -> None:
    write_history(services, 1)
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    signed = subprocess.run(
        [sys.executable, "-m", "interface.cli", "checkpoint"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    path = tmp_path / "checkpoint.json"
    path.write_text(signed.stdout)
    assert json.loads(signed.stdout)["position"] == B + 3
    ok = subprocess.run(
        [sys.executable, "-m", "interface.cli", "verify", "--checkpoint", str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"intact up to position {B + 3} ({B + 3} entries)" in ok.stdout
    assert f"extends the checkpoint at position {B + 3}" in ok.stdout
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM fullchain_events WHERE notification_id = %s", (B + 2,))
    broken = subprocess.run(
        [sys.executable, "-m", "interface.cli", "verify"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert broken.returncode == 1
    assert f"broken at position {B + 3}: missing" in broken.stdout
