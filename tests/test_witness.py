"""Witnesses countersign checkpoints that extend the last one they countersigned, with C2SP
cosignatures (c2sp.org/tlog-cosignature v1); the service keeps the cosignatures of trusted
witnesses and audit packages carry them, checked offline — those kept in the older form (a
plain note signature) too, shown as such."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from application.proofs.note import Cosigner, Note, Signer, Verifier
from application.proofs.witness import WITNESS_KEYS_VARIABLE, WitnessRefusal, cosign
from application.store.database import Database
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import CUSTOMER
from tests.proofs.test_cosignature import blob_of, spec_cosignature, with_blob
from tests.staffing import enroll
from tests.test_audit_package import check
from tests.test_integrity import write_history
from tests.test_responsibility import catch_up, register_parties, seed_case

WITNESS = Cosigner("witness.example/auditor-qian", Ed25519PrivateKey.generate())
#: A witness that countersigned before cosignatures were timestamped, trusted by the
#: verifier key (type 0x01) it gave then.
EARLIER = Signer("witness.example/auditor-zhou", Ed25519PrivateKey.generate())
NOW = datetime(2026, 11, 30, 9, 30, 15, 250000, tzinfo=UTC)
NOW_SECONDS = 1796031015  # NOW in whole seconds since the epoch


@pytest.fixture
def client(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv(
        WITNESS_KEYS_VARIABLE, f"{WITNESS.verifier.encode()}, {EARLIER.verifier.encode()}"
    )
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def log_keys(client: TestClient) -> list[Verifier]:
    return [Verifier.decode(client.get("/v1/audit/verifier-key").json()["verifier_key"])]


def proof(client: TestClient, first: int, second: int) -> list[bytes]:
    answer = client.get("/v1/audit/proofs/consistency", params={"first": first, "second": second})
    return [base64.b64decode(p) for p in answer.json()["proof"]]


def size_of(note: str) -> int:
    return int(note.split("\n")[1])


def test_a_witness_countersigns_only_a_log_that_extends_what_it_countersigned(
    services: Services, client: TestClient, superuser_database: Database
) -> None:
    log = log_keys(client)
    write_history(services, 1)
    first = client.post("/v1/audit/tree-heads").text
    first_cosigned = cosign(first, log, WITNESS, last=None, proof=[], now=NOW)
    assert spec_cosignature(first_cosigned, WITNESS.verifier.encode()) == NOW_SECONDS
    assert WITNESS.verifier.verify(Note.parse(first_cosigned)).timestamp == NOW_SECONDS
    assert Note.parse(first_cosigned).verified_by(log[0])

    write_history(services, 1)
    second = client.post("/v1/audit/tree-heads").text
    extends = proof(client, size_of(first), size_of(second))
    cosign(second, log, WITNESS, last=first_cosigned, proof=extends, now=NOW)

    with pytest.raises(WitnessRefusal, match="does not extend"):
        cosign(second, log, WITNESS, last=first_cosigned, proof=extends[1:], now=NOW)
    with pytest.raises(WitnessRefusal, match="shrank"):
        cosign(first, log, WITNESS, last=second, proof=[], now=NOW)
    stranger = [Verifier(log[0].name, Ed25519PrivateKey.generate().public_key())]
    with pytest.raises(WitnessRefusal, match="not the log's checkpoint"):
        cosign(second, stranger, WITNESS, last=None, proof=[], now=NOW)

    # A rewritten history: the log's next checkpoint is of another tree.
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE fullchain_events SET state = convert_to('{}', 'UTF8') WHERE notification_id"
            " = (SELECT min(notification_id) FROM fullchain_events)"
        )
        conn.execute(
            "TRUNCATE fullchain_tree_leaf, fullchain_tree_node, fullchain_tree_owner, "
            "fullchain_customer_entry"
        )
    write_history(services, 1)
    rewritten = client.post("/v1/audit/tree-heads").text
    with pytest.raises(WitnessRefusal, match="does not extend"):
        cosign(
            rewritten,
            log,
            WITNESS,
            last=first_cosigned,
            proof=proof(client, size_of(first), size_of(rewritten)),
            now=NOW,
        )


def test_the_witness_on_the_command_line(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    key_file = tmp_path / "witness.pem"
    key_file.write_bytes(
        WITNESS.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    log_key = client.get("/v1/audit/verifier-key").json()["verifier_key"]
    write_history(services, 1)
    (tmp_path / "first.note").write_text(client.post("/v1/audit/tree-heads").text)
    write_history(services, 1)
    second = client.post("/v1/audit/tree-heads").text
    (tmp_path / "second.note").write_text(second)
    answer = client.get(
        "/v1/audit/proofs/consistency",
        params={"first": size_of((tmp_path / "first.note").read_text()), "second": size_of(second)},
    )
    (tmp_path / "proof.json").write_text(answer.text)

    def witness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interface.cli", "witness", "--key", str(key_file),
             "--name", WITNESS.name, "--log-key", log_key, *args],
            env=dict(os.environ), capture_output=True, text=True,
        )  # fmt: skip

    first, proved = str(tmp_path / "first.note"), str(tmp_path / "proof.json")
    signed = witness("--last", first, "--proof", proved, str(tmp_path / "second.note"))
    assert signed.returncode == 0, signed.stderr
    assert WITNESS.verifier.encode() in signed.stderr  # the key to give the service
    assert signed.stdout.startswith(second)
    assert spec_cosignature(signed.stdout, WITNESS.verifier.encode()) > 0  # timed by the clock
    refused = witness("--last", str(tmp_path / "second.note"), str(tmp_path / "first.note"))
    assert refused.returncode == 1
    assert "not countersigned" in refused.stderr


def test_trusted_cosignatures_are_kept_and_travel_in_the_audit_package(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    register_parties(services)
    seed_case(services)
    catch_up(services)
    log = log_keys(client)
    note = client.post("/v1/audit/tree-heads").text
    cosigned = cosign(note, log, WITNESS, last=None, proof=[], now=NOW)
    kept = client.post("/v1/audit/cosignatures", json={"checkpoint": cosigned})
    assert kept.status_code == 201, kept.text
    assert kept.json() == {"witnesses": [WITNESS.name]}
    other = Cosigner("someone.example/w", Ed25519PrivateKey.generate())
    refused = client.post(
        "/v1/audit/cosignatures",
        json={"checkpoint": cosign(note, log, other, last=None, proof=[], now=NOW)},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "checkpoint"
    # The older form, a plain note signature, is no longer taken, even of a trusted key...
    plain = note + EARLIER.signature_line(Note.parse(note).text)
    refused = client.post("/v1/audit/cosignatures", json={"checkpoint": plain})
    assert refused.status_code == 422
    assert "plain note signature (type 0x01" in refused.text
    # ... but one kept before stays, and travels as such.
    with services.database.connect(purpose="witness") as conn:
        conn.execute(
            "INSERT INTO fullchain_cosignature (witness, size, note) VALUES (%s, %s, %s)",
            (EARLIER.name, size_of(note), plain),
        )
        conn.commit()

    services.app.relationships.rename_relationship(
        services.app.context("li.wei"), CUSTOMER, name="苏州华芯电子有限公司 (renamed)"
    )
    package = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    folder = tmp_path / "package"
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        archive.extractall(folder)
    ok = check(folder)
    assert ok.returncode == 0, ok.stdout
    assert (
        f"countersigned by {WITNESS.name} at {size_of(note)} entries (cosignature/v1 of "
        "2026-11-30T09:30:15Z), which this checkpoint extends" in ok.stdout
    )
    assert (
        f"countersigned by {EARLIER.name} at {size_of(note)} entries (a plain note signature "
        "of the older form, without a time)" in ok.stdout
    )
    carried = json.loads((folder / "cosignatures.json").read_text())
    assert WITNESS.verifier.encode() in carried["witness_keys"]
    ours = next(c for c in carried["cosignatures"] if c["witness"] == WITNESS.name)
    assert spec_cosignature(ours["checkpoint"], WITNESS.verifier.encode()) == NOW_SECONDS

    def refused_offline(change: Callable[[dict[str, Any]], None]) -> str:
        altered = json.loads(json.dumps(carried))
        change(next(c for c in altered["cosignatures"] if c["witness"] == WITNESS.name))
        (folder / "cosignatures.json").write_text(json.dumps(altered))
        bad = check(folder)
        assert bad.returncode == 1, bad.stdout
        (problem,) = [line for line in bad.stdout.splitlines() if "cosignature of" in line]
        assert problem.startswith(f"cosignature of {WITNESS.name}: ")
        return problem

    blob = blob_of(cosigned, WITNESS.name)

    def set_blob(changed: bytes) -> Callable[[dict[str, Any]], None]:
        def change(c: dict[str, Any]) -> None:
            c["checkpoint"] = with_blob(c["checkpoint"], WITNESS.name, changed)

        return change

    # A cosignature whose checkpoint this package's does not extend is named.
    refused_offline(lambda c: c.update(consistency=[]))
    # Its time altered.
    later = blob[:4] + (NOW_SECONDS + 3600).to_bytes(8, "big") + blob[12:]
    assert "its time (1796034615) was altered" in refused_offline(set_blob(later))
    # Its line moved onto another checkpoint the log signed.
    write_history(services, 1)
    another = client.post("/v1/audit/tree-heads").text
    line = cosigned.rsplit("\n", 2)[-2] + "\n"
    assert "checkpoint or its time" in refused_offline(
        lambda c: c.update(checkpoint=another + line)
    )
    # Another key under the witness's name, or another key id.
    impostor = cosign(
        note,
        log,
        Cosigner(WITNESS.name, Ed25519PrivateKey.generate()),
        last=None,
        proof=[],
        now=NOW,
    )
    assert "wrong key" in refused_offline(lambda c: c.update(checkpoint=impostor))
    assert "wrong key" in refused_offline(set_blob(bytes([blob[0] ^ 0x80]) + blob[1:]))
    # A plain note signature of the witness's key passed off under its cosignature key id.
    signed_alone = WITNESS.private.sign(Note.parse(note).text.encode())
    assert "passed off" in refused_offline(set_blob(blob[:4] + signed_alone))
    assert "passed off" in refused_offline(set_blob(blob[:12] + signed_alone))


def test_a_cosignature_dated_before_its_checkpoint_or_out_of_order_is_refused(
    services: Services, client: TestClient, tmp_path: Path
) -> None:
    """A witness cannot have countersigned a checkpoint before the log signed it, and never
    countersigns a smaller tree after a larger one: the service refuses such times (422,
    naming them), and the offline verifier names a cosignature dated before its
    checkpoint should one be in a package."""
    register_parties(services)
    seed_case(services)
    catch_up(services)
    log = log_keys(client)

    def cosigned_at(note: str, at: datetime) -> str:
        return cosign(note, log, WITNESS, last=None, proof=[], now=at)

    def keep(note: str) -> Any:
        return client.post("/v1/audit/cosignatures", json={"checkpoint": note})

    first = client.post("/v1/audit/tree-heads").text  # signed at the service's clock
    before = cosigned_at(first, datetime(2026, 3, 4, 9, 59, 59, tzinfo=UTC))
    refused = keep(before)
    assert refused.status_code == 422, refused.text
    assert "dated 2026-03-04T09:59:59Z, before the log signed the checkpoint" in refused.text
    assert keep(cosigned_at(first, NOW)).status_code == 201

    write_history(services, 1)
    middle = client.post("/v1/audit/tree-heads").text
    write_history(services, 1)
    last = client.post("/v1/audit/tree-heads").text
    assert size_of(first) < size_of(middle) < size_of(last)
    # A larger tree dated before the smaller one kept.
    refused = keep(cosigned_at(last, datetime(2026, 11, 29, tzinfo=UTC)))
    assert refused.status_code == 422, refused.text
    assert f"out of order with its cosignature of the tree of {size_of(first)}" in refused.text
    assert keep(cosigned_at(last, datetime(2026, 12, 1, tzinfo=UTC))).status_code == 201
    # A tree between the two, dated after the larger one: refused; between them: kept.
    refused = keep(cosigned_at(middle, datetime(2026, 12, 2, tzinfo=UTC)))
    assert refused.status_code == 422, refused.text
    assert f"out of order with its cosignature of the tree of {size_of(last)}" in refused.text
    assert keep(cosigned_at(middle, datetime(2026, 11, 30, 12, tzinfo=UTC))).status_code == 201
    with services.database.connect(purpose="witness") as conn:
        kept = conn.execute(
            "SELECT size FROM fullchain_cosignature WHERE witness = %s ORDER BY size",
            (WITNESS.name,),
        ).fetchall()
    assert [k[0] for k in kept] == [size_of(first), size_of(middle), size_of(last)]

    # Offline: a cosignature dated before its checkpoint, had it been kept, is named.
    with services.database.connect(purpose="witness") as conn:
        conn.execute("DELETE FROM fullchain_cosignature")
        conn.execute(
            "INSERT INTO fullchain_cosignature (witness, size, note) VALUES (%s, %s, %s)",
            (WITNESS.name, size_of(first), before),
        )
        conn.commit()
    package = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    folder = tmp_path / "package"
    with zipfile.ZipFile(io.BytesIO(package.content)) as archive:
        archive.extractall(folder)
    bad = check(folder)
    assert bad.returncode == 1, bad.stdout
    (problem,) = [line for line in bad.stdout.splitlines() if "cosignature of" in line]
    assert problem.startswith(f"cosignature of {WITNESS.name}: its time (1772618399) is before")
