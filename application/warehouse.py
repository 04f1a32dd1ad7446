"""The data-warehouse feed (数据仓库): the event log and every read model as Parquet files
partitioned by day, for analysts' tools (DuckDB, Spark, pandas) that read no PostgreSQL.

```
DIR/manifest.json                                    what has been exported, written last
DIR/events/day=2026-11-30/part-1-3985.parquet        the log's entries, by the UTC day
                                                     they were recorded; each entry once
DIR/<table>/day=2026-11-30/part-1-3985.parquet       a snapshot of a read model's table,
                                                     by the day of the export; the range
                                                     is what the read model applied since
                                                     its previous snapshot
```

An export reads everything in one REPEATABLE READ snapshot of the database: the log up to
its head at that moment, and every table of every read model with the read model's own
position (rows and positions commit together, so each table is exactly the read model at
that position). It writes the log's entries after the manifest's position, and a new
snapshot of each read model that has moved on since its last one. Read models may be
behind the log (a worker catching up): the export may wait for them a while, and then
takes each at its own position, which the manifest and the rows (``snapshot_position``)
record, never a mixture.

Every file is written beside its place under a temporary name, flushed to disk and renamed;
the manifest is written the same way, last. An export interrupted midway leaves the
previous manifest as it was, and files it does not name; the next export removes those and
exports again from the manifest's position, so the files the manifest names hold each log
entry exactly once. A lock file keeps two exports from writing into one folder at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import sql

from application.jsonable import jsonable
from application.store.database import Database
from application.store.schema import EVENTS_TABLE, TRACKING_TABLE

MANIFEST = "manifest.json"
FORMAT = "fullchain-warehouse/1"
#: The folder of the log's entries.
EVENTS = "events"
#: The column each read model row carries: the read model's position of the snapshot.
SNAPSHOT_POSITION = "snapshot_position"
#: Decimals (amounts, probabilities, ratios) as Parquet DECIMAL(38, 12): 26 digits before
#: the point, 12 after. Amounts (4 decimals at most) are exact; a ratio a read model
#: computed with more decimals is rounded to 12 (PostgreSQL's ``round``: half away from
#: zero); a value of 26 digits or more before the point is refused.
DECIMAL_SCALE = 12
DECIMAL = pa.decimal128(38, DECIMAL_SCALE)
#: Rows of one table read and converted at a time.
BATCH = 5000

_PART = re.compile(r"^part-(\d+)-(\d+)\.parquet$")

#: Event fields shown as columns of their own, not in ``state``.
_METADATA = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "command_id",
        "correlation_id",
        "causation_id",
        "occurred_at",
    }
)

_UTC_TIME = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema(
    [
        pa.field("position", pa.int64(), nullable=False),
        pa.field("originator_id", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("recorded_at", _UTC_TIME, nullable=False),
        pa.field("occurred_at", _UTC_TIME),
        pa.field("actor", pa.string()),
        pa.field("command_id", pa.string()),
        pa.field("correlation_id", pa.string()),
        pa.field("state", pa.string(), nullable=False),
    ]
)


class WarehouseError(RuntimeError):
    """The folder cannot be exported into as it is (a file the manifest names is gone or
    changed, another export is running, a value has no exact Parquet form)."""


@dataclass(frozen=True)
class ReadModelTables:
    """A read model and its tables, as the composition root registers them."""

    name: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class ExportedFile:
    path: str  # relative to the folder, with "/"
    table: str
    rows: int
    bytes: int
    sha256: str
    export: int


@dataclass(frozen=True)
class ExportRecord:
    export: int
    #: The log's entries this export wrote: positions after ``log_from - 1`` up to ``log_to``.
    log_from: int
    log_to: int
    #: The day of the export (UTC): the partition of its read-model snapshots.
    day: str
    exported_at: str
    #: Each read model's own position when exported (snapshot written or not).
    read_models: dict[str, int]


@dataclass
class Manifest:
    format: str = FORMAT
    #: The log's position exported up to.
    position: int = 0
    #: Entries of the log exported (positions have gaps: an aborted append uses some up).
    events: int = 0
    #: Each read model's position at its latest snapshot.
    read_models: dict[str, int] = field(default_factory=dict)
    exports: list[ExportRecord] = field(default_factory=list)
    files: list[ExportedFile] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise WarehouseError(f"{path}: not a manifest of {FORMAT}")
            return cls(
                format=data["format"],
                position=int(data["position"]),
                events=int(data["events"]),
                read_models={str(k): int(v) for k, v in data["read_models"].items()},
                exports=[ExportRecord(**e) for e in data["exports"]],
                files=[ExportedFile(**f) for f in data["files"]],
            )
        except (ValueError, KeyError, TypeError) as error:
            raise WarehouseError(f"{path}: unreadable ({error})") from None

    def dumps(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote (``export`` None: nothing new, nothing written)."""

    export: int | None
    log_from: int
    log_to: int
    events: int
    files: tuple[ExportedFile, ...]
    #: The read models still behind the exported log position, and where they were.
    behind: dict[str, int]
    #: Files of an interrupted export, not in the manifest, removed before this one.
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    files: int
    rows: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    name: str
    select: sql.Composable
    arrow: pa.DataType
    convert: Callable[[Any], Any] | None = None


