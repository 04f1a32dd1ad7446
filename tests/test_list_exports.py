"""Lists exported as CSV and XLSX over HTTP: every page, the filters and the branch scoping
of the JSON list, Chinese readable, formulas neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from domain.staff import Role
from interface.http import exports
from interface.http.app import create_app
from interface.http.exports import XLSX, neutralised
from interface.runtime import Services
from tests.staffing import enroll
from tests.waiting import read_fresh


@pytest.fixture
def clients(services: Services) -> Iterator[tuple[TestClient, TestClient]]:
    services.start_workers()
    hq = enroll(services, "li.wei", "Li Wei 李伟")
    suzhou = enroll(
        services, "zhou.min", "Zhou Min 周敏", roles=(Role.OFFICE_STAFF,), branch="Suzhou"
    )
    with TestClient(create_app(services)) as c, TestClient(create_app(services)) as d:
        c.headers["Authorization"] = f"Bearer {hq}"
        d.headers["Authorization"] = f"Bearer {suzhou}"
        yield c, d


NAMES = [
    ("苏州华芯电子有限公司", "customer", "Suzhou"),
    ('=HYPERLINK("http://x.example","点击")', "customer", "Suzhou"),
    ("昆山精密机械", "prospect", "Suzhou"),
    ("吴江纺织", "customer", "Suzhou"),
    ("上海远洋贸易", "customer", "Shanghai"),
    ("@SUM(1+1)", "customer", "Suzhou"),
]


def register_all(client: TestClient) -> int:
    position = 0
    for name, kind, branch in NAMES:
        body = {"name": name, "kind": kind, "industry": "electronics", "region": "East China"}
        response = client.post("/v1/relationships", json=body | {"branch": branch})
        assert response.status_code == 201, response.text
        position = response.json()["position"]
    return position


def json_pages(client: TestClient, position: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        extra: dict[str, Any] = {"cursor": cursor} if cursor else {}
        response = read_fresh(
            client, "/v1/relationships", min_position=position, limit=2, **params, **extra
        )
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


#: Fitted in the background from the read models: may be fitted between two reads.
FITTED = {"model_value", "model_value_as_of"}


def compared(rows: list[list[str]], columns: list[str]) -> list[list[str]]:
    return [[v for c, v in zip(columns, row, strict=True) if c not in FITTED] for row in rows]


def expected(items: list[dict[str, Any]], columns: list[str]) -> list[list[str]]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict | list):
            import json

            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return neutralised(str(value))

    return [[text(item[c]) for c in columns] for item in items]


def test_a_filtered_list_exports_every_page_as_csv_and_xlsx(
    clients: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "EXPORT_PAGE", 3)  # the export reads two pages
    hq, suzhou = clients
    position = register_all(hq)
    items = json_pages(suzhou, position, kind="customer")
    # Suzhou's customers only, over three pages of two: not Shanghai's, not the prospect.
    assert len(items) == 4
    assert "上海远洋贸易" not in {i["name"] for i in items}

    response = read_fresh(
        suzhou, "/v1/relationships", min_position=position, kind="customer", format="csv"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    columns = rows[0]
    assert columns[:3] == ["relationship_id", "name", "kind"]
    assert compared(rows[1:], columns) == compared(expected(items, columns), columns)
    names = [row[columns.index("name")] for row in rows[1:]]
    assert "苏州华芯电子有限公司" in names
    assert '\'=HYPERLINK("http://x.example","点击")' in names
    assert "'@SUM(1+1)" in names

    response = read_fresh(
        suzhou, "/v1/relationships", min_position=position, kind="customer", format="xlsx"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    assert cells[0] == columns
    assert compared(cells[1:], columns) == compared(expected(items, columns), columns)
    assert all(sheet.cell(r, 2).data_type == "s" for r in range(2, sheet.max_row + 1))


def test_every_list_view_exports(clients: tuple[TestClient, TestClient]) -> None:
    hq, _ = clients
    position = register_all(hq)
    for path in ("/v1/shipments", "/v1/opportunities", "/v1/cases", "/v1/audit/findings"):
        response = read_fresh(hq, path, min_position=position, format="csv")
        assert response.status_code == 200, (path, response.text)
        header = response.content.decode("utf-8-sig").splitlines()[0]
        assert header, path
    bad = read_fresh(hq, "/v1/relationships", min_position=position, format="pdf")
    assert bad.status_code == 422
