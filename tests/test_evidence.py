"""Evidence over HTTP: files attached to an incident, a claim, a handover and an
interaction, stored once by their SHA-256, read back by the branch that may read the
record (404 for another), refused when too large or of another type, covered by `verify`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from application.evidence import (
    EVIDENCE_DIR_VARIABLE,
    MAX_BYTES_VARIABLE,
    FileState,
    LocalEvidenceStore,
    verify_evidence,
)
from application.store.database import DATABASE_URL_VARIABLE
from domain.relationship import Channel, Direction
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import AIR_CARRIAGE, AIRLINE, CUSTOMER
from tests.staffing import enroll
from tests.test_responsibility import register_parties, seed_case
from tests.waiting import read_fresh

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR damaged cartons at import customs"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00 photo at handover"
PDF = b"%PDF-1.4\n% survey report of the damaged cartons\n%%EOF\n"
WEBP = b"RIFF\x1c\x00\x00\x00WEBPVP8 proof of delivery"
TIFF = b"II*\x00\x08\x00\x00\x00 scanned proof of delivery"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Clients:
    suzhou: TestClient  # office staff of the customer's branch
    shanghai: TestClient  # office staff of another branch
    auditor: TestClient
    store: LocalEvidenceStore


@pytest.fixture
def clients(services: Services, tmp_path: Path) -> Iterator[Clients]:
    store = LocalEvidenceStore(tmp_path / "evidence")
    services.app.evidence = store
    services.start_workers()
    suzhou = enroll(
        services, "zhou.min", "Zhou Min 周敏", roles=(Role.OFFICE_STAFF,), branch="Suzhou"
    )
    shanghai = enroll(
        services, "chen.jie", "Chen Jie 陈杰", roles=(Role.OFFICE_STAFF,), branch="Shanghai"
    )
    auditor = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    app = create_app(services)
    with TestClient(app) as a, TestClient(app) as b, TestClient(app) as c:
        a.headers["Authorization"] = f"Bearer {suzhou}"
        b.headers["Authorization"] = f"Bearer {shanghai}"
        c.headers["Authorization"] = f"Bearer {auditor}"
        yield Clients(a, b, c, store)


def upload(
    client: TestClient,
    path: str,
    data: bytes,
    *,
    name: str = "photo",
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    response: httpx.Response = client.post(
        path, files={"file": (name, data, content_type)}, headers=headers or {}
    )
    return response


def log_interaction(services: Services) -> UUID:
    interaction = uuid4()
    services.app.relationships.log_interaction(
        services.app.context("zhou.min"),
        CUSTOMER,
        interaction_id=interaction,
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="Visited the warehouse: photographed the crushed cartons",
    )
    return interaction


def test_evidence_is_attached_to_each_kind_of_record_and_read_back_by_its_branch(
    clients: Clients, services: Services
) -> None:
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    interaction = log_interaction(services)
    base = f"/v1/shipments/{shipment.id}"

    photo = upload(
        clients.suzhou, f"{base}/incidents/{incident}/attachments", PNG, name="cartons.png",
        content_type="image/png",
    )  # fmt: skip
    assert photo.status_code == 200, photo.text
    answer = photo.json()
    assert answer["sha256"] == sha(PNG)
    assert (answer["size"], answer["media_type"], answer["stored"]) == (
        len(PNG), "image/png", True,
    )  # fmt: skip
    assert photo.headers["ETag"] == f'"{answer["version"]}"'
    report = upload(clients.suzhou, f"{base}/claims/{claim}/attachments", PDF, name="survey.pdf")
    assert report.status_code == 200, report.text
    handed = upload(clients.suzhou, f"{base}/handovers/1/attachments", JPEG, name="pickup.jpg")
    assert handed.status_code == 200, handed.text
    pod = upload(clients.suzhou, f"{base}/handovers/7/attachments", TIFF, name="pod.tif")
    assert pod.status_code == 200, pod.text
    visit = upload(
        clients.suzhou,
        f"/v1/relationships/{CUSTOMER}/interactions/{interaction}/attachments",
        WEBP,
        name="visit.webp",
    )
    assert visit.status_code == 200, visit.text
    position = visit.json()["position"]

    # Listed where the records are shown: the responsibility view, per incident, claim and
    # handover, with who attached each file.
    view = read_fresh(clients.suzhou, f"{base}/responsibility", min_position=position).json()
    [on_incident] = view["incidents"][0]["attachments"]
    assert (on_incident["sha256"], on_incident["file_name"]) == (sha(PNG), "cartons.png")
    assert on_incident["attached_by"] == "zhou.min"
    assert [f["sha256"] for f in view["claims"][0]["attachments"]] == [sha(PDF)]
    assert [f["sha256"] for f in view["chain"][0]["handover_in"]["attachments"]] == [sha(JPEG)]
    assert [f["media_type"] for f in view["chain"][5]["handover_out"]["attachments"]] == [
        "image/tiff"
    ]
    assert view["chain"][1]["handover_in"]["attachments"] == []
    assert len(view["attachments"]) == 4

    # Read back with its media type by whoever may read the shipment ...
    got = clients.suzhou.get(f"{base}/attachments/{sha(PNG)}")
    assert got.status_code == 200
    assert (got.headers["content-type"], got.content) == ("image/png", PNG)
    assert clients.auditor.get(f"{base}/attachments/{sha(PDF)}").content == PDF
    on_visit = clients.suzhou.get(f"/v1/relationships/{CUSTOMER}/attachments/{sha(WEBP)}")
    assert (on_visit.status_code, on_visit.content) == (200, WEBP)
    # ... and by nobody else: another branch's staff as if there were none.
    assert clients.shanghai.get(f"{base}/attachments/{sha(PNG)}").status_code == 404
    other = clients.shanghai.get(f"/v1/relationships/{CUSTOMER}/attachments/{sha(WEBP)}")
    assert other.status_code == 404
    # A file attached elsewhere is not this record's; a name that is no hash is refused.
    assert clients.suzhou.get(f"{base}/attachments/{sha(WEBP)}").status_code == 404
    assert clients.suzhou.get(f"{base}/attachments/{'0' * 64}").status_code == 404
    assert clients.suzhou.get(f"{base}/attachments/cartons.png").status_code == 422
    # Another branch cannot attach to the customer's records either.
    assert (
        upload(clients.shanghai, f"{base}/incidents/{incident}/attachments", PNG).status_code == 404
    )

    # The relationship's history shows the interaction's evidence.
    history = read_fresh(
        clients.auditor,
        f"/v1/relationships/{CUSTOMER}/history",
        min_position=position,
        event=["Relationship.EvidenceAttached"],
    ).json()["items"]
    [entry] = history
    assert entry["data"]["target_id"] == str(interaction)
    assert (entry["data"]["sha256"], entry["data"]["media_type"]) == (sha(WEBP), "image/webp")
    assert entry["actor"] == "zhou.min"


def test_uploads_are_refused_when_too_large_of_another_type_or_missing(
    clients: Clients, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    path = f"/v1/shipments/{shipment.id}/incidents/{incident}/attachments"

    def refused(response: httpx.Response, status: int) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = response.json()
        return problem

    monkeypatch.setenv(MAX_BYTES_VARIABLE, "1000")
    big = PNG + b"\x00" * 1000
    refused(upload(clients.suzhou, path, big), 413)
    # A body beyond the file's limit and the form's room: refused before it is read.
    refused(upload(clients.suzhou, path, PNG + b"\x00" * 200_000), 413)
    monkeypatch.delenv(MAX_BYTES_VARIABLE)

    text = refused(upload(clients.suzhou, path, b"GIF89a not taken", name="x.gif"), 415)
    assert text["errors"][0]["field"] == "file"
    lying = refused(upload(clients.suzhou, path, PDF, content_type="image/png"), 415)
    assert "application/pdf" in lying["detail"]
    missing = refused(clients.suzhou.post(path, data={"note": "no file"}), 422)
    assert any(e["field"] == "file" for e in missing["errors"])
    refused(upload(clients.suzhou, path, b""), 422)

    # Unknown records: 404; a state that forbids it: 409; a stale version: 412.
    refused(
        upload(clients.suzhou, f"/v1/shipments/{uuid4()}/incidents/{incident}/attachments", PNG),
        404,
    )
    refused(
        upload(clients.suzhou, f"/v1/shipments/{shipment.id}/incidents/{uuid4()}/attachments", PNG),
        404,
    )
    refused(
        upload(clients.suzhou, f"/v1/shipments/{shipment.id}/handovers/8/attachments", PNG), 404
    )
    refused(
        upload(
            clients.suzhou, f"/v1/relationships/{CUSTOMER}/interactions/{uuid4()}/attachments", PNG
        ),
        404,
    )
    stale = upload(clients.suzhou, path, PNG, headers={"If-Match": '"1"'})
    refused(stale, 412)
    services.app.shipments.close_claim(
        services.app.context("zhou.min"), shipment.id, claim_id=claim, note="settled"
    )
    closed = refused(
        upload(clients.suzhou, f"/v1/shipments/{shipment.id}/claims/{claim}/attachments", PDF), 409
    )
    assert closed["rule"] == "claim.closed"
    # Auditors read evidence; they never attach any.
    refused(upload(clients.auditor, path, PNG), 403)
    # Nothing refused was attached (a refused command may leave its file in the store:
    # unnamed by the log, it is evidence of nothing).
    assert attached_events(services) == 0
    assert not [p for p in clients.store.root.rglob(".incoming-*")]


def attached_events(services: Services) -> int:
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM fullchain_events WHERE topic = 'Shipment.EvidenceAttached'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_retried_upload_attaches_once_and_the_same_file_is_stored_once(
    clients: Clients, services: Services
) -> None:
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    path = f"/v1/shipments/{shipment.id}/incidents/{incident}/attachments"
    key = {"Idempotency-Key": "photo-cartons-1"}
    first = upload(clients.suzhou, path, PNG, name="cartons.png", headers=key)
    again = upload(clients.suzhou, path, PNG, name="cartons.png", headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert attached_events(services) == 1
    # The same key for another file is another request.
    other = upload(clients.suzhou, path, JPEG, name="cartons.png", headers=key)
    assert other.status_code == 422

    # The same bytes attached to the claim too: one file in the store.
    on_claim = upload(
        clients.suzhou, f"/v1/shipments/{shipment.id}/claims/{claim}/attachments", PNG
    )
    assert (on_claim.status_code, on_claim.json()["stored"]) == (200, False)
    assert attached_events(services) == 2
    files = [p for p in clients.store.root.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [sha(PNG)]
    assert files[0].read_bytes() == PNG


def test_verify_reports_each_missing_or_altered_file(
    clients: Clients, services: Services, tmp_path: Path
) -> None:
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    base = f"/v1/shipments/{shipment.id}"
    for path, data in (
        (f"{base}/incidents/{incident}/attachments", PNG),
        (f"{base}/claims/{claim}/attachments", PDF),
        (f"{base}/handovers/7/attachments", JPEG),
    ):
        assert upload(clients.suzhou, path, data).status_code == 200
    checked = verify_evidence(services.database, services.app.mapper, clients.store)
    assert (checked.intact, checked.attachments) == (True, 3)

    clients.store.path(sha(PNG)).unlink()
    clients.store.path(sha(PDF)).write_bytes(PDF.replace(b"damaged", b"intact!"))
    checked = verify_evidence(services.database, services.app.mapper, clients.store)
    assert not checked.intact
    assert {(p.sha256, p.state) for p in checked.problems} == {
        (sha(PNG), FileState.MISSING),
        (sha(PDF), FileState.ALTERED),
    }
    [altered] = [p for p in checked.problems if p.state is FileState.ALTERED]
    assert f"Shipment {shipment.id} claim {claim}" in altered.attached_to
    over_http = clients.auditor.post("/v1/audit/verify", json={}).json()["evidence"]
    assert (over_http["intact"], over_http["attachments"]) == (False, 3)
    assert {(p["sha256"], p["state"]) for p in over_http["problems"]} == {
        (sha(PNG), "missing"),
        (sha(PDF), "altered"),
    }
    # An altered file is never served as the evidence.
    assert clients.suzhou.get(f"{base}/attachments/{sha(PDF)}").status_code == 404

    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: services.database.conninfo,
        EVIDENCE_DIR_VARIABLE: str(clients.store.root),
    }
    run = subprocess.run(
        [sys.executable, "-m", "interface.cli", "verify"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 1, run.stderr
    assert f"evidence {sha(PNG)}: missing" in run.stdout
    assert f"evidence {sha(PDF)}: altered" in run.stdout
    assert f"evidence {sha(JPEG)}" not in run.stdout
    assert "verdict: the log is NOT intact" in run.stdout


def test_a_partner_user_attaches_to_the_handovers_of_its_links_only(
    clients: Clients, services: Services
) -> None:
    register_parties(services)
    shipment, incident, _ = seed_case(services)
    airline = enroll(services, "ce.cargo", "China Eastern Cargo desk", partner_id=AIRLINE)
    headers = {"Authorization": f"Bearer {airline}"}
    base = f"/v1/shipments/{shipment.id}"
    # Into the airline's link, and out of it into import customs: the airline's handovers.
    for number in (AIR_CARRIAGE, AIR_CARRIAGE + 1):
        signed = upload(
            clients.suzhou, f"{base}/handovers/{number}/attachments", JPEG, headers=headers
        )
        assert signed.status_code == 200, signed.text
    # The pickup is not the airline's handover; incidents and claims are not its to attach.
    refused = upload(clients.suzhou, f"{base}/handovers/1/attachments", JPEG, headers=headers)
    assert refused.status_code == 403
    on_incident = upload(
        clients.suzhou, f"{base}/incidents/{incident}/attachments", PNG, headers=headers
    )
    assert on_incident.status_code == 403
