"""Importing relationships and contacts from CSV and XLSX files over HTTP: one command a
row, recognised when imported again, validated whole before anything is written."""

from __future__ import annotations

import io
import json
import pathlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import openpyxl
import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http.app import create_app
from interface.runtime import Services
from tests.branches import BRANCH_EVENTS as B
from tests.staffing import enroll
from tests.test_cli_staff import fullchain

HEADER = "name,kind,industry,region,branch,external_key,contact_name,contact_title,contact_email"
GOOD = (
    HEADER + "\n"
    "苏州华芯电子有限公司,customer,electronics,East China,Suzhou,HX-1,"
    "王芳,采购经理,wang@huaxin.cn\n"
    "昆山精密机械,prospect,machinery,East China,Suzhou,,张伟,,\n"
    ",,,,,HX-1,李娜,物流主管,li@huaxin.cn\n"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(
        services, "zhou.min", "Zhou Min 周敏", roles=(Role.OFFICE_STAFF,), branch="Suzhou"
    )
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def upload(client: TestClient, data: bytes, name: str = "customers.csv", **params: Any) -> Any:
    content_type = XLSX if name.endswith(".xlsx") else "text/csv"
    return client.post(
        "/v1/imports/relationships", files={"file": (name, data, content_type)}, params=params
    )


def commands(services: Services) -> int:
    with services.reads.connection() as conn:
        row = conn.execute("SELECT count(*) AS n FROM fullchain_command").fetchone()
    assert row is not None
    return int(row["n"] if isinstance(row, dict) else row[0])


def contacts(services: Services, rid: str) -> list[tuple[str, str | None]]:
    relationship = services.app.relationships.get_relationship(UUID(rid))
    return sorted((c.name, c.title) for c in relationship.contacts.values())


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf8", "utf8-bom"])
def test_a_csv_registers_relationships_with_contacts_once(
    client: TestClient, services: Services, bom: bytes
) -> None:
    before = commands(services)
    response = upload(client, bom + GOOD.encode())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied"] is True
    assert report["totals"] == {"created": 2, "contact_added": 1}
    assert [(r["line"], r["outcome"]) for r in report["rows"]] == [
        (2, "created"),
        (3, "created"),
        (4, "contact_added"),
    ]
    huaxin, kunshan, added = (r["relationship_id"] for r in report["rows"])
    assert added == huaxin  # the third row names the first by its external key
    assert commands(services) == before + 3  # one command a row
    relationship = services.app.relationships.get_relationship(UUID(huaxin))
    assert relationship.name == "苏州华芯电子有限公司"
    assert relationship.branch == "Suzhou"
    assert contacts(services, huaxin) == [("李娜", "物流主管"), ("王芳", "采购经理")]
    assert contacts(services, kunshan) == [("张伟", None)]

    again = upload(client, bom + GOOD.encode())
    assert again.status_code == 200, again.text
    assert again.json()["totals"] == {"unchanged": 3}
    assert [r["relationship_id"] for r in again.json()["rows"]] == [huaxin, kunshan, huaxin]
    assert commands(services) == before + 3  # nothing written the second time
    assert contacts(services, huaxin) == [("李娜", "物流主管"), ("王芳", "采购经理")]


def test_an_xlsx_file_imports_like_a_csv(client: TestClient, services: Services) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for line in GOOD.splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(client, buffer.getvalue(), "customers.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["totals"] == {"created": 2, "contact_added": 1}
    huaxin = response.json()["rows"][0]["relationship_id"]
    assert contacts(services, huaxin) == [("李娜", "物流主管"), ("王芳", "采购经理")]


BAD = (
    HEADER + "\n"
    "苏州华芯电子有限公司,customer,electronics,East China,Suzhou,HX-1,"
    "王芳,采购经理,wang@huaxin.cn\n"
    "昆山精密机械,supplier,machinery,East China,Suzhou,,张伟,,not-an-address\n"
    "上海远洋贸易,customer,trade,East China,Shanghai,,,,\n"
)


def test_a_dry_run_reports_each_bad_row_and_writes_nothing(
    client: TestClient, services: Services
) -> None:
    before = commands(services)
    response = upload(client, BAD.encode(), dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["dry_run"] is True
    assert report["applied"] is False
    assert report["totals"] == {"valid": 1, "invalid": 2}
    rows = {r["line"]: r for r in report["rows"]}
    assert rows[2]["outcome"] == "valid"
    assert rows[2]["errors"] == []
    assert rows[3]["outcome"] == "invalid"
    assert [e["field"] for e in rows[3]["errors"]] == ["kind"]
    assert [e["field"] for e in rows[4]["errors"]] == ["branch"]  # not the caller's branch
    assert commands(services) == before

    # A valid kind lets the domain check the contact: the email is refused, by its column.
    fixed = BAD.replace("supplier", "prospect").encode()
    report = upload(client, fixed, dry_run="true").json()
    line3 = next(r for r in report["rows"] if r["line"] == 3)
    assert [e["field"] for e in line3["errors"]] == ["contact_email"]
    assert commands(services) == before


def test_a_file_with_one_invalid_row_writes_nothing(client: TestClient, services: Services) -> None:
    before = commands(services)
    response = upload(client, BAD.encode())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["line 3: kind", "line 4: branch"]
    assert commands(services) == before
    # The valid first row was not written either: importing it alone creates it.
    alone = "\n".join(BAD.splitlines()[:2]).encode()
    assert upload(client, alone).json()["totals"] == {"created": 1}
    assert commands(services) == before + 1


def test_contacts_are_added_to_a_relationship_named_by_id(
    client: TestClient, services: Services
) -> None:
    first = upload(client, GOOD.encode()).json()
    kunshan = first["rows"][1]["relationship_id"]
    more = f"{HEADER},relationship_id\n,,,,,,赵磊,总经理,zhao@ks.cn,{kunshan}\n"
    report = upload(client, more.encode(), "more.csv").json()
    assert report["totals"] == {"contact_added": 1}
    assert contacts(services, kunshan) == [("张伟", None), ("赵磊", "总经理")]
    unknown = more.replace(kunshan, "00000000-0000-0000-0000-000000000001")
    response = upload(client, unknown.encode(), "unknown.csv")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["line 2: relationship_id"]


def test_files_of_another_type_without_columns_or_too_large_are_refused(
    client: TestClient, services: Services
) -> None:
    before = commands(services)
    response = client.post(
        "/v1/imports/relationships",
        files={"file": ("customers.pdf", b"%PDF-1.4", "application/pdf")},
    )
    assert response.status_code == 415
    response = upload(client, b"name,kind\nA,customer\n")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "file.industry",
        "file.region",
        "file.branch",
    ]
    response = upload(client, b"not a workbook", "customers.xlsx")
    assert response.status_code == 422
    big = (HEADER + "\n").encode() + b"x" * (4 * 1024 * 1024)
    assert upload(client, big).status_code == 413
    assert commands(services) == before


def test_the_command_line_imports_the_same_rows(services: Services, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(BAD.encode())
    dry = fullchain(services, "import", "relationships", str(path), "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert json.loads(dry.stdout)["totals"] == {"valid": 2, "invalid": 1}  # any branch
    assert commands(services) == B  # the branches' registrations only
    path.write_bytes(GOOD.encode())
    done = fullchain(services, "import", "relationships", str(path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"] == {"created": 2, "contact_added": 1}
    again = fullchain(services, "import", "relationships", str(path))
    assert json.loads(again.stdout)["totals"] == {"unchanged": 3}
    assert commands(services) == B + 3
