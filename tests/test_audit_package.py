"""A customer's audit package proves offline that the history is complete and unaltered,
and every tampering of a copy is found, the entry named."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient

from application.audit_export import _Behind, line_of, package_entries
from application.evidence import LocalEvidenceStore
from application.proofs import sealed
from application.proofs.entries import entry_bytes
from application.proofs.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from application.proofs.note import Verifier, open_checkpoint
from application.proofs.tree import LogTree
from application.store.database import Database
from application.store.integrity import chain_hash
from application.store.schema import EVENTS_TABLE
from domain.evidence import EvidenceTarget
from domain.relationship import Channel, Direction
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.domain.test_shipment import CUSTOMER
from tests.staffing import enroll
from tests.test_integrity import write_history
from tests.test_personal_data import with_contact
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


def write(folder: Path, entries: list[dict[str, Any]]) -> None:
    (folder / "history.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8"
    )


def call_customer(services: Services, summary: str) -> None:
    """An outbound call to the customer logged by li.wei, with ``summary``."""
    app = services.app
    app.relationships.log_interaction(
        app.context("li.wei"),
        CUSTOMER,
        interaction_id=uuid4(),
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        summary=summary,
    )


def read(folder: Path) -> list[dict[str, Any]]:
    lines = (folder / "history.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def package(client: TestClient, services: Services, tmp_path: Path) -> Path:
    register_parties(services)
    seed_case(services)
    catch_up(services)
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    return unpack(response.content, tmp_path / "package")


def copy_of(package: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(package, target)
    return target


def test_the_package_holds_the_whole_history_and_proves_it_offline(
    package: Path, services: Services
) -> None:
    entries = read(package)
    shipment = services.app.shipments.get_shipment(seed_shipment_id(entries))
    # The relationship's registration, then every event of its shipment, in log order.
    assert entries[0]["event_name"] == "Relationship.Registered"
    assert {e["aggregate_type"] for e in entries} == {"Relationship", "Shipment"}
    assert len([e for e in entries if e["aggregate_id"] == str(shipment.id)]) == shipment.version
    assert [e["proof"]["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["position"] for e in entries] == sorted(e["position"] for e in entries)
    verification = json.loads((package / "verification.json").read_text())
    assert verification["intact"] is True
    # The first package walked the whole chain; the next continues from where it ended.
    assert verification["checked_from"] is None
    assert verification["whole_chain_walked_at"] is None
    assert sorted(p.name for p in package.glob("*.py")) == [
        "customer_map.py",
        "entries.py",
        "merkle.py",
        "note.py",
        "sealed.py",
        "verify_package.py",
    ]

    # The keys of every sealed field of the entries, and no other.
    sealed_under = set[UUID]().union(
        *(sealed.key_ids(json.loads(base64.b64decode(e["stored"]["state"]))) for e in entries)
    )
    packed = json.loads((package / "personal_keys.json").read_text())["keys"]
    assert sealed_under
    assert {UUID(k) for k in packed} == sealed_under

    ok = check(package)
    assert ok.returncode == 0, ok.stdout
    assert f"{len(entries)} entries of customer {CUSTOMER}: complete and intact" in ok.stdout


def test_texts_typed_to_look_sealed_are_packed_and_proved_as_they_are(
    client: TestClient, services: Services, superuser_database: Database, tmp_path: Path
) -> None:
    """A text that begins like a sealed value, typed into a personal field (a visit's
    notes: sealed like any other) or into one that is not personal (a company's name:
    kept as typed), does not stop the package from proving itself, and gives the auditor
    no key but those of the customer's personal fields: not another person's, even where
    the text is a copy of a value sealed under it."""
    register_parties(services)
    app = services.app
    other = with_contact(services)  # another customer, with a contact
    with superuser_database.connect() as conn:
        state = conn.execute(
            f"SELECT state FROM {EVENTS_TABLE} WHERE originator_id = %s AND topic = %s",
            (other, "Relationship.ContactAdded"),
        ).fetchone()
    assert state is not None
    copied = json.loads(bytes(state[0]))["contact"]["name"]  # sealed under the contact's key
    others_key = sealed.key_id_of(copied)
    assert others_key is not None
    look_alikes = (copied, sealed.PREFIX + "short")
    for typed in look_alikes:
        call_customer(services, typed)
    app.relationships.rename_relationship(app.context("li.wei"), CUSTOMER, name=copied)
    catch_up(services)
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    package = unpack(response.content, tmp_path / "package")
    entries = read(package)
    shown = [e["data"] for e in entries if e["event_name"].endswith("InteractionLogged")]
    assert [d["summary"] for d in shown] == list(look_alikes)
    renamed = [e["data"] for e in entries if e["event_name"].endswith("Renamed")]
    assert renamed[-1]["name"] == copied
    packed = json.loads((package / "personal_keys.json").read_text())["keys"]
    assert packed
    assert str(others_key) not in packed
    ok = check(package)
    assert ok.returncode == 0, ok.stdout


def seed_shipment_id(entries: list[dict[str, Any]]) -> UUID:
    return UUID(next(e["aggregate_id"] for e in entries if e["aggregate_type"] == "Shipment"))


def paid(entries: list[dict[str, Any]]) -> int:
    return next(i for i, e in enumerate(entries) if e["event_name"].endswith("CompensationPaid"))


def forged_state(entry: dict[str, Any], old: str, new: str) -> str:
    state = base64.b64decode(entry["stored"]["state"]).decode()
    assert old in state
    return base64.b64encode(state.replace(old, new).encode()).decode()


def test_every_tampering_with_the_entries_is_found_and_named(package: Path, tmp_path: Path) -> None:
    entries = read(package)
    n = len(entries)
    k = paid(entries)
    position = entries[k]["position"]

    def tampered(name: str, changed: list[dict[str, Any]]) -> str:
        folder = copy_of(package, tmp_path, name)
        write(folder, changed)
        result = check(folder)
        assert result.returncode == 1, (name, result.stdout)
        assert "the package is not proved" in result.stdout, name
        return result.stdout

    m = n // 2  # an entry in the middle
    # Deleted: the entry after it stands where it belonged, and the head is not entry N.
    out = tampered("deleted", entries[:m] + entries[m + 1 :])
    assert f"entry {m + 1} (position {entries[m + 1]['position']}): is the customer's" in out
    assert f"the package's {n - 1} entries are not the customer's entries" in out

    # Cut short: every entry holds, the head does not.
    out = tampered("cut", entries[:-3])
    assert out.splitlines()[0].startswith(f"the package's {n - 3} entries are not")

    # Reordered.
    swapped = [*entries]
    swapped[m], swapped[m + 1] = swapped[m + 1], swapped[m]
    out = tampered("reordered", swapped)
    assert f"entry {m + 1} (position {entries[m + 1]['position']}): is the customer's" in out

    # Inserted: a copy of an entry, as if it happened twice.
    out = tampered("inserted", [*entries[: m + 1], entries[m], *entries[m + 1 :]])
    assert f"entry {m + 2} (position {entries[m]['position']}): is the customer's entry" in out

    # Edited: the amount paid, 40000 -> 90000, in the stored entry.
    edited = json.loads(json.dumps(entries))
    edited[k]["stored"]["state"] = forged_state(edited[k], '"40000"', '"90000"')
    out = tampered("edited", edited)
    assert f"entry {k + 1} (position {position}): is not in the signed log" in out

    # Edited and re-hashed: the chain hash recomputed from the entry's own prev_hash.
    rehashed = json.loads(json.dumps(edited))
    stored = rehashed[k]["stored"]
    stored["chain_hash"] = chain_hash(
        bytes.fromhex(stored["prev_hash"]),
        position=position,
        aggregate_id=UUID(rehashed[k]["aggregate_id"]),
        version=rehashed[k]["version"],
        topic=stored["topic"],
        state=base64.b64decode(stored["state"]),
        recorded_at=datetime(1970, 1, 1, tzinfo=UTC)
        + timedelta(microseconds=stored["recorded_at_micros"]),
    ).hex()
    out = tampered("rehashed", rehashed)
    assert f"entry {k + 1} (position {position}): is not in the signed log" in out

    # The readable copy edited, the stored entry left as it was.
    shown = json.loads(json.dumps(entries))
    assert shown[k]["data"]["amount"] == "40000"
    shown[k]["data"]["amount"] = "90000"
    out = tampered("shown", shown)
    assert f"entry {k + 1} (position {position}): shows amount other than" in out

    # A signer's name, sealed in the stored entry, shown as another person's.
    signed = next(i for i, e in enumerate(entries) if "signed_by" in e["data"])
    forged = json.loads(json.dumps(entries))
    forged[signed]["data"]["signed_by"] = "Somebody Else"
    out = tampered("signer", forged)
    where = f"entry {signed + 1} (position {entries[signed]['position']})"
    assert f"{where}: shows signed_by other than" in out
    # Or shown as erased while its key is in the package: not erased, hidden.
    forged[signed]["data"]["signed_by"] = "[erased]"
    out = tampered("hidden", forged)
    assert f"{where}: shows signed_by other than" in out
    # A key that is not the field's: the sealed field does not open.
    keys = json.loads((package / "personal_keys.json").read_text())
    assert keys["keys"]
    wrong = copy_of(package, tmp_path, "wrong-key")
    keys["keys"] = {k: base64.b64encode(bytes(32)).decode() for k in keys["keys"]}
    (wrong / "personal_keys.json").write_text(json.dumps(keys))
    result = check(wrong)
    assert result.returncode == 1
    assert "signed_by does not open with its key" in result.stdout

    # A field the stored entry does not hold, added to what is shown.
    added = json.loads(json.dumps(entries))
    added[k]["data"]["approved_by"] = "headquarters"
    out = tampered("added", added)
    assert f"entry {k + 1} (position {position}): shows approved_by, which the stored" in out
    # Who recorded it, when, in which command, when it was logged: each as stored.
    for name, value in (
        ("actor", "qian.lin"),
        ("occurred_at", "2026-01-01T00:00:00+00:00"),
        ("command_id", str(uuid4())),
        ("causation_id", str(uuid4())),
        ("aggregate_type", "Relationship"),
        ("recorded_at", "2026-01-01T00:00:00+00:00"),
    ):
        assert entries[k][name] != value, name
        recorded = json.loads(json.dumps(entries))
        recorded[k][name] = value
        out = tampered(f"recorded-{name}", recorded)
        assert f"entry {k + 1} (position {position}): shows {name} other than" in out, name
    # A stored fact shown apart as if today's code derived it.
    apart = json.loads(json.dumps(entries))
    apart[k]["derived"] = {"amount": apart[k]["data"].pop("amount")}
    out = tampered("apart", apart)
    assert f"entry {k + 1} (position {position}): shows amount other than" in out
    assert f"entry {k + 1} (position {position}): shows amount as derived, which" in out

    # Its proof swapped for another entry's.
    moved = json.loads(json.dumps(entries))
    moved[k]["proof"]["inclusion"] = entries[k - 1]["proof"]["inclusion"]
    out = tampered("proof", moved)
    assert f"entry {k + 1} (position {position}): is not in the signed log" in out


def test_an_entry_not_of_the_package_form_is_named_and_the_rest_still_checked(
    package: Path, tmp_path: Path
) -> None:
    """A line that is not JSON, or an entry missing what it must hold, is named as such
    (not a crash of the checker), and every other entry is still checked."""
    lines = (package / "history.jsonl").read_text(encoding="utf-8").splitlines()
    entries = read(package)
    without_stored = dict(entries[2])
    del without_stored["stored"]
    broken_proof = json.loads(json.dumps(entries[3]))
    broken_proof["proof"]["inclusion"] = "not a list of hashes"
    for name, changed, named in (
        ("not-json", {1: "{not json"}, "entry 2: is not an entry of the package's form"),
        (
            "no-stored",
            {2: json.dumps(without_stored)},
            "entry 3: is not an entry of the package's form",
        ),
        (
            "odd-proof",
            {3: json.dumps(broken_proof)},
            f"entry 4 (position {entries[3]['position']}): is not",
        ),
    ):
        folder = copy_of(package, tmp_path, name)
        (folder / "history.jsonl").write_text(
            "".join(changed.get(i, line) + "\n" for i, line in enumerate(lines)),
            encoding="utf-8",
        )
        result = check(folder)
        assert result.returncode == 1, result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        assert named in result.stdout, (name, result.stdout)
        # An entry that could not be read is not the customer's: its head says so too.
        missing = "entries are missing, added, reordered or changed" in result.stdout
        assert missing == (name != "odd-proof"), (name, result.stdout)


def test_a_package_file_not_of_its_form_is_named_never_a_crash(
    package: Path, tmp_path: Path
) -> None:
    """Each file of the package other than the entries, missing or not of its form, is
    named by the check (never a traceback), and the package is not proved."""

    def keys_not_keys(folder: Path) -> None:
        path = folder / "personal_keys.json"
        held = json.loads(path.read_text())
        held["keys"] = {k: "!!not base64!!" for k in held["keys"]}
        path.write_text(json.dumps(held))

    cases: list[tuple[str, Callable[[Path], object], str]] = [
        ("customer-empty", lambda f: (f / "customer.json").write_text("{}"), "customer.json: "),
        ("customer-not-json", lambda f: (f / "customer.json").write_text("{x"), "customer.json: "),
        ("history-gone", lambda f: (f / "history.jsonl").unlink(), "history.jsonl: missing"),
        ("keys-not-json", lambda f: (f / "personal_keys.json").write_text("[1"), "personal_keys"),
        ("keys-not-keys", keys_not_keys, "is not a data key"),
        ("cosignatures-list", lambda f: (f / "cosignatures.json").write_text("[]"), "cosignatures"),
        (
            "cosignature-odd",
            lambda f: (f / "cosignatures.json").write_text('{"cosignatures": [{"x": 1}]}'),
            "cosignature of None",
        ),
    ]
    for name, damage, named in cases:
        folder = copy_of(package, tmp_path, name)
        damage(folder)
        result = check(folder)
        assert result.returncode == 1, (name, result.stdout)
        assert "Traceback" not in result.stdout + result.stderr, (name, result.stderr)
        assert named in result.stdout, (name, result.stdout)


def test_a_checkpoint_altered_or_signed_by_another_key_proves_nothing(
    package: Path, tmp_path: Path
) -> None:
    note = (package / "checkpoint.note").read_text()
    lines = note.split("\n")
    altered = copy_of(package, tmp_path, "altered")
    (altered / "checkpoint.note").write_text(
        "\n".join([lines[0], str(int(lines[1]) + 1), *lines[2:]])
    )
    result = check(altered)
    assert result.returncode == 1
    assert "checkpoint: the signature of" in result.stdout
    assert "nothing is proved" in result.stdout

    stranger = copy_of(package, tmp_path, "stranger")
    other = Verifier(lines[0], Ed25519PrivateKey.generate().public_key())
    (stranger / "verifier_key.txt").write_text(other.encode() + "\n")
    result = check(stranger)
    assert result.returncode == 1
    assert "carries no signature" in result.stdout


def test_a_package_still_proves_itself_after_later_appends_and_the_log_extends_it(
    package: Path, services: Services, client: TestClient
) -> None:
    note = (package / "checkpoint.note").read_text()
    verifier = Verifier.decode((package / "verifier_key.txt").read_text())
    head = open_checkpoint(note, verifier)
    services.app.relationships.rename_relationship(
        services.app.context("li.wei"), CUSTOMER, name="苏州华芯电子有限公司 (renamed)"
    )
    assert check(package).returncode == 0  # offline: the package alone
    later = open_checkpoint(client.post("/v1/audit/tree-heads").text, verifier)
    assert later.size > head.size
    proof = client.get(
        "/v1/audit/proofs/consistency", params={"first": head.size, "second": later.size}
    ).json()
    verify_consistency(
        head.size,
        later.size,
        head.root,
        later.root,
        [base64.b64decode(p) for p in proof["proof"]],
    )


def test_unknown_relationships_have_no_package(client: TestClient, services: Services) -> None:
    catch_up(services)
    response = client.get("/v1/relationships/00000000-0000-4000-8000-00000000dead/audit-package")
    assert response.status_code == 404


def test_replay_and_export_on_the_command_line(services: Services, tmp_path: Path) -> None:
    import os

    from application.store.database import DATABASE_URL_VARIABLE

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


def test_the_command_line_stops_quietly_at_a_closed_pipe_and_exports_to_standard_output(
    services: Services, tmp_path: Path
) -> None:
    import os

    from application.store.database import DATABASE_URL_VARIABLE

    register_parties(services)
    seed_case(services)
    catch_up(services)
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    cli = [sys.executable, "-m", "interface.cli"]

    # `| head -0`: the reader has gone before anything is written.
    read, write = os.pipe()
    os.close(read)
    replay = subprocess.run(
        [*cli, "replay", str(CUSTOMER)], env=env, stdout=write, stderr=subprocess.PIPE
    )
    os.close(write)
    assert replay.returncode == 0, replay.stderr
    assert b"Traceback" not in replay.stderr
    assert b"BrokenPipe" not in replay.stderr

    exported = subprocess.run(
        [*cli, "export", str(CUSTOMER), "--output", "-"], env=env, capture_output=True
    )
    assert exported.returncode == 0, exported.stderr
    folder = unpack(exported.stdout, tmp_path / "from-stdout")
    assert check(folder).returncode == 0
    assert exported.stderr.decode().strip().endswith("bytes to standard output")


def test_the_package_carries_the_evidence_of_the_customers_claims_and_incidents(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    services.app.evidence = store
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    photo = b"\x89PNG\r\n\x1a\n crushed cartons"
    survey = b"%PDF-1.4\n survey report\n%%EOF\n"
    for target, target_id, data, name in (
        (EvidenceTarget.INCIDENT, incident, photo, "cartons.png"),
        (EvidenceTarget.CLAIM, claim, survey, "survey.pdf"),
        (EvidenceTarget.CLAIM, claim, photo, "cartons.png"),
    ):
        stored = store.put(data)
        services.app.shipments.attach_evidence(
            services.app.context("zhou.min"),
            shipment.id,
            target=target,
            target_id=str(target_id),
            sha256=stored.sha256,
            size=stored.size,
            media_type="image/png" if data is photo else "application/pdf",
            file_name=name,
        )
    catch_up(services)
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    package = unpack(response.content, tmp_path / "package")
    files = sorted(p.name for p in (package / "evidence").iterdir())
    assert files == sorted({sha256(photo).hexdigest(), sha256(survey).hexdigest()})
    proved = check(package)
    assert proved.returncode == 0, proved.stdout
    assert "with the 3 evidence file(s) they attach" in proved.stdout

    missing = copy_of(package, tmp_path, "missing")
    (missing / "evidence" / sha256(survey).hexdigest()).unlink()
    found = check(missing)
    assert found.returncode == 1
    assert f"evidence {sha256(survey).hexdigest()} (survey.pdf) is missing" in found.stdout
    altered = copy_of(package, tmp_path, "altered")
    (altered / "evidence" / sha256(photo).hexdigest()).write_bytes(photo + b"retouched")
    found = check(altered)
    assert found.returncode == 1
    assert (
        found.stdout.count(f"evidence {sha256(photo).hexdigest()} (cartons.png) was altered") == 2
    )


def test_a_later_package_checks_the_chain_from_where_the_last_verification_ended(
    package: Path, client: TestClient, services: Services, tmp_path: Path
) -> None:
    first = json.loads((package / "verification.json").read_text())
    write_history(services, 1)  # appends after the first package
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    later = json.loads(
        (unpack(response.content, tmp_path / "later") / "verification.json").read_text()
    )
    assert later["intact"] is True
    assert later["checked_from"] == first["intact_up_to"] + 1
    assert later["whole_chain_walked_at"] is not None
    assert later["intact_up_to"] >= first["intact_up_to"]


def test_the_entries_are_the_same_whatever_the_batches_they_are_read_in(
    services: Services,
) -> None:
    """Entries are read a batch ahead of the one being decoded: in batches of 1, 2, 3 or
    all at once, the same entries come out, in order, each with its stored form as the log
    holds it and the audit path that puts it in the signed tree, also when the tree has
    grown since (its later nodes and the customer's later entries are not this tree's)."""
    register_parties(services)
    seed_case(services)
    catch_up(services)
    tree = LogTree(services.database, services.app.mapper)
    size = tree.extend()
    root = tree.root(size)
    for _ in range(5):  # the customer's entries after the signed tree
        call_customer(services, "after the checkpoint")
    write_history(services, 3)
    assert tree.extend() > size + 5
    with services.database.connect() as conn:
        logged = {
            int(r[0]): r[1:]
            for r in conn.execute(
                f"SELECT notification_id, topic, state, prev_hash, chain_hash FROM {EVENTS_TABLE}"
            ).fetchall()
        }
    for cut in (size, size - 1, size - 2):
        found = {  # each entry as its line reads
            batch: [
                json.loads(line_of(entry))
                for entry in package_entries(
                    services.database, services.app.mapper, tree, CUSTOMER, cut, batch=batch
                )
            ]
            for batch in (1, 2, 3, 2000)
        }
        entries = found[2000]
        assert len(entries) > 3
        assert [e["proof"]["seq"] for e in entries] == list(range(1, len(entries) + 1))
        assert all(e["proof"]["leaf_index"] < cut for e in entries)
        for batch in (1, 2, 3):
            assert found[batch] == found[2000], batch
        for entry in entries:
            stored = entry["stored"]
            topic, state, prev, chain = logged[entry["position"]]
            assert (stored["topic"], base64.b64decode(stored["state"])) == (topic, state)
            assert (stored["prev_hash"], stored["chain_hash"]) == (prev.hex(), chain.hex())
            verify_inclusion(
                leaf_hash(
                    entry_bytes(
                        position=entry["position"],
                        aggregate_id=UUID(entry["aggregate_id"]),
                        version=entry["version"],
                        topic=topic,
                        state=state,
                        recorded_at=stored["recorded_at_micros"],
                    )
                ),
                entry["proof"]["leaf_index"],
                cut,
                [base64.b64decode(p) for p in entry["proof"]["inclusion"]],
                root if cut == size else tree.root(cut),
            )


def test_an_audit_path_the_tree_cannot_give_is_refused_not_shortened(
    services: Services, superuser_database: Database
) -> None:
    """The tree's stored nodes gone (a damaged table): packing fails, naming the node,
    rather than give a path with a hash left out."""
    register_parties(services)
    tree = LogTree(services.database, services.app.mapper)
    size = tree.extend()
    with superuser_database.connect() as conn:
        conn.execute("DELETE FROM fullchain_tree_node")
    with pytest.raises(ProofError, match="holds no node"):
        list(package_entries(services.database, services.app.mapper, tree, CUSTOMER, size))


def test_fields_an_upcaster_adds_are_shown_apart_and_not_taken_for_stored_facts(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    """An entry written by an older version of its event (here a registration from before
    key accounts) is read with the field today's code adds; the package shows that field
    apart, as derived, and the offline verifier counts it as not proved. Shown among the
    entry's facts, it is named as a field the stored entry does not hold."""
    register_parties(services)
    app = services.app
    with services.database.connect() as conn:
        row = conn.execute(
            "SELECT topic, state FROM fullchain_events WHERE originator_id = %s "
            "AND originator_version = 1",
            (CUSTOMER,),
        ).fetchone()
    assert row is not None
    state = json.loads(bytes(row[1]))
    assert state.pop("key_account") is False
    assert state.pop("class_version") == 2
    older = uuid4()
    app.recorder.insert_events(
        [StoredEvent(older, 1, row[0], json.dumps(state, separators=(",", ":")).encode())]
    )
    assert app.relationships.get_relationship(older).key_account is False  # as read today
    catch_up(services)
    response = client.get(f"/v1/relationships/{older}/audit-package")
    assert response.status_code == 200, response.text
    package = unpack(response.content, tmp_path / "package")
    (entry,) = read(package)
    assert entry["derived"] == {"key_account": False}
    assert "key_account" not in entry["data"]
    ok = check(package)
    assert ok.returncode == 0, ok.stdout
    assert "1 field(s) shown as derived by today's code" in ok.stdout

    shown = copy_of(package, tmp_path, "shown")
    entry["data"]["key_account"] = entry.pop("derived")["key_account"]
    write(shown, [entry])
    bad = check(shown)
    assert bad.returncode == 1
    assert "entry 1 (position" in bad.stdout
    assert "shows key_account, which the stored entry does not hold" in bad.stdout