_PLAIN: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "timestamptz": _UTC_TIME,
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "bytea": pa.binary(),
}


def _bytes(value: Any) -> Any:
    return None if value is None else bytes(value)


def _columns(conn: psycopg.Connection[Any], table: str) -> list[_Column]:
    """The table's columns as Parquet columns, found in the catalog: integers, floats,
    booleans, text, times and bytes as themselves, decimals as ``DECIMAL``, arrays as
    lists of text, and anything else (uuid, json, jsonb, …) as its text."""
    rows = conn.execute(
        "SELECT a.attname, t.typname, t.typcategory FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (table,),
    ).fetchall()
    columns = []
    for name, type_name, category in rows:
        ident = sql.Identifier(name)
        if type_name in _PLAIN:
            convert = _bytes if type_name == "bytea" else None
            columns.append(_Column(name, ident, _PLAIN[type_name], convert))
        elif type_name == "numeric":
            rounded = sql.SQL("round({}, {})").format(ident, sql.Literal(DECIMAL_SCALE))
            columns.append(_Column(name, rounded, DECIMAL))
        elif category == "A":
            columns.append(
                _Column(name, sql.SQL("{}::text[]").format(ident), pa.list_(pa.string()))
            )
        else:
            columns.append(_Column(name, sql.SQL("{}::text").format(ident), pa.string()))
    if not columns:
        raise WarehouseError(f"read model table {table} has no columns")
    if any(c.name == SNAPSHOT_POSITION for c in columns):
        raise WarehouseError(f"read model table {table} has a column named {SNAPSHOT_POSITION}")
    return columns


# --- writing ---------------------------------------------------------------------------------


