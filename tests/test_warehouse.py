"""The data-warehouse feed: the log and every read model as Parquet partitions by day,
exported incrementally with a manifest (``application.warehouse``), and queried with DuckDB
as the README shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import duckdb
import pyarrow.parquet as pq
import pytest
from eventsourcing.persistence import StoredEvent

import application.warehouse as warehouse_module
from application.store.database import DATABASE_URL_VARIABLE
from application.warehouse import (
    EVENTS,
    MANIFEST,
    SNAPSHOT_POSITION,
    Manifest,
    ReadModelTables,
    Warehouse,
    WarehouseError,
    verify,
)
from domain.relationship import Channel, Direction, RelationshipKind
from interface.demo import load_demo
from interface.runtime import Services
from tests.clock import NOW
from tests.conftest import fresh_database, open_services

README = Path(__file__).resolve().parent.parent / "README.md"


def warehouse(services: Services, directory: Path) -> Warehouse:
    read_models = [ReadModelTables(p.name, tuple(p.tables)) for p in services.projections]
    return Warehouse(services.database, services.app.mapper, read_models, directory)


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection).catch_up()


def register(services: Services, name: str, branch: str = "Suzhou") -> UUID:
    app = services.app
    rid = app.relationships.register_relationship(
        app.context("li.wei"),
        name=name,
        kind=RelationshipKind.CUSTOMER,
        industry="electronics",
        region="East China",
        branch=branch,
    ).aggregate_id
    app.relationships.add_contact(
        app.context("li.wei"),
        rid,
        contact_id="c1",
        name="王芳",
        phone="+86 512 6000 0000",
        email="wang.fang@example.com",
    )
    app.relationships.log_interaction(
        app.context("li.wei"),
        rid,
        interaction_id=uuid4(),
        channel=Channel.VISIT,
        direction=Direction.OUTBOUND,
        summary="quarterly review",
    )
    return rid


def the_log(services: Services) -> list[tuple[int, str, int, str]]:
    with services.database.connect() as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id::text, originator_version, topic "
            "FROM fullchain_events ORDER BY notification_id"
        ).fetchall()
    return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]


def exported_log(directory: Path) -> list[tuple[int, str, int, str]]:
    rows = sql(
        f"SELECT position, originator_id, version, topic FROM read_parquet("
        f"'{directory}/{EVENTS}/*/*.parquet', hive_partitioning = true) ORDER BY position"
    )
    return [(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in rows]


def tracking(services: Services) -> dict[str, int]:
    with services.database.connect() as conn:
        rows = conn.execute("SELECT application_name, notification_id FROM projection_tracking")
        return {str(name): int(position) for name, position in rows}


def count_rows(services: Services, table: str) -> int:
    with services.database.connect() as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])


def sql(query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """A query with DuckDB, in a connection of its own."""
    return duckdb.connect().execute(query, params).fetchall()


def latest(directory: Path, table: str, select: str = "*") -> list[tuple[Any, ...]]:
    """``select`` over the latest snapshot of a read model table."""
    return sql(
        f"SELECT {select} FROM (FROM read_parquet('{directory}/{table}/*/*.parquet') "
        f"QUALIFY {SNAPSHOT_POSITION} = max({SNAPSHOT_POSITION}) OVER ())"
    )


def test_a_second_export_writes_only_the_new_entries_and_the_union_is_the_log(
    services: Services, tmp_path: Path
) -> None:
    for name in ("苏州华芯电子", "昆山精密机械"):
        register(services, name)
    catch_up(services)
    exporter = warehouse(services, tmp_path)

    first = exporter.export(NOW)
    head = the_log(services)[-1][0]
    assert first.export == 1
    assert (first.log_from, first.log_to) == (1, head)
    assert first.events == len(the_log(services))
    assert exported_log(tmp_path) == the_log(services)

    register(services, "深圳湾物流", branch="Shenzhen")
    catch_up(services)
    second = exporter.export(NOW + timedelta(days=1))
    assert second.export == 2
    assert second.log_from == head + 1
    new_entries = [e for e in the_log(services) if e[0] > head]
    assert second.events == len(new_entries) == 3
    # One file per day the entries were recorded on (one, unless the run spans midnight).
    written = [
        row["position"]
        for f in sorted(second.files, key=lambda f: f.path)
        if f.table == EVENTS
        for row in pq.read_table(tmp_path / f.path).to_pylist()
    ]
    assert written == [e[0] for e in new_entries]
    # The union of the two exports is the log: every entry once, in order.
    assert exported_log(tmp_path) == the_log(services)
    # The read models' snapshots of the second day carry the new relationship.
    day = (NOW + timedelta(days=1)).date().isoformat()
    assert all(f"/day={day}/" in f.path for f in second.files if f.table != EVENTS), (
        "snapshots are partitioned by the export's day"
    )
    names = {r[0] for r in latest(tmp_path, "account_status", "name")}
    assert names == {"苏州华芯电子", "昆山精密机械", "深圳湾物流"}

    manifest_before = (tmp_path / MANIFEST).read_bytes()
    third = exporter.export(NOW + timedelta(days=2))
    assert third.export is None
    assert third.files == ()
    assert (tmp_path / MANIFEST).read_bytes() == manifest_before
    assert verify(tmp_path).intact


def test_every_event_row_carries_its_metadata_and_its_decoded_state(
    services: Services, tmp_path: Path
) -> None:
    rid = register(services, "苏州华芯电子")
    catch_up(services)
    warehouse(services, tmp_path).export(NOW)
    result = duckdb.connect().execute(
        f"SELECT * FROM read_parquet('{tmp_path}/{EVENTS}/*/*.parquet', "
        "hive_partitioning = true) WHERE originator_id = $id ORDER BY position",
        {"id": str(rid)},
    )
    columns = [d[0] for d in result.description or ()]
    rows = [dict(zip(columns, r, strict=True)) for r in result.fetchall()]
    with services.database.connect() as conn:
        stored = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            "recorded_at FROM fullchain_events WHERE originator_id = %s "
            "ORDER BY notification_id",
            (rid,),
        ).fetchall()
    assert [r["topic"] for r in rows] == [s[3] for s in stored]
    for row, (position, originator, version, topic, state, recorded_at) in zip(
        rows, stored, strict=True
    ):
        event: Any = services.app.mapper.to_domain_event(
            StoredEvent(originator, version, topic, bytes(state))
        )
        assert row["position"] == position
        assert row["version"] == version
        assert row["actor"] == "li.wei" == event.actor
        assert row["command_id"] == event.command_id
        assert row["occurred_at"] == event.occurred_at
        assert row["recorded_at"] == recorded_at
        assert row["day"] == recorded_at.astimezone(UTC).date()  # the partition
    registered, contact, interaction = (json.loads(r["state"]) for r in rows)
    assert registered["name"] == "苏州华芯电子"
    assert registered["branch"] == "Suzhou"
    # Personal data as stored (see README, Known limits).
    assert contact["contact"]["email"] == "wang.fang@example.com"
    assert interaction["summary"] == "quarterly review"


def test_every_read_model_table_is_exported_with_its_rows(
    services: Services, tmp_path: Path
) -> None:
    register(services, "苏州华芯电子")
    register(services, "上海外高桥仓储", branch="Shanghai")
    catch_up(services)
    result = warehouse(services, tmp_path).export(NOW)
    assert result.behind == {}
    positions = tracking(services)
    manifest = Manifest.load(tmp_path)
    assert manifest.read_models == {p.name: positions[p.name] for p in services.projections}
    exported_tables = {f.table for f in manifest.files} - {EVENTS}
    every_table = {t for p in services.projections for t in p.tables}
    assert exported_tables == every_table
    for projection in services.projections:
        for table in projection.tables:
            assert latest(tmp_path, table, "count(*)") == [(count_rows(services, table),)], table
            (file,) = [f for f in manifest.files if f.table == table]
            assert file.path == (
                f"{table}/day={NOW.date().isoformat()}/part-1-{positions[projection.name]}.parquet"
            )
            assert set(latest(tmp_path, table, SNAPSHOT_POSITION)) <= {
                (positions[projection.name],)
            }

    # Values keep their kinds: times, exact decimals, arrays, JSON and uuids as text.
    def column_type(table: str, column: str) -> str:
        (file,) = [f for f in manifest.files if f.table == table]
        return str(pq.read_schema(tmp_path / file.path).field(column).type)

    assert column_type("account_status", "registered_at") == "timestamp[us, tz=UTC]"
    assert column_type("account_status", "relationship_id") == "string"
    assert column_type("account_status", "contact_count") == "int32"
    assert column_type("opportunity", "expected_value") == "decimal128(38, 12)"
    assert re.fullmatch(r"list<\w+: string>", column_type("shipment_audit", "modes"))
    assert column_type("shipment_audit", "view") == "string"
    assert column_type("fullchain_snapshots", "state") == "binary"
    assert latest(tmp_path, "activity_contact", "email") == [("wang.fang@example.com",)] * 2
    assert count_rows(services, "activity_contact") == 2


@pytest.mark.parametrize("fails_at", ["a data file", "the manifest"])
def test_an_interrupted_export_leaves_the_manifest_valid_and_the_next_completes(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails_at: str
) -> None:
    register(services, "苏州华芯电子")
    catch_up(services)
    exporter = warehouse(services, tmp_path)
    exporter.export(NOW)
    manifest_before = (tmp_path / MANIFEST).read_bytes()
    register(services, "昆山精密机械")
    catch_up(services)

    published: list[Path] = []
    real_publish = warehouse_module.publish

    def failing(temporary: Path, final: Path) -> None:
        if (len(published) == 2) if fails_at == "a data file" else (final.name == MANIFEST):
            raise OSError("disk full")
        real_publish(temporary, final)
        published.append(final)

    monkeypatch.setattr(warehouse_module, "publish", failing)
    with pytest.raises(OSError, match="disk full"):
        exporter.export(NOW + timedelta(days=1))
    monkeypatch.undo()

    # The previous manifest stands, and says exactly what its files hold.
    assert (tmp_path / MANIFEST).read_bytes() == manifest_before
    assert (len(published) == 2) if fails_at == "a data file" else (len(published) > 20)
    checked = verify(tmp_path)
    assert not checked.intact
    assert {p.split(":")[0] for p in checked.problems} >= {
        p.relative_to(tmp_path).as_posix() for p in published
    }
    # The interrupted export's log file holds entries the next export writes too.
    assert any(p.parent.parent.name == EVENTS for p in published)

    register(services, "深圳湾物流", branch="Shenzhen")  # more since: other file names
    catch_up(services)
    resumed = exporter.export(NOW + timedelta(days=1))
    assert resumed.export == 2
    assert set(resumed.removed) >= {p.relative_to(tmp_path).as_posix() for p in published}
    assert exported_log(tmp_path) == the_log(services)  # no duplicate, no gap
    assert verify(tmp_path).intact
    assert not list(tmp_path.glob("*/day=*/.*.tmp"))
    names = sorted(r[0] for r in latest(tmp_path, "account_status", "name"))
    assert names == ["昆山精密机械", "深圳湾物流", "苏州华芯电子"]


def test_a_tampered_file_is_found_by_verify_and_a_missing_one_stops_the_next_export(
    services: Services, tmp_path: Path
) -> None:
    register(services, "苏州华芯电子")
    catch_up(services)
    exporter = warehouse(services, tmp_path)
    exported = exporter.export(NOW)
    assert verify(tmp_path).intact

    events_file = tmp_path / next(f.path for f in exported.files if f.table == EVENTS)
    original = events_file.read_bytes()
    events_file.write_bytes(original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
    checked = verify(tmp_path)
    assert checked.problems == (
        f"{events_file.relative_to(tmp_path).as_posix()}: its SHA-256 is not the manifest's",
    )
    events_file.write_bytes(original)
    assert verify(tmp_path).intact

    # A manifest edited to name a copy of the log's file holds its entries twice.
    manifest_text = (tmp_path / MANIFEST).read_text()
    copy = events_file.with_name("part-1-1.parquet")
    copy.write_bytes(original)
    edited = json.loads(manifest_text)
    entry = next(f for f in edited["files"] if f["table"] == EVENTS)
    edited["files"].append({**entry, "path": copy.relative_to(tmp_path).as_posix()})
    edited["events"] += entry["rows"]
    (tmp_path / MANIFEST).write_text(json.dumps(edited))
    assert verify(tmp_path).problems == (
        f"{copy.relative_to(tmp_path).as_posix()}: holds log entries another file holds too",
    )
    copy.unlink()
    (tmp_path / MANIFEST).write_text(manifest_text)
    assert verify(tmp_path).intact

    offering = next(f for f in exported.files if f.table == "offering")
    (tmp_path / offering.path).unlink()
    assert verify(tmp_path).problems == (f"{offering.path}: missing",)
    register(services, "昆山精密机械")
    with pytest.raises(WarehouseError, match="missing or changed"):
        exporter.export(NOW)


def test_read_models_behind_the_log_are_exported_at_their_own_position(
    services: Services, tmp_path: Path
) -> None:
    register(services, "苏州华芯电子")
    catch_up(services)
    caught_up = tracking(services)["account_status"]
    register(services, "昆山精密机械")  # not yet projected
    exporter = warehouse(services, tmp_path)
    first = exporter.export(NOW, wait=0)
    head = the_log(services)[-1][0]
    assert first.log_to == head
    assert first.behind["account_status"] == caught_up < head
    assert Manifest.load(tmp_path).read_models["account_status"] == caught_up
    assert latest(tmp_path, "account_status", f"name, {SNAPSHOT_POSITION}") == [
        ("苏州华芯电子", caught_up)
    ]

    catch_up(services)
    second = exporter.export(NOW, wait=0)
    assert second.behind == {}
    assert second.events == 0  # the log had nothing new: only the read models moved on
    account_files = [f.path for f in second.files if f.table == "account_status"]
    assert account_files == [f"account_status/day={NOW.date()}/part-{caught_up + 1}-{head}.parquet"]
    names = sorted(r[0] for r in latest(tmp_path, "account_status", "name"))
    assert names == ["昆山精密机械", "苏州华芯电子"]
    assert exported_log(tmp_path) == the_log(services)


def test_the_command_line_exports_and_verifies(services: Services, tmp_path: Path) -> None:
    register(services, "苏州华芯电子")
    catch_up(services)
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}

    def fullchain(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interface.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    exported = fullchain("export-warehouse", str(tmp_path), "--wait", "5")
    assert exported.returncode == 0, exported.stderr
    log = the_log(services)
    assert f"export 1, log positions 1..{log[-1][0]} ({len(log)} entries)" in exported.stdout
    again = fullchain("export-warehouse", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stdout
    checked = fullchain("export-warehouse", str(tmp_path), "--verify")
    assert checked.returncode == 0, checked.stderr
    assert "intact" in checked.stdout
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / manifest["files"][0]["path"]).write_bytes(b"PAR1")
    broken = fullchain("export-warehouse", str(tmp_path), "--verify")
    assert broken.returncode == 1
    assert "SHA-256" in broken.stderr


# --- the README's questions over an export of the demo --------------------------------------


def readme_statements(directory: Path) -> list[str]:
    """The SQL of the README's warehouse section, in order, reading ``directory``."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### The data-warehouse feed", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 5
    return [block.replace("'warehouse/", f"'{directory}/") for block in blocks]


