"""Importing relationships and their contacts from a CSV or XLSX file, one command a row.

Columns (header names are matched case-insensitively; spaces and hyphens count as ``_``):

* ``name``, ``kind``, ``industry``, ``region``, ``branch`` (required columns), and
  optionally ``key_account`` (``yes``/``no``, ``true``/``false``, ``1``/``0``): a row whose
  ``name`` is filled registers a relationship;
* ``external_key`` (optional): the relationship's key in the system the file comes from.
  A registering row with a key is the relationship of that key: importing it again, from
  any file, is recognised as the same command; a row whose ``name`` is empty and whose
  key is that of a relationship (imported before, or registered higher in the file) adds
  its contact to it;
* ``relationship_id`` (optional): on a row whose ``name`` is empty, the relationship the
  row's contact is added to;
* ``contact_name``, ``contact_title``, ``contact_phone``, ``contact_email`` (optional):
  the row's contact, added with the registration (or, on a row without ``name``, to the
  relationship it names — then ``contact_name`` is required).

Every row is one command on one event stream: its events (a registration and its
contact, or a contact added) are appended together or not at all. The command's id is
derived from the row's identity — the relationship's external key, else the file's
SHA-256 and the row's line — and recorded in the command log with the row's fingerprint,
so importing a row again (the same file twice, a retry after a lost answer) finds the
command recorded and writes nothing: the row is answered ``unchanged``.

Every row is validated first through the domain's own rules (the aggregate decides on an
in-memory copy); only if no row is invalid are the rows applied. A dry run stops after
validating.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from application.commands import AlreadyExists, CommandPath, NotFound, nameable
from application.store import command_log
from application.visibility import Access, access
from domain.base import CommandContext, DomainError
from domain.relationship import Relationship, RelationshipKind

REQUIRED = ("name", "kind", "industry", "region", "branch")
OPTIONAL = (
    "key_account",
    "external_key",
    "relationship_id",
    "contact_name",
    "contact_title",
    "contact_phone",
    "contact_email",
)
COLUMNS = REQUIRED + OPTIONAL

#: Rows per file; a larger file is refused as too large.
MAX_ROWS = 5000

_TRUE = {"yes", "true", "1", "y", "是"}
_FALSE = {"no", "false", "0", "n", "否", ""}


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class UnreadableFile(Exception):
    """The file is not a CSV or XLSX file that can be read (or lacks required columns)."""

    def __init__(self, message: str, *, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.missing = list(missing)


class TooManyRows(Exception):
    def __init__(self, rows: int) -> None:
        super().__init__(f"the file has more than {MAX_ROWS} rows")
        self.rows = rows


@dataclass(frozen=True)
class RowError:
    field: str | None
    reason: str


@dataclass
class RowOutcome:
    """What became of one row: ``created`` (a relationship registered), ``contact_added``,
    ``unchanged`` (recorded by an earlier import), ``valid`` (a dry run, or a file not
    applied because another row is invalid) or ``invalid``."""

    line: int
    outcome: str
    relationship_id: UUID | None = None
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    applied: bool
    rows: list[RowOutcome]

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return counts


def _column(header: object) -> str:
    text = "" if header is None else str(header)
    return text.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("a CSV file must be UTF-8 (with or without BOM)") from None
    if "\0" in text:
        raise UnreadableFile("a CSV file holds no NUL characters")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for record in reader:
            yield reader.line_num, [_cell(v) for v in record]
    except csv.Error as error:
        raise UnreadableFile(f"line {reader.line_num}: {error}") from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl  # only XLSX imports need it

    # An uploaded workbook is untrusted input: whatever the zip or XML parsers refuse it
    # with (BadZipFile, KeyError, ParseError, ValueError …), it is a file that cannot be read.
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        raise UnreadableFile(f"not a readable XLSX workbook ({error.__class__.__name__})") from None
    try:
        if not book.worksheets:
            raise UnreadableFile("the workbook has no sheet")
        rows = book.worksheets[0].iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as error:
                raise UnreadableFile(
                    f"row {number + 1} cannot be read ({error.__class__.__name__})"
                ) from None
            number += 1
            yield number, [_cell(v) for v in values]
    finally:
        book.close()


def read_rows(data: bytes, fmt: FileFormat) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (line, column → value), blank rows left out."""
    records = _csv_rows(data) if fmt is FileFormat.CSV else _xlsx_rows(data)
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for line, values in records:
        if header is None:
            if not any(values):
                continue
            header = [_column(v) for v in values]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise UnreadableFile(
                    f"the file lacks the required column(s) {', '.join(missing)}", missing=missing
                )
            continue
        if not any(values):
            continue
        row = {
            name: (values[i] if i < len(values) else "")
            for i, name in enumerate(header)
            if name in COLUMNS
        }
        rows.append((line, row))
        if len(rows) > MAX_ROWS:
            raise TooManyRows(len(rows))
    if header is None:
        raise UnreadableFile("the file has no header row", missing=list(REQUIRED))
    return rows


