"""Operations: health and readiness, metrics, structured logs, and one settings object."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from application import metrics, settings
from application.store.database import DATABASE_URL_VARIABLE, Database
from application.store.schema import Migration
from interface import logs
from interface.http.app import create_app
from interface.http.operations import request_id
from interface.runtime import ConfigurationError, Services, check_configuration
from projections import status
from projections.engine import BatchProjection, ProjectedEvent, ProjectionWorker, tracking_positions
from projections.freshness import log_head
from tests.conftest import open_services, truncate_all
from tests.faults import FaultyProxy
from tests.staffing import enroll
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
RELATIONSHIP = {
    "name": "苏州华芯电子有限公司",
    "kind": "partner",
    "industry": "electronics",
    "region": "East China",
    "branch": "Suzhou",
}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    token = enroll(services, "li.wei", "Li Wei 李伟")
    with TestClient(create_app(services)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def moved(before: Samples, after: Samples, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of ``name`` that changed, by their labels, and by how much."""
    changes = {}
    for (sample, labels), value in after.items():
        if sample == name and value != before.get((sample, labels), 0.0):
            changes[labels] = value - before.get((sample, labels), 0.0)
    return changes


def by_model(samples: Samples, name: str) -> dict[str, float]:
    return {dict(labels)["read_model"]: v for (n, labels), v in samples.items() if n == name}


def head_and_positions(services: Services) -> tuple[int, dict[str, int]]:
    with services.database.connect(autocommit=True) as conn:
        return log_head(conn), tracking_positions(conn, [p.name for p in services.projections])


def caught_up(services: Services) -> bool:
    head, positions = head_and_positions(services)
    return all(position >= head for position in positions.values())


# --- health and readiness --------------------------------------------------------------------


def test_health_answers_without_a_token_or_the_database(services: Services) -> None:
    with TestClient(create_app(services)) as anonymous:
        response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "up"}