class _PartWriter:
    """One Parquet file, written under a temporary name in its partition's folder."""

    def __init__(self, directory: Path, relative: str, schema: pa.Schema) -> None:
        self.relative = relative
        self.final = directory / relative
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.temporary = self.final.with_name(f".{self.final.name}.tmp")
        self.writer = pq.ParquetWriter(str(self.temporary), schema, compression="zstd")
        self.schema = schema
        self.rows = 0

    def write(self, columns: dict[str, list[Any]]) -> None:
        table = pa.Table.from_pydict(columns, schema=self.schema)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self.writer.close()
        with open(self.temporary, "rb+") as f:
            os.fsync(f.fileno())

    def discard(self) -> None:
        """Close and remove the unfinished file (an export that failed before publishing)."""
        with contextlib.suppress(Exception):
            self.writer.close()
        self.temporary.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def publish(temporary: Path, final: Path) -> None:
    """Put a finished file in its place (an atomic rename, then the folder flushed)."""
    os.replace(temporary, final)
    _fsync_folder(final.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the warehouse ---------------------------------------------------------------------------


class Warehouse:
    """Exports the log and the read models into ``directory`` (see the module's doc)."""

    def __init__(
        self,
        database: Database,
        mapper: Mapper[Any],
        read_models: Sequence[ReadModelTables],
        directory: Path,
    ) -> None:
        self.database = database
        self.mapper = mapper
        self.read_models = list(read_models)
        self.directory = directory
        tables = [t for m in self.read_models for t in m.tables]
        if EVENTS in tables or len(set(tables)) != len(tables):
            raise WarehouseError("read model tables must be named apart, and not 'events'")

    # --- export ----------------------------------------------------------------------------

    def export(self, now: datetime, *, wait: float = 0.0) -> ExportResult:
        """Export what is new since the manifest's position. ``now`` names the day of the
        read models' snapshots; ``wait``: seconds to wait for read models behind the log."""
        # A new folder is its owner's alone: it holds every branch's records.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            manifest = Manifest.load(self.directory)
            self._check_present(manifest)
            removed = self._remove_unlisted(manifest)
            if wait > 0:
                self._wait_for_read_models(wait)
            return self._export(manifest, now.astimezone(UTC), removed)

    def _export(self, manifest: Manifest, now: datetime, removed: tuple[str, ...]) -> ExportResult:
        number = len(manifest.exports) + 1
        day = now.date().isoformat()
        opened: list[_PartWriter] = []
        try:
            with self.database.connect(purpose="warehouse") as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                head = _log_head(conn)
                positions = self._positions(conn)
                if head < manifest.position:
                    raise WarehouseError(
                        f"the log ends at {head}, before the manifest's position "
                        f"{manifest.position}: this folder was exported from another database"
                    )
                writers = self._export_events(conn, manifest.position, head, opened)
                events = sum(w.rows for w in writers)
                for model in self.read_models:
                    position = positions[model.name]
                    before = manifest.read_models.get(model.name, 0)
                    if position <= before and model.name in manifest.read_models:
                        continue  # unchanged, or being rebuilt: the last snapshot stands
                    for table in model.tables:
                        writers.append(
                            self._export_table(
                                conn, table, position, f"day={day}", before + 1, opened
                            )
                        )
                conn.rollback()
            for writer in writers:
                writer.close()
        except BaseException:
            for writer in opened:
                writer.discard()
            raise
        behind = {name: p for name, p in positions.items() if p < head}
        if not writers:
            return ExportResult(None, head + 1, head, 0, (), behind, removed)
        files = []
        for writer in writers:
            files.append(
                ExportedFile(
                    path=writer.relative,
                    table=writer.relative.split("/", 1)[0],
                    rows=writer.rows,
                    bytes=writer.temporary.stat().st_size,
                    sha256=_sha256(writer.temporary),
                    export=number,
                )
            )
            publish(writer.temporary, writer.final)
        manifest.exports.append(
            ExportRecord(
                export=number,
                log_from=manifest.position + 1,
                log_to=head,
                day=day,
                exported_at=now.isoformat(),
                read_models=dict(positions),
            )
        )
        log_from = manifest.position + 1
        manifest.position = head
        manifest.events += events
        for model in self.read_models:
            if positions[model.name] > manifest.read_models.get(model.name, -1):
                manifest.read_models[model.name] = positions[model.name]
        manifest.files.extend(files)
        self._write_manifest(manifest)
        return ExportResult(number, log_from, head, events, tuple(files), behind, removed)

    def _positions(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        names = [m.name for m in self.read_models]
        rows = conn.execute(
            f"SELECT application_name, notification_id FROM {TRACKING_TABLE} "
            "WHERE application_name = ANY(%s)",
            (names,),
        ).fetchall()
        found = {str(name): int(position or 0) for name, position in rows}
        return {name: found.get(name, 0) for name in names}

    def _wait_for_read_models(self, seconds: float) -> None:
        """Wait until every read model has applied the log as it is now, or ``seconds``."""
        deadline = time.monotonic() + seconds
        with self.database.connect(purpose="warehouse", autocommit=True) as conn:
            head = _log_head(conn)
            delay = 0.01
            while min(self._positions(conn).values(), default=head) < head:
                if time.monotonic() >= deadline:
                    return
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.5)

    def _export_events(
        self, conn: psycopg.Connection[Any], after: int, head: int, opened: list[_PartWriter]
    ) -> list[_PartWriter]:
        """The log's entries after ``after`` up to ``head``, one file per recording day."""
        firsts: dict[date, int] = {}
        lasts: dict[date, int] = {}
        writers: dict[date, _PartWriter] = {}
        pending: dict[date, list[dict[str, Any]]] = {}
        with conn.cursor(name="warehouse_events") as cursor:
            cursor.itersize = BATCH
            cursor.execute(
                f"SELECT notification_id, originator_id, originator_version, topic, state, "
                f"recorded_at FROM {EVENTS_TABLE} WHERE notification_id > %s "
                f"AND notification_id <= %s ORDER BY notification_id",
                (after, head),
            )
            for row in cursor:
                recorded_at: datetime = row[5]
                day = recorded_at.astimezone(UTC).date()
                firsts.setdefault(day, int(row[0]))
                lasts[day] = int(row[0])
                pending.setdefault(day, []).append(self._event_row(row))
                if len(pending[day]) >= BATCH:
                    self._flush_events(writers, day, pending.pop(day), firsts, opened)
        for day, rows in pending.items():
            self._flush_events(writers, day, rows, firsts, opened)
        # Named by the range each file holds: a temporary name until all is known.
        result = []
        for day, writer in sorted(writers.items()):
            writer.relative = (
                f"{EVENTS}/day={day.isoformat()}/part-{firsts[day]}-{lasts[day]}.parquet"
            )
            writer.final = self.directory / writer.relative
            result.append(writer)
        return result

    def _flush_events(
        self,
        writers: dict[date, _PartWriter],
        day: date,
        rows: list[dict[str, Any]],
        firsts: dict[date, int],
        opened: list[_PartWriter],
    ) -> None:
        if day not in writers:
            writers[day] = _PartWriter(
                self.directory,
                f"{EVENTS}/day={day.isoformat()}/part-{firsts[day]}.parquet",
                EVENT_SCHEMA,
            )
            opened.append(writers[day])
        writers[day].write({name: [r[name] for r in rows] for name in EVENT_SCHEMA.names})

    def _event_row(self, row: tuple[Any, ...]) -> dict[str, Any]:
        event: Any = self.mapper.to_domain_event(
            StoredEvent(
                originator_id=row[1],
                originator_version=row[2],
                topic=row[3],
                state=bytes(row[4]),
            )
        )
        occurred_at = getattr(event, "occurred_at", None)
        state = {
            name: jsonable(value) for name, value in vars(event).items() if name not in _METADATA
        }
        return {
            "position": int(row[0]),
            "originator_id": str(row[1]),
            "version": int(row[2]),
            "topic": str(row[3]),
            "recorded_at": row[5],
            "occurred_at": occurred_at if isinstance(occurred_at, datetime) else None,
            "actor": getattr(event, "actor", None),
            "command_id": getattr(event, "command_id", None),
            "correlation_id": getattr(event, "correlation_id", None),
            "state": json.dumps(state, ensure_ascii=False, sort_keys=True),
        }

    def _export_table(
        self,
        conn: psycopg.Connection[Any],
        table: str,
        position: int,
        partition: str,
        first: int,
        opened: list[_PartWriter],
    ) -> _PartWriter:
        """A snapshot of the table, every row with the read model's ``position``."""
        columns = _columns(conn, table)
        schema = pa.schema(
            [pa.field(c.name, c.arrow) for c in columns]
            + [pa.field(SNAPSHOT_POSITION, pa.int64(), nullable=False)]
        )
        writer = _PartWriter(
            self.directory, f"{table}/{partition}/part-{first}-{position}.parquet", schema
        )
        opened.append(writer)
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(c.select for c in columns), sql.Identifier(table)
        )
        with conn.cursor(name=f"warehouse_{table}") as cursor:
            cursor.itersize = BATCH
            cursor.execute(query)
            while True:
                rows = cursor.fetchmany(BATCH)
                if not rows and writer.rows:
                    break
                data: dict[str, list[Any]] = {
                    c.name: [r[i] if c.convert is None else c.convert(r[i]) for r in rows]
                    for i, c in enumerate(columns)
                }
                data[SNAPSHOT_POSITION] = [position] * len(rows)
                try:
                    writer.write(data)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                    raise WarehouseError(f"{table}: {error}") from None
                if len(rows) < BATCH:
                    break
        return writer

    def _write_manifest(self, manifest: Manifest) -> None:
        final = self.directory / MANIFEST
        temporary = final.with_name(f".{MANIFEST}.tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(manifest.dumps())
            f.flush()
            os.fsync(f.fileno())
        publish(temporary, final)

    # --- the folder ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / ".lock", "w") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WarehouseError(f"{self.directory}: another export is running") from None
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.directory).as_posix()

    def _check_present(self, manifest: Manifest) -> None:
        """Before writing: every file the manifest names is there at its size (``verify``
        reads them all and checks their hashes)."""
        for f in manifest.files:
            path = self.directory / f.path
            if not path.is_file() or path.stat().st_size != f.bytes:
                raise WarehouseError(
                    f"{f.path}: named by the manifest but missing or changed; "
                    "run --verify, and export into a new folder"
                )

    def _remove_unlisted(self, manifest: Manifest) -> tuple[str, ...]:
        listed = {f.path for f in manifest.files}
        removed = []
        for path in _parts(self.directory):
            relative = self._relative(path)
            if relative not in listed:
                path.unlink()
                removed.append(relative)
        return tuple(removed)

    # --- verify -------------------------------------------------------------------------------

    def verify(self) -> Verification:
        return verify(self.directory)