def _uuid(*parts: bytes) -> UUID:
    return UUID(bytes=hashlib.sha256(b"\0".join(parts)).digest()[:16])


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    identity: bytes
    fingerprint: bytes
    registers: bool
    relationship_id: UUID | None = None
    contact_id: str = ""
    errors: list[RowError] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def command_id(self) -> str:
        return str(_uuid(b"import-row", self.identity))


class Importer:
    """Validates and applies an import, one command a row (see the module)."""

    def __init__(self, commands: CommandPath) -> None:
        self.commands = commands

    def run(
        self,
        base: CommandContext,
        data: bytes,
        fmt: FileFormat,
        *,
        dry_run: bool,
    ) -> ImportReport:
        file_sha = hashlib.sha256(data).digest()
        rows = [self._row(file_sha, line, values) for line, values in read_rows(data, fmt)]
        keys = {r.get("external_key"): r for r in rows if r.registers and r.get("external_key")}
        seen_keys: set[str] = set()
        outcomes: list[RowOutcome] = []
        for row in rows:
            outcomes.append(self._validate(base, row, keys, seen_keys))
        invalid = any(o.outcome == "invalid" for o in outcomes)
        if dry_run or invalid:
            return ImportReport(dry_run=dry_run, applied=False, rows=outcomes)
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome.outcome == "valid":
                self._apply(base, row, outcome)
        return ImportReport(dry_run=False, applied=True, rows=outcomes)

    # --- validation ------------------------------------------------------------------

    @staticmethod
    def _row(file_sha: bytes, line: int, values: dict[str, str]) -> _Row:
        registers = bool(values.get("name"))
        key = values.get("external_key", "")
        if registers and key:
            identity = b"key\0" + key.encode()
        else:
            identity = b"file\0" + file_sha + b"\0" + str(line).encode()
        fingerprint = hashlib.sha256(
            json.dumps({c: values.get(c, "") for c in COLUMNS}, sort_keys=True).encode()
        ).digest()
        row = _Row(line, values, identity, fingerprint, registers)
        row.contact_id = "imp-" + hashlib.sha256(identity).hexdigest()[:12]
        return row

    def _context(self, base: CommandContext, row: _Row) -> command_log.ClaimedContext:
        return command_log.ClaimedContext(
            **{**vars(base), "command_id": row.command_id}, request_sha256=row.fingerprint
        )

    def _validate(
        self,
        base: CommandContext,
        row: _Row,
        keys: dict[str, _Row],
        seen_keys: set[str],
    ) -> RowOutcome:
        outcome = RowOutcome(row.line, "valid")
        recorded = self._recorded(row)
        if recorded is not None:
            if recorded.request_sha256 != row.fingerprint:
                outcome.errors.append(
                    RowError(
                        "external_key",
                        f"{row.get('external_key')!r} was imported before with other values",
                    )
                )
            else:
                outcome.outcome = "unchanged"
                outcome.relationship_id = recorded.aggregate_id
            if row.registers:
                seen_keys.add(row.get("external_key"))
            if outcome.errors:
                outcome.outcome = "invalid"
            return outcome
        ctx = self._context(base, row)
        relationship: Relationship | None = None
        try:
            if row.registers:
                relationship = self._registered(ctx, row, seen_keys)
            else:
                relationship = self._named(ctx, row, keys, seen_keys)
        except _Invalid as invalid:
            outcome.errors.extend(invalid.errors)
        except DomainError as error:
            outcome.errors.append(RowError(error.field, error.message))
        if relationship is not None and row.get("contact_name"):
            try:
                relationship.add_contact(
                    ctx,
                    contact_id=row.contact_id,
                    name=row.get("contact_name"),
                    title=row.get("contact_title") or None,
                    phone=row.get("contact_phone") or None,
                    email=row.get("contact_email") or None,
                )
            except DomainError as error:
                field_name = f"contact_{error.field}" if error.field else "contact_name"
                outcome.errors.append(RowError(field_name, error.message))
        outcome.relationship_id = row.relationship_id
        if outcome.errors:
            outcome.outcome = "invalid"
        return outcome

    def _recorded(self, row: _Row) -> command_log.Outcome | None:
        with self.commands.app.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            return command_log.find(conn, row.command_id)

    def _registered(
        self, ctx: CommandContext, row: _Row, seen_keys: set[str]
    ) -> Relationship | None:
        errors: list[RowError] = []
        if row.get("relationship_id"):
            errors.append(
                RowError("relationship_id", "leave it empty on a row that registers (has a name)")
            )
        key = row.get("external_key")
        if key and key in seen_keys:
            errors.append(RowError("external_key", f"{key!r} is registered by another row"))
        if len(key) > 200:
            errors.append(RowError("external_key", "at most 200 characters"))
        kind = row.get("kind").lower()
        if kind not in {k.value for k in RelationshipKind}:
            errors.append(
                RowError("kind", "one of " + ", ".join(k.value for k in RelationshipKind))
            )
        flag = row.get("key_account").lower()
        if flag not in _TRUE | _FALSE:
            errors.append(RowError("key_account", "yes or no"))
        branch = row.get("branch")
        if ctx.branch_scope is not None and branch and branch != ctx.branch_scope:
            errors.append(RowError("branch", f"branch {branch!r} is not yours"))
        elif branch:
            try:
                self.commands.branch(branch)
            except DomainError as refused:
                errors.append(RowError("branch", refused.message))
        if errors:
            raise _Invalid(errors)
        if key:
            seen_keys.add(key)
        row.relationship_id = _uuid(b"import-relationship", key.encode() if key else row.identity)
        return Relationship.register(
            ctx,
            name=row.get("name"),
            kind=RelationshipKind(kind),
            industry=row.get("industry"),
            region=row.get("region"),
            branch=branch,
            key_account=flag in _TRUE,
            relationship_id=row.relationship_id,
        )

    def _named(
        self, ctx: CommandContext, row: _Row, keys: dict[str, _Row], seen_keys: set[str]
    ) -> Relationship | None:
        if not row.get("contact_name"):
            raise _Invalid(
                [RowError("contact_name", "required on a row that registers no relationship")]
            )
        given_id, key = row.get("relationship_id"), row.get("external_key")
        if given_id and key:
            raise _Invalid([RowError("relationship_id", "name the relationship once: id or key")])
        if not given_id and not key:
            raise _Invalid(
                [RowError("name", "required, unless relationship_id or external_key names one")]
            )
        if given_id:
            try:
                row.relationship_id = UUID(given_id)
            except ValueError:
                raise _Invalid([RowError("relationship_id", "not a UUID")]) from None
            field_name = "relationship_id"
        else:
            row.relationship_id = _uuid(b"import-relationship", key.encode())
            field_name = "external_key"
            if key in seen_keys:  # registered higher in this file
                registering = keys[key]
                return Relationship.register(
                    ctx,
                    name=registering.get("name"),
                    kind=RelationshipKind(registering.get("kind").lower()),
                    industry=registering.get("industry"),
                    region=registering.get("region"),
                    branch=registering.get("branch"),
                    relationship_id=row.relationship_id,
                )
        try:
            found = nameable(self.commands, ctx, Relationship, row.relationship_id)
        except NotFound:
            raise _Invalid(
                [RowError(field_name, f"{given_id or key!r} names no relationship")]
            ) from None
        if (
            ctx.branch_scope is not None
            and access(ctx.branch_scope, found.branch, found.kind) is not Access.COMMAND
        ):
            raise _Invalid([RowError(field_name, f"{given_id or key!r} is not your branch's")])
        # Decide on a copy: the cached object is the one commands decide on.
        return self.commands.from_log(Relationship, row.relationship_id)

    # --- applying --------------------------------------------------------------------

    def _apply(self, base: CommandContext, row: _Row, outcome: RowOutcome) -> None:
        ctx = self._context(base, row)
        assert row.relationship_id is not None
        rid = row.relationship_id

        def add_contact(relationship: Relationship) -> None:
            relationship.add_contact(
                ctx,
                contact_id=row.contact_id,
                name=row.get("contact_name"),
                title=row.get("contact_title") or None,
                phone=row.get("contact_phone") or None,
                email=row.get("contact_email") or None,
            )

        try:
            if row.registers:
                relationship = Relationship.register(
                    ctx,
                    name=row.get("name"),
                    kind=RelationshipKind(row.get("kind").lower()),
                    industry=row.get("industry"),
                    region=row.get("region"),
                    branch=row.get("branch"),
                    key_account=row.get("key_account").lower() in _TRUE,
                    relationship_id=rid,
                )
                if row.get("contact_name"):
                    add_contact(relationship)
                result = self.commands.create(ctx, "relationship", relationship)
                outcome.outcome = "created"
            else:
                result = self.commands.execute(ctx, Relationship, rid, add_contact, None)
                outcome.outcome = "contact_added"
        except command_log.KeyReplayed as replayed:
            # Another import of the same row committed between validation and now.
            outcome.outcome = "unchanged"
            outcome.relationship_id = replayed.outcome.aggregate_id
            return
        except AlreadyExists:
            outcome.outcome = "invalid"
            outcome.errors.append(RowError("external_key", "the relationship exists already"))
            return
        except (DomainError, NotFound, command_log.KeyReused) as error:
            # The state changed between validation and now (another command came first).
            outcome.outcome = "invalid"
            outcome.errors.append(RowError(None, str(error)))
            return
        outcome.relationship_id = result.aggregate_id


class _Invalid(DomainError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("import.invalid_row", "; ".join(e.reason for e in errors))
        self.errors = errors


def report_json(report: ImportReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "applied": report.applied,
        "totals": report.totals(),
        "rows": [
            {
                "line": r.line,
                "outcome": r.outcome,
                "relationship_id": None if r.relationship_id is None else str(r.relationship_id),
                "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
            }
            for r in report.rows
        ],
    }
