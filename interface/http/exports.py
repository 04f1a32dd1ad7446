"""Lists exported as files: ``?format=csv`` or ``?format=xlsx`` on a list endpoint answers
every page of the list (the same filters and branch scoping as its JSON pages) as one
CSV or XLSX file instead of a JSON page; ``cursor`` and ``limit`` are then ignored.

One row per item, one column per field of the item (nested values as JSON). CSV is UTF-8
with a byte order mark, so spreadsheet programs read Chinese names right. A text cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
``'``, so no spreadsheet runs it as a formula (CSV injection); numbers are left as they
are."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query, Response
from pydantic import BaseModel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Items read a page at a time while exporting.
EXPORT_PAGE = 500


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


ExportAs = Annotated[
    ExportFormat | None,
    Query(
        alias="format",
        description="csv or xlsx: every page of the list, filtered, as one file "
        "(cursor and limit are then ignored); absent: a JSON page",
    ),
]

#: The 200 answer of a list that exports, besides its JSON page.
EXPORTABLE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def neutralised(value: str) -> str:
    """The text as a cell no spreadsheet evaluates."""
    if value.startswith(_FORMULA) and not _NUMBER.match(value):
        return "'" + value
    return value


def cell(value: Any) -> str | int | float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralised(str(value))


def exported(
    fmt: ExportFormat,
    name: str,
    item: type[BaseModel],
    endpoint: Callable[..., Any],
    arguments: dict[str, Any],
) -> Response:
    """Every page of ``endpoint`` called with ``arguments`` (its own, as the request gave
    them), as a file named ``name``."""
    columns = list(item.model_fields)
    rows: list[list[str | int | float | None]] = []
    paged = "cursor" in arguments
    cursor: str | None = None
    while True:
        call = {**arguments, "export": None}
        if paged:
            call |= {"cursor": cursor, "limit": EXPORT_PAGE}
        page = endpoint(**call)
        for entry in page.items:
            data = entry.model_dump(mode="json")
            rows.append([cell(data.get(c)) for c in columns])
        cursor = getattr(page, "next_cursor", None) if paged else None
        if cursor is None:
            break
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'}
    if fmt is ExportFormat.CSV:
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        body = b"\xef\xbb\xbf" + text.getvalue().encode()
        return Response(body, media_type="text/csv; charset=utf-8", headers=disposition)
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(name[:31])
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type=XLSX, headers=disposition)