def test_ready_on_a_live_database_with_current_read_models(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    services.start_workers()
    wait_until(lambda: caught_up(services), what="read models caught up")
    response = TestClient(client.app).get("/ready")  # no token
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ready"] is True
    assert body["not_ready"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["schema"] == {"ok": True, "missing": []}
    assert body["checks"]["read_models"]["lagging"] == {}


def test_ready_is_503_while_a_read_model_lags_past_the_bound(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    # No workers run: the registration below stays unapplied.
    assert client.post("/v1/relationships", json=RELATIONSHIP).status_code == 201
    head, positions = head_and_positions(services)
    monkeypatch.setenv("FULLCHAIN_READY_MAX_LAG", "0")
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["not_ready"] == ["read_models"]
    assert body["checks"]["read_models"]["lagging"] == {
        name: head - position for name, position in positions.items()
    }
    # Within a bound wide enough, the same lag is ready.
    monkeypatch.setenv("FULLCHAIN_READY_MAX_LAG", str(head))
    assert client.get("/ready").status_code == 200
    # With the bound 0 again, ready once the workers have caught up.
    monkeypatch.setenv("FULLCHAIN_READY_MAX_LAG", "0")
    services.start_workers()
    wait_until(lambda: client.get("/ready").status_code == 200, what="ready after catching up")


def test_ready_is_503_when_the_database_is_unreachable(database: Database) -> None:
    truncate_all(database)
    proxy = FaultyProxy(database)
    services = open_services(proxy.database)
    try:
        with TestClient(create_app(services)) as c:
            assert c.get("/ready").status_code == 200
            assert c.get("/health").status_code == 200
            proxy.refuse()
            response = c.get("/ready")
            assert response.status_code == 503
            body = response.json()
            assert body["not_ready"] == ["database"]
            assert body["checks"]["database"]["ok"] is False
            assert body["checks"]["database"]["reason"]
            assert c.get("/health").status_code == 200  # the process is up all the same
            proxy.admit()
            wait_until(lambda: c.get("/ready").status_code == 200, what="ready again")
    finally:
        proxy.admit()
        services.close()
        proxy.close()


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_count_each_command_outcome_exactly(client: TestClient) -> None:
    before = scrape(client)
    key = {"Idempotency-Key": f"k-{uuid4()}"}
    applied = client.post("/v1/relationships", json=RELATIONSHIP, headers=key)
    assert applied.status_code == 201
    replayed = client.post("/v1/relationships", json=RELATIONSHIP, headers=key)
    assert replayed.status_code == 201
    assert replayed.json() == applied.json()
    rid = applied.json()["aggregate_id"]
    conflict = client.post(f"/v1/relationships/{rid}/first-business", json={"reference": "x"})
    assert conflict.status_code == 409
    stale = client.post(
        f"/v1/relationships/{rid}/rename", json={"name": "Stale"}, headers={"If-Match": '"99"'}
    )
    assert stale.status_code == 412
    after = scrape(client)

    assert moved(before, after, "fullchain_commands_total") == {
        (("outcome", "applied"), ("route", "/v1/relationships")): 1.0,
        (("outcome", "replayed"), ("route", "/v1/relationships")): 1.0,
        (
            ("outcome", "conflict"),
            ("route", "/v1/relationships/{relationship_id}/first-business"),
        ): 1.0,
        (
            ("outcome", "precondition_failed"),
            ("route", "/v1/relationships/{relationship_id}/rename"),
        ): 1.0,
    }
    # One append: the replay, the 409 and the 412 wrote nothing.
    assert moved(before, after, "fullchain_append_duration_seconds_count") == {(): 1.0}
    requests = moved(before, after, "fullchain_http_requests_total")
    assert requests[(("method", "POST"), ("route", "/v1/relationships"), ("status", "201"))] == 2
    # Requests count under their route's template, never under a raw path.
    assert not [labels for labels in requests if rid in dict(labels)["route"]]
    latency = moved(before, after, "fullchain_http_request_duration_seconds_count")
    assert latency[(("method", "POST"), ("route", "/v1/relationships"), ("status", "201"))] == 2
    # The pools' statistics are there.
    assert ("fullchain_db_pool_connections", (("pool", "reads"), ("state", "max"))) in after
    assert ("fullchain_db_pool_connections", (("pool", "writes"), ("state", "max"))) in after


def test_the_lag_gauge_is_the_log_head_minus_the_position(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    assert client.post("/v1/relationships", json=RELATIONSHIP).status_code == 201
    head, positions = head_and_positions(services)
    samples = scrape(client)
    assert samples[("fullchain_log_head", ())] == head
    assert by_model(samples, "fullchain_read_model_position") == positions
    lag = by_model(samples, "fullchain_read_model_lag_events")
    assert lag == {name: head - position for name, position in positions.items()}
    assert all(v > 0 for v in lag.values())
    assert all(v >= 0 for v in by_model(samples, "fullchain_read_model_lag_seconds").values())

    services.start_workers()
    wait_until(lambda: caught_up(services), what="read models caught up")
    samples = scrape(client)
    assert set(by_model(samples, "fullchain_read_model_lag_events").values()) == {0.0}
    assert set(by_model(samples, "fullchain_read_model_lag_seconds").values()) == {0.0}
    # The workers' batches are measured per read model.
    sizes = by_model(samples, "fullchain_read_model_batch_entries_count")
    assert set(sizes) == set(positions)
    assert all(count >= 1 for count in sizes.values())


def test_metrics_need_their_token_when_one_is_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FULLCHAIN_METRICS_TOKEN", "scraper-secret")
    anonymous = TestClient(client.app)
    assert anonymous.get("/metrics").status_code == 401
    wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = anonymous.get("/metrics", headers={"Authorization": "Bearer scraper-secret"})
    assert right.status_code == 200
    assert "fullchain_log_head" in right.text


def test_the_dashboard_asks_only_for_metrics_the_service_exports(client: TestClient) -> None:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    services.start_workers()
    assert client.post("/v1/relationships", json=RELATIONSHIP).status_code == 201
    wait_until(lambda: caught_up(services), what="read models caught up")
    exported = metrics.exported_names(client.get("/metrics").text)
    assert exported >= metrics.METRIC_NAMES
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    asked = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names = set(re.findall(r"\bfullchain_[a-z_]+", target["expr"]))
            assert names, target["expr"]
            for name in names:
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                assert family in exported, f"{panel['title']}: {name} is not exported"
                asked.add(family)
    # Every metric of the service is on the dashboard.
    assert asked == metrics.METRIC_NAMES


# --- logs ------------------------------------------------------------------------------------


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logs.handler("json", out)
    logger = logging.getLogger("fullchain.http")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def lines_of(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_request_logs_a_json_line_with_the_id_its_answer_carries(
    client: TestClient, log_lines: io.StringIO
) -> None:
    given = client.get("/v1/staff/me", headers={"X-Request-ID": "req-4711"})
    assert given.status_code == 200
    assert given.headers["X-Request-ID"] == "req-4711"
    made = client.post(
        "/v1/relationships", json={**RELATIONSHIP, "correlation_id": "conversation-9"}
    )
    assert made.status_code == 201
    made_id = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_id)

    lines = lines_of(log_lines)
    (first,) = [line for line in lines if line.get("request_id") == "req-4711"]
    assert first["route"] == "/v1/staff/me"
    assert first["status"] == 200
    assert first["level"] == "INFO"
    (second,) = [line for line in lines if line.get("request_id") == made_id]
    assert second["status"] == 201
    assert second["correlation_id"] == "conversation-9"
    assert second["method"] == "POST"


def test_request_ids_made_are_distinct_and_a_forked_child_makes_its_own() -> None:
    made = [request_id({"type": "http", "headers": []}) for _ in range(1000)]
    assert len(set(made)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made)
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # a worker forked from this process after its ids began
        os.write(writing, request_id({"type": "http", "headers": []}).encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs = os.read(reading, 64).decode()
    os.close(reading)
    os.close(writing)
    assert re.fullmatch(r"[0-9a-f]{32}", theirs)
    assert theirs[:16] != made[0][:16]  # another random half: never the parent's next ids


def test_logs_are_text_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    handler = logs.handler("auto", out)
    record = logging.makeLogRecord({"msg": "hello %s", "args": ("there",), "levelname": "INFO"})
    record.request_id = "r-1"
    out.write(handler.format(record))
    assert out.getvalue().endswith("hello there [r-1]")
    assert not out.getvalue().startswith("{")


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FULLCHAIN_POOL_SIZE", "x"),
        ("FULLCHAIN_READ_POOL_SIZE", "0"),
        ("FULLCHAIN_READY_MAX_LAG", "-1"),
        ("FULLCHAIN_READY_TIMEOUT", "soon"),
        ("FULLCHAIN_LOG_FORMAT", "xml"),
        ("FULLCHAIN_EVIDENCE_MAX_BYTES", "big"),
        ("FULLCHAIN_UNASSIGNED_INCIDENT_HOURS", "0"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=re.escape(f"{variable}={value!r}")):
        check_configuration()


def test_a_bad_pool_size_stops_the_command_line(services: Services) -> None:
    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: services.database.conninfo,
        "FULLCHAIN_POOL_SIZE": "x",
    }
    started = subprocess.run(
        [sys.executable, "-m", "interface.cli", "status"], env=env, capture_output=True, text=True
    )
    assert started.returncode == 2
    assert "FULLCHAIN_POOL_SIZE='x' is not a positive whole number" in started.stderr


def test_the_settings_keep_their_variable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULLCHAIN_POOL_SIZE", "7")
    monkeypatch.setenv("FULLCHAIN_POOL_TIMEOUT", "1.5")
    monkeypatch.setenv("FULLCHAIN_READY_MAX_LAG", "")  # empty: unset
    current = settings.load()
    assert current.pool_size == 7
    assert current.pool_timeout == 1.5
    assert current.ready_max_lag == 1000
    assert current.database_url == os.environ.get(DATABASE_URL_VARIABLE)


def test_the_configuration_document_is_the_settings_object() -> None:
    document = (ROOT / "docs" / "configuration.md").read_text()
    assert document == settings.markdown(), "regenerate: fullchain config --markdown"
    for name in settings.Settings.model_fields:
        assert f"`{settings.variable(name)}`" in document


def test_every_variable_the_code_reads_is_a_setting() -> None:
    read = set()
    for folder in ("domain", "application", "projections", "interface"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r"\"(FULLCHAIN_[A-Z0-9_]+)\"", path.read_text()))
    internal = {"FULLCHAIN_EVENT_STORE_CONNINFO", "FULLCHAIN_EVENT_STORE_POOL_TIMEOUT"}
    declared = {settings.variable(name) for name in settings.Settings.model_fields}
    assert read - internal <= declared


# --- the operator's status -------------------------------------------------------------------


def test_status_shows_schema_head_and_each_read_models_lag(services: Services) -> None:
    env = {**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo}
    shown = subprocess.run(
        [sys.executable, "-m", "interface.cli", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    head, positions = head_and_positions(services)
    assert report["schema"]["missing"] == []
    assert report["schema"]["version"] == "0043_account_interaction_days"  # the latest
    assert report["log_head"] == head
    assert {m["name"]: m["position"] for m in report["read_models"]} == positions
    assert {m["name"]: m["lag_events"] for m in report["read_models"]} == {
        name: head - position for name, position in positions.items()
    }
    assert all(m["last_error"] is None for m in report["read_models"])
    text = subprocess.run(
        [sys.executable, "-m", "interface.cli", "status"], env=env, capture_output=True, text=True
    )
    assert text.returncode == 0, text.stderr
    assert f"log head    {head}" in text.stdout


# --- a read model's failure ------------------------------------------------------------------


class Broken(BatchProjection):
    """A read model whose every batch fails."""

    name = "broken_for_operations_test"
    migration = Migration("none", "none", [])
    tables = ()

    def handles(self, topic: str) -> bool:
        return True

    def apply_batch(self, conn: Any, events: Sequence[ProjectedEvent]) -> None:
        raise RuntimeError("cannot apply this batch")


def test_a_failed_batch_is_counted_and_kept_as_the_read_models_last_error(
    services: Services,
) -> None:
    healthy = services.projections[0]
    worker = ProjectionWorker(services.database, [healthy, Broken()], services.app.mapper)
    errors = metrics.BATCH_ERRORS.labels(Broken.name)
    before = errors._value.get()
    worker.catch_up()
    assert errors._value.get() == before + 1
    with services.database.connect(autocommit=True) as conn:
        state = status.snapshot(conn, [healthy.name, Broken.name])
    by_name = {m.name: m for m in state.read_models}
    assert by_name[healthy.name].lag_events == 0  # the other read model went on
    broken = by_name[Broken.name]
    assert broken.position == 0
    assert broken.lag_events == state.head
    assert broken.last_error == "RuntimeError: cannot apply this batch"
    assert broken.last_error_at is not None