@pytest.fixture(scope="module")
def demo_export(
    server_conninfo: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Services, Path]]:
    """The demo loaded into a database of its own, every read model caught up, exported."""
    with fresh_database(server_conninfo) as database:
        services = open_services(database, NOW, branches=False)
        try:
            load_demo(services, now=NOW)
            catch_up(services)
            directory = tmp_path_factory.mktemp("warehouse")
            exported = warehouse(services, directory).export(NOW)
            assert exported.behind == {}
            yield services, directory
        finally:
            services.close()


def test_the_readmes_questions_are_answered_over_the_demos_files(
    demo_export: tuple[Services, Path],
) -> None:
    services, directory = demo_export
    setup, won, incidents, lanes, per_actor = readme_statements(directory)
    db = duckdb.connect()
    db.execute(setup)

    def rows(query: str) -> list[dict[str, Any]]:
        with services.reads.connection() as conn:
            return conn.execute(query).fetchall()  # type: ignore[arg-type]

    # Won value per branch per month, against the sales pipeline and the account status.
    branch_of = {
        r["relationship_id"]: r["branch"]
        for r in rows("SELECT relationship_id, branch, name FROM account_status")
    }
    expected_won: Counter[tuple[str, str, str]] = Counter()
    won_count: Counter[tuple[str, str, str]] = Counter()
    for o in rows("SELECT * FROM opportunity WHERE status = 'won'"):
        key = (
            branch_of[o["relationship_id"]],
            f"{o['decided_at'].astimezone(UTC):%Y-%m}",
            o["currency"],
        )
        expected_won[key] += o["expected_value"]
        won_count[key] += 1
    answered = db.execute(won).fetchall()
    assert answered, "the demo wins opportunities"
    assert {(b, m, c): (Decimal(v), n) for b, m, c, v, n in answered} == {
        key: (expected_won[key], won_count[key]) for key in expected_won
    }
    assert len({r[0] for r in answered}) >= 2, "more than one branch wins"

    # Incidents per partner, against the responsibility audit.
    names = {r["relationship_id"]: r["name"] for r in rows("SELECT * FROM account_status")}
    expected_incidents = Counter(
        r["responsible_partner_id"]
        for r in rows("SELECT responsible_partner_id FROM audit_incident")
        if r["responsible_partner_id"] is not None
    )
    answered = db.execute(incidents).fetchall()
    assert answered, "the demo's partners are held responsible for incidents"
    assert {UUID(p): (name, n) for p, name, n in answered} == {
        p: (names[p], n) for p, n in expected_incidents.items()
    }
    assert [n for *_, n in answered] == sorted((n for *_, n in answered), reverse=True)

    # Shipments per lane per week, against the responsibility audit's shipments.
    expected_lanes: Counter[tuple[str, str]] = Counter()
    for s in rows("SELECT origin, destination, booked_at FROM shipment_audit"):
        day = s["booked_at"].astimezone(UTC).date()
        monday = day - timedelta(days=day.weekday())
        expected_lanes[(f"{s['origin']} → {s['destination']}", monday.isoformat())] += 1
    answered = db.execute(lanes).fetchall()
    assert dict(((lane, week), n) for lane, week, n in answered) == dict(expected_lanes)
    assert sum(n for *_, n in answered) == count_rows(services, "shipment_audit") > 50

    # What each person did per month, against the log decoded afresh.
    expected_actors: Counter[tuple[str | None, str]] = Counter()
    with services.database.connect() as conn:
        for originator, version, topic, state in conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM fullchain_events"
        ):
            event: Any = services.app.mapper.to_domain_event(
                StoredEvent(originator, version, topic, bytes(state))
            )
            expected_actors[(event.actor, f"{event.occurred_at.astimezone(UTC):%Y-%m}")] += 1
    answered = db.execute(per_actor).fetchall()
    assert dict(((actor, month), n) for actor, month, n in answered) == dict(expected_actors)
    assert len({month for _, month, _ in answered}) >= 12, "a year of business"