class _HeldTarget:
    """A zip member as ``_Behind`` writes to it: its first write held until let go."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.writes: list[bytes] = []
        self.let_go = threading.Event()
        self.fail_on = fail_on

    def write(self, data: bytes) -> int:
        self.let_go.wait()
        self.writes.append(data)
        if len(self.writes) == self.fail_on:
            raise OSError("disk full")
        return len(data)


def test_history_lines_queued_while_one_chunk_is_compressed_are_written_at_once_in_order() -> None:
    target = _HeldTarget()
    with _Behind(target) as behind:  # type: ignore[arg-type]
        behind.write(b"1\n")
        behind.write(b"2\n")
        behind.write(b"3\n")
        behind.write(b"4\n")  # queued (up to four) while the first waits or is written
        target.let_go.set()
    assert b"".join(target.writes) == b"1\n2\n3\n4\n"
    assert len(target.writes) < 4  # the chunks queued meanwhile in fewer writes


def test_a_failed_history_write_is_raised_where_the_package_is_written() -> None:
    target = _HeldTarget(fail_on=1)
    target.let_go.set()
    with (
        pytest.raises(OSError, match="disk full"),
        _Behind(target) as behind,  # type: ignore[arg-type]
    ):
        behind.write(b"1\n")
    assert target.writes == [b"1\n"]


def test_a_package_reads_on_one_connection_of_its_own(
    client: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Signing the tree head (the tree extended, the customers' heads, the access log's
    head, the root), the entries and the cosignatures are read on one connection: one
    opened per step cost a few ms each, most of a small package's time."""
    register_parties(services)
    seed_case(services)
    catch_up(services)
    opened: list[str | None] = []
    connect = Database.connect

    def counted(self: Database, *, purpose: str | None = None, **kwargs: Any) -> Any:
        opened.append(purpose)
        return connect(self, purpose=purpose, **kwargs)

    monkeypatch.setattr(Database, "connect", counted)
    response = client.get(f"/v1/relationships/{CUSTOMER}/audit-package")
    assert response.status_code == 200
    assert [p for p in opened if p in {"audit package", "tree", "access", "witness"}] == [
        "audit package"
    ]
    result = check(unpack(response.content, tmp_path / "package"))
    assert result.returncode == 0, result.stdout + result.stderr