def verify(directory: Path) -> Verification:
    """Read every file the manifest names: there, its SHA-256 and its row count as
    recorded; the log's files holding each entry once, up to the manifest's position, as
    many as the manifest counts; no data file the manifest does not name."""
    manifest = Manifest.load(directory)
    problems = []
    rows = 0
    sound: set[str] = set()
    for f in manifest.files:
        path = directory / f.path
        if not path.is_file():
            problems.append(f"{f.path}: missing")
            continue
        if _sha256(path) != f.sha256:
            problems.append(f"{f.path}: its SHA-256 is not the manifest's")
            continue
        try:
            counted = pq.ParquetFile(str(path)).metadata.num_rows
        except (pa.ArrowInvalid, OSError) as error:
            problems.append(f"{f.path}: unreadable ({error})")
            continue
        if counted != f.rows:
            problems.append(f"{f.path}: {counted} rows, the manifest says {f.rows}")
        else:
            sound.add(f.path)
        rows += counted
    events = [f for f in manifest.files if f.table == EVENTS]
    if sum(f.rows for f in events) != manifest.events:
        problems.append(
            f"the log's files hold {sum(f.rows for f in events)} entries, "
            f"the manifest says {manifest.events}"
        )
    seen: set[int] = set()
    for f in events:
        if f.path not in sound:
            continue
        path = directory / f.path
        positions = pq.read_table(str(path), columns=["position"]).column(0).to_pylist()
        if len(set(positions)) != len(positions) or not seen.isdisjoint(positions):
            problems.append(f"{f.path}: holds log entries another file holds too")
        if positions and max(positions) > manifest.position:
            problems.append(f"{f.path}: goes past the manifest's position {manifest.position}")
        seen.update(positions)
    listed = {f.path for f in manifest.files}
    for path in _parts(directory):
        relative = path.relative_to(directory).as_posix()
        if relative not in listed:
            problems.append(f"{relative}: not in the manifest")
    return Verification(len(manifest.files), rows, tuple(problems))


def _parts(directory: Path) -> Iterator[Path]:
    """Every data file and temporary file in the folder's partitions."""
    for path in sorted(directory.glob("*/day=*/*")):
        if path.is_file() and (_PART.match(path.name) or path.name.endswith(".tmp")):
            yield path


def _log_head(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0] or 0) if row else 0
