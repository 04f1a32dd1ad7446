"""Who looked: every read of a customer's history, state, diff, audit package or EPCIS
export is in an append-only, hash-chained access log that auditors and admins query and
checkpoints commit to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import uuid4

import psycopg
import pytest
from fastapi.testclient import TestClient

from application.proofs.checkpoints import access_committed
from application.proofs.note import Verifier, open_checkpoint
from application.store.access_log import access_head, record_access, verify_access_log
from application.store.database import Database
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


def test_every_read_of_a_customer_is_logged_with_who_what_and_when(
    services: Services, client: TestClient
) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    catch_up(services)
    assert client.get(f"/v1/relationships/{CUSTOMER}/history").status_code == 200
    assert (
        client.get(f"/v1/shipments/{shipment.id}/state", params={"version": 3}).status_code == 200
    )
    assert (
        client.get(f"/v1/shipments/{shipment.id}/diff", params={"from": 2, "to": 5}).status_code
        == 200
    )
    assert client.get(f"/v1/relationships/{CUSTOMER}/audit-package").status_code == 200
    assert client.get(f"/v1/shipments/{shipment.id}/epcis").status_code == 200
    # A read that finds nothing is not a read of the customer.
    assert client.get(f"/v1/relationships/{uuid4()}/history").status_code == 404

    page = client.get("/v1/audit/access", params={"relationship_id": str(CUSTOMER)}).json()
    assert [(e["what"], e["aggregate_type"], e["detail"]) for e in page["items"]] == [
        ("history", "Relationship", f"{shipment.version + 1} entries"),
        ("state", "Shipment", "version=3"),
        ("diff", "Shipment", "from=2 to=5"),
        ("audit_package", "Relationship", page["items"][3]["detail"]),
        ("epcis", "Shipment", ""),
    ]
    assert {e["staff_id"] for e in page["items"]} == {"auditor.qian"}
    assert {e["relationship_id"] for e in page["items"]} == {str(CUSTOMER)}
    seqs = [e["seq"] for e in page["items"]]
    assert seqs == sorted(seqs)

    mine = client.get("/v1/audit/access", params={"staff_id": "auditor.qian", "limit": 2}).json()
    assert [e["what"] for e in mine["items"]] == ["history", "state"]
    rest = client.get(
        "/v1/audit/access", params={"staff_id": "auditor.qian", "after": mine["next_after"]}
    ).json()
    assert [e["what"] for e in rest["items"]] == ["diff", "audit_package", "epcis"]
    assert client.get("/v1/audit/access", params={"staff_id": "nobody"}).json()["items"] == []


def test_only_auditors_headquarters_and_admins_read_the_access_log(services: Services) -> None:
    token = enroll(services, "li.wei", "Li Wei", roles=(Role.FIELD_STAFF,), branch="Suzhou")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        assert c.get("/v1/audit/access").status_code == 403


def test_the_access_log_is_chained_append_only_and_under_the_checkpoint(
    services: Services, client: TestClient, superuser_database: Database
) -> None:
    def read(i: int) -> None:
        for _ in range(10):
            record_access(
                services.database,
                staff_id=f"reader.{i}",
                what="history",
                aggregate_type="Relationship",
                aggregate_id=CUSTOMER,
            )

    readers = [threading.Thread(target=read, args=(i,)) for i in range(6)]
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    checked = verify_access_log(services.database)
    assert (checked.intact, checked.entries) == (True, 60)  # chained in commit order

    verifier = Verifier.decode(client.get("/v1/audit/verifier-key").json()["verifier_key"])
    head = open_checkpoint(client.post("/v1/audit/tree-heads").text, verifier)
    assert access_committed(head) == access_head(services.database)

    with services.database.connect(autocommit=True) as conn:
        for statement in (
            "UPDATE fullchain_access_log SET staff_id = 'someone.else'",
            "DELETE FROM fullchain_access_log",
            "TRUNCATE fullchain_access_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)

    # Someone with the database's keys rewrites who read: the chain breaks there.
    with superuser_database.connect(autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        seq = conn.execute(
            "SELECT seq FROM fullchain_access_log ORDER BY seq OFFSET 30 LIMIT 1"
        ).fetchone()
        assert seq is not None
        conn.execute(
            "UPDATE fullchain_access_log SET staff_id = 'someone.else' WHERE seq = %s", seq
        )
    broken = verify_access_log(services.database)
    assert (broken.intact, broken.broken_at, broken.entries) == (False, seq[0], 30)