def test_the_demos_export_is_whole_and_verifies(demo_export: tuple[Services, Path]) -> None:
    services, directory = demo_export
    assert exported_log(directory) == the_log(services)
    checked = verify(directory)
    assert checked.intact, checked.problems
    manifest = Manifest.load(directory)
    assert checked.files == len(manifest.files)
    assert manifest.events == len(the_log(services))
    for file in manifest.files:
        if file.table != EVENTS:
            assert file.rows == count_rows(services, file.table), file.table


def test_decimals_are_exported_to_twelve_places_and_a_huge_one_is_refused(
    services: Services, tmp_path: Path
) -> None:
    register(services, "苏州华芯电子")
    catch_up(services)

    # Read model rows as only someone with the database's keys could write them.
    def revenue(amount: Decimal) -> None:
        with services.database.connect() as conn:
            conn.execute(
                "INSERT INTO value_revenue (shipment_id, currency, customer_id, delivered_at, "
                "amount, invoiced) VALUES (%s, 'CNY', %s, %s, %s, true)",
                (uuid4(), uuid4(), NOW, amount),
            )

    revenue(Decimal("1234.56"))
    revenue(Decimal("1") / Decimal("3"))  # a ratio: 28 decimals in Python
    warehouse(services, tmp_path / "fits").export(NOW)
    assert sorted(latest(tmp_path / "fits", "value_revenue", "amount")) == [
        (Decimal("0.333333333333"),),
        (Decimal("1234.560000000000"),),
    ]

    revenue(Decimal(10) ** 27)
    with pytest.raises(WarehouseError, match="value_revenue"):
        warehouse(services, tmp_path / "refused").export(NOW)
    # What the failed export had begun is gone.
    assert [p.name for p in (tmp_path / "refused").rglob("*") if p.is_file()] == [".lock"]
