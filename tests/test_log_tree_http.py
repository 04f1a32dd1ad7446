"""The log's Merkle tree over HTTP, as an outside auditor uses it: a signed checkpoint read
with the published verifier key, an entry proved in it, later logs proved to extend it."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from application.proofs.checkpoints import (
    DATABASE_KEY_LINE,
    DEFAULT_ORIGIN,
    RETIRED_KEYS_VARIABLE,
    check_since,
    customers_root,
    retired_verifiers,
    sign_tree_head,
    verifier_of,
)
from application.proofs.customer_map import map_root
from application.proofs.merkle import ProofError, verify_consistency, verify_inclusion
from application.proofs.note import Verifier, open_checkpoint
from application.proofs.tree import LogTree
from application.store.database import DATABASE_URL_VARIABLE, Database
from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.staffing import enroll
from tests.test_integrity import write_history
from tests.test_log_tree import entries


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "auditor.qian", "Qian Lin 钱琳", roles=(Role.AUDITOR,))
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_an_auditor_checks_a_checkpoint_an_entry_and_a_later_log_offline(
    services: Services, client: TestClient
) -> None:
    write_history(services, 2)
    key = client.get("/v1/audit/verifier-key").json()
    assert key["origin"] == DEFAULT_ORIGIN
    verifier = Verifier.decode(key["verifier_key"])

    before = services.app.clock()
    answer = client.post("/v1/audit/tree-heads")
    after = services.app.clock()
    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("text/plain")
    head = open_checkpoint(answer.text, verifier, origin=DEFAULT_ORIGIN)
    assert head.size == len(entries(services))  # the auditor's enrolment, 6 entries of history
    assert before <= head.signed_at <= after  # the service's clock, not the machine's
    assert head.extensions[-1] == DATABASE_KEY_LINE  # the tests' key is kept in the database
    tree = LogTree(services.database, services.app.mapper)
    assert customers_root(head) == map_root(tree.customer_heads(head.size))

    log = entries(services)
    third = client.get(
        "/v1/audit/proofs/inclusion", params={"position": log[2][0], "tree_size": head.size}
    ).json()
    assert (third["leaf_index"], b64(third["leaf_hash"])) == (2, log[2][1])
    verify_inclusion(log[2][1], 2, head.size, [b64(p) for p in third["proof"]], head.root)

    write_history(services, 3)
    later = open_checkpoint(client.post("/v1/audit/tree-heads").text, verifier)
    assert later.size == head.size + 9
    proof = client.get(
        "/v1/audit/proofs/consistency", params={"first": head.size, "second": later.size}
    ).json()
    verify_consistency(
        head.size, later.size, head.root, later.root, [b64(p) for p in proof["proof"]]
    )
    with pytest.raises(ProofError):  # the proof of one pair of trees proves no other
        verify_consistency(
            head.size - 1, later.size, head.root, later.root, [b64(p) for p in proof["proof"]]
        )


def test_proofs_of_what_is_not_in_the_log_are_refused(
    services: Services, client: TestClient
) -> None:
    write_history(services, 1)
    last = entries(services)[-1][0]

    def problem(path: str, **params: int) -> tuple[int, list[str]]:
        answer = client.get(path, params=params)
        return answer.status_code, [e["field"] for e in answer.json().get("errors", [])]

    assert problem("/v1/audit/proofs/inclusion", position=last + 50) == (404, [])
    assert problem("/v1/audit/proofs/inclusion", position=last, tree_size=100) == (
        422,
        ["tree_size"],
    )
    assert problem("/v1/audit/proofs/inclusion", position=last, tree_size=1) == (
        422,
        ["position"],
    )
    assert problem("/v1/audit/proofs/inclusion", position=0) == (422, ["position"])
    assert problem("/v1/audit/proofs/consistency", first=2, second=1) == (422, ["first"])
    size = len(entries(services))
    assert problem("/v1/audit/proofs/consistency", first=size + 1) == (422, ["first"])
    assert problem("/v1/audit/proofs/consistency", first=1, second=size + 1) == (
        422,
        ["second"],
    )


def test_only_auditors_and_headquarters_read_proofs(services: Services) -> None:
    token = enroll(services, "sales.li", "Li Wei", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.get("/v1/audit/proofs/inclusion", params={"position": 1}).status_code == 403
        assert c.post("/v1/audit/tree-heads").status_code == 403
        assert c.get("/v1/audit/verifier-key").status_code == 200


def test_a_kept_checkpoint_is_extended_by_an_honest_log_and_not_by_a_rewritten_one(
    services: Services, client: TestClient, superuser_database: Database
) -> None:
    write_history(services, 2)
    kept = client.post("/v1/audit/tree-heads").text
    write_history(services, 1)
    honest = client.post("/v1/audit/tree-heads/check", json={"checkpoint": kept}).json()
    assert honest["extends"] is True
    assert honest["size"] == honest["checkpoint_size"] + 3

    # Someone with the database's keys rewrites an early entry and rebuilds the tree.
    victim = entries(services)[1][0]
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE fullchain_events SET state = convert_to('{}', 'UTF8') "
            "WHERE notification_id = %s",
            (victim,),
        )
        conn.execute(
            "TRUNCATE fullchain_tree_leaf, fullchain_tree_node, fullchain_tree_owner, "
            "fullchain_customer_entry"
        )
    rewritten = client.post("/v1/audit/tree-heads/check", json={"checkpoint": kept}).json()
    assert rewritten["extends"] is False
    assert rewritten["detail"].startswith("the log was rewritten")

    forged = kept.replace("\n", "\n", 1).replace(kept.split("\n")[1], "999", 1)
    answer = client.post("/v1/audit/tree-heads/check", json={"checkpoint": forged}).json()
    assert answer["extends"] is False
    assert "does not hold" in answer["detail"]
    assert client.post("/v1/audit/tree-heads/check", json={"checkpoint": ""}).status_code == 422


def test_the_command_line_signs_a_tree_head_and_verifies_since_it(
    services: Services, tmp_path: Path
) -> None:
    write_history(services, 2)
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}

    def fullchain(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interface.cli", *args], env=env, capture_output=True, text=True
        )

    signed = fullchain("checkpoint", "--tree")
    assert signed.returncode == 0, signed.stderr
    (tmp_path / "kept.note").write_text(signed.stdout)
    write_history(services, 1)
    verified = fullchain("verify", "--since", str(tmp_path / "kept.note"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "extends the checkpoint of" in verified.stdout
    assert verified.stdout.splitlines()[-1] == "verdict: the log is intact"

    (tmp_path / "forged.note").write_text(signed.stdout.replace("\n", "\n\n", 1))
    refused = fullchain("verify", "--since", str(tmp_path / "forged.note"))
    assert refused.returncode == 1
    assert refused.stdout.splitlines()[-1] == "verdict: the log is NOT intact"


def test_checkpoints_of_a_rotated_key_stay_verifiable_with_its_retired_verifier_key(
    services: Services, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_history(services, 1)
    tree = LogTree(services.database, services.app.mapper)
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    kept = sign_tree_head(
        tree, old, origin=DEFAULT_ORIGIN, now=services.app.clock(), key_in_database=False
    )
    write_history(services, 1)
    today = verifier_of(new, DEFAULT_ORIGIN)

    refused = check_since(tree, kept, [today])
    assert not refused.extends
    assert "carries no signature of the log's keys" in refused.detail

    monkeypatch.setenv(RETIRED_KEYS_VARIABLE, verifier_of(old, DEFAULT_ORIGIN).encode())
    retired = retired_verifiers()
    assert [v.key_id for v in retired] == [verifier_of(old, DEFAULT_ORIGIN).key_id]
    assert check_since(tree, kept, [today, *retired]).extends
    listed = client.get("/v1/audit/verifier-key").json()
    assert listed["retired"] == [verifier_of(old, DEFAULT_ORIGIN).encode()]

    monkeypatch.setenv(RETIRED_KEYS_VARIABLE, "not-a-key")
    with pytest.raises(ValueError, match=RETIRED_KEYS_VARIABLE):
        retired_verifiers()
