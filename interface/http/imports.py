"""/v1/imports: relationships and their contacts from a CSV or XLSX file, one command a
row (``application.imports`` describes the columns and the rules)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from application.imports import (
    MAX_ROWS,
    FileFormat,
    Importer,
    TooManyRows,
    UnreadableFile,
    report_json,
)
from application.tokens import StaffMember
from interface.http.deps import Allowed, ServicesDep
from interface.http.errors import FieldError, problem, responses
from interface.http.permissions import WORK
from interface.http.routing import OneTripRoute

router = APIRouter(route_class=OneTripRoute, prefix="/v1/imports", tags=["imports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TYPES = {
    "text/csv": FileFormat.CSV,
    "application/csv": FileFormat.CSV,
    XLSX: FileFormat.XLSX,
}


class RowErrorOut(BaseModel):
    field: str | None
    reason: str


class RowOut(BaseModel):
    line: int = Field(description="The row's line in the file (the header is line 1)")
    outcome: str = Field(
        description="created, contact_added, unchanged (imported before: nothing written), "
        "valid (a dry run), or invalid"
    )
    relationship_id: UUID | None
    errors: list[RowErrorOut]


class ImportReport(BaseModel):
    dry_run: bool
    applied: bool = Field(description="Whether the rows were applied (no row was invalid)")
    totals: dict[str, int] = Field(description="Rows per outcome")
    rows: list[RowOut]


def file_format(upload: UploadFile) -> FileFormat | None:
    name = (upload.filename or "").lower()
    if name.endswith(".csv"):
        return FileFormat.CSV
    if name.endswith(".xlsx"):
        return FileFormat.XLSX
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    return _TYPES.get(content_type)


@router.post(
    "/relationships",
    summary="Import relationships and contacts from a CSV or XLSX file",
    description=(
        "One command a row: a row registers a relationship (with its contact), or adds a "
        "contact to one named by relationship_id or external_key. Every row is validated "
        "first through the domain's rules; if any row is invalid, nothing is written and "
        "the answer (422) names each bad row's line and field. A row imported before "
        "(the same file again, or the same external_key with the same values) writes "
        "nothing and is answered unchanged. dry_run validates only. Files are limited to "
        f"{MAX_ROWS} rows and 4 MiB (413); other than .csv (UTF-8, BOM or not) or .xlsx: "
        "415; without the columns name, kind, industry, region, branch: 422."
    ),
    response_model=ImportReport,
    responses=responses(413, 415, 422),
)
def import_relationships(
    file: Annotated[UploadFile, File(description="A .csv (UTF-8) or .xlsx file")],
    staff: Annotated[StaffMember, Depends(Allowed(WORK))],
    s: ServicesDep,
    dry_run: Annotated[bool, Query(description="Validate every row; write nothing")] = False,
) -> JSONResponse:
    fmt = file_format(file)
    if fmt is None:
        return problem(
            415,
            "Unsupported file type",
            "upload a .csv or an .xlsx file",
            kind="unsupported-media-type",
            errors=[FieldError(field="file", reason="a .csv or an .xlsx file")],
        )
    data = file.file.read()
    base = s.app.context(
        staff.staff_id, branch_scope=None if staff.sees_all_branches else staff.branch
    )
    try:
        report = Importer(s.app.commands).run(base, data, fmt, dry_run=dry_run)
    except TooManyRows:
        return problem(
            413, "File too large", f"imports are limited to {MAX_ROWS} rows", kind="too-large"
        )
    except UnreadableFile as error:
        missing = error.missing or ["file"]
        return problem(
            422,
            "Invalid input",
            error.message,
            kind="invalid-input",
            errors=[
                FieldError(field=f"file.{m}" if error.missing else m, reason=error.message)
                for m in missing
            ],
        )
    if not report.applied and not report.dry_run:
        errors = [
            FieldError(field=f"line {row.line}: {e.field or 'row'}", reason=e.reason)
            for row in report.rows
            for e in row.errors
        ]
        return problem(
            422,
            "Invalid rows",
            "no row was written: every row must be valid",
            kind="invalid-input",
            errors=errors,
        )
    return JSONResponse(report_json(report))
