"""A customer's audit package re-checks offline, and a tampered copy fails."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import CUSTOMER
from tests.staffing import enroll
from tests.test_responsibility import catch_up, register_parties, seed_case


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def unpack(content: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(folder)
    return folder


def check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(folder / "verify_package.py"), str(folder)],
        capture_output=True,
        text=True,
    )


def test_the_package_holds_the_whole_history_and_rechecks_offline(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    catch_up(services)
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    folder = unpack(response.content, tmp_path / "package")
    entries = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    # The relationship's registration, then every event of its shipment, in log order.
    assert entries[0]["event_name"] == "Relationship.Registered"
    assert {e["aggregate_type"] for e in entries} == {"Relationship", "Shipment"}
    assert len([e for e in entries if e["aggregate_id"] == str(shipment.id)]) == shipment.version
    assert [e["position"] for e in entries] == sorted(e["position"] for e in entries)
    assert json.loads((folder / "verification.json").read_text())["intact"] is True

    ok = check(folder)
    assert ok.returncode == 0, ok.stdout
    assert f"{len(entries)} entries intact" in ok.stdout

    # Someone edits an entry of the exported copy: the procedure finds it.
    entries[3]["stored"]["state"] = base64.b64encode(b'{"forged": true}').decode()
    (folder / "history.jsonl").write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in entries) + "\n"
    )
    tampered = check(folder)
    assert tampered.returncode == 1
    assert f"position {entries[3]['position']}: content does not match" in tampered.stdout


def test_unknown_relationships_have_no_package(client: TestClient, services: Services) -> None:
    catch_up(services)
    response = client.get("/v1/relationships/00000000-0000-4000-8000-00000000dead/audit-package")
    assert response.status_code == 404


def test_replay_and_export_on_the_command_line(services: Services, tmp_path: Path) -> None:
    import os

    from application.database import DATABASE_URL_VARIABLE

    register_parties(services)
    shipment, _, _ = seed_case(services)
    catch_up(services)
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}

    def fullchain(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interface.cli", *args], env=env, capture_output=True, text=True
        )

    replayed = fullchain("replay", str(CUSTOMER))
    assert replayed.returncode == 0, replayed.stderr
    lines = replayed.stdout.splitlines()
    assert "Relationship.Registered" in lines[0]
    assert any("Shipment.CompensationPaid" in line for line in lines)
    assert len(lines) == 1 + shipment.version

    package = fullchain("export", str(CUSTOMER), "--out", str(tmp_path / "p.zip"))
    assert package.returncode == 0, package.stderr
    assert check(unpack((tmp_path / "p.zip").read_bytes(), tmp_path / "p")).returncode == 0
    custody = fullchain("export", "--epcis", str(shipment.id), "--out", str(tmp_path / "c.json"))
    assert custody.returncode == 0, custody.stderr
    assert json.loads((tmp_path / "c.json").read_text())["type"] == "EPCISDocument"
    assert fullchain("replay", "00000000-0000-4000-8000-00000000dead").returncode == 1
