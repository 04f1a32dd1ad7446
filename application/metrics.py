"""The service's metrics (Prometheus): what the hot path counts, and what a scrape reads.

The hot path only increments counters and observes histograms (a lock and an add each).
The gauges that need the database — each read model's lag, the log's head — and the
pools' statistics are computed when ``/metrics`` is scraped, by ``ServiceCollector``.

Every metric name the service exports is in ``METRIC_NAMES`` (the Grafana dashboard in
``deploy/grafana-dashboard.json`` is checked against it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``_created`` series: dashboards use none

#: Seconds: fine at the low end, where commands and reads live.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

#: The process's own metrics (requests, commands, appends, batches): one registry for the
#: whole process, so each is counted once however many apps share it.
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "fullchain_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "fullchain_http_request_duration_seconds",
    "Seconds from a request's arrival to its answer, by route template and status",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

#: A command's outcome: applied (2xx, a new write), replayed (an Idempotency-Key's
#: answer again), conflict (409: the state forbids it), precondition_failed (412: If-Match
#: mismatch), refused (any other 4xx), failed (5xx).
COMMAND_OUTCOMES = ("applied", "replayed", "conflict", "precondition_failed", "refused", "failed")
COMMANDS = Counter(
    "fullchain_commands",
    "Commands answered, by route template and outcome",
    ["route", "outcome"],
    registry=REGISTRY,
)
APPEND_LATENCY = Histogram(
    "fullchain_append_duration_seconds",
    "Seconds a command's append (events, command record, side effects) takes",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

BATCH_SIZE = Histogram(
    "fullchain_read_model_batch_entries",
    "Log entries a read model's batch covers",
    ["read_model"],
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 5000),
    registry=REGISTRY,
)
BATCH_LATENCY = Histogram(
    "fullchain_read_model_batch_duration_seconds",
    "Seconds a read model takes to apply one batch",
    ["read_model"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
BATCH_ERRORS = Counter(
    "fullchain_read_model_errors",
    "Batches a read model failed (set aside, retried later)",
    ["read_model"],
    registry=REGISTRY,
)


def command_outcome(status: int, replayed: bool) -> str:
    if replayed:
        return "replayed"
    if 200 <= status < 300:
        return "applied"
    if status == 409:
        return "conflict"
    if status == 412:
        return "precondition_failed"
    return "refused" if status < 500 else "failed"


# --- read at scrape time ---------------------------------------------------------------


@dataclass(frozen=True)
class ReadModelState:
    name: str
    position: int
    #: Log entries between the read model's position and the head.
    lag_events: int
    #: Seconds between the recording of the entry at its position and of the head's.
    lag_seconds: float
    last_error: str | None = None
    last_error_at: str | None = None


@dataclass(frozen=True)
class Snapshot:
    head: int
    read_models: list[ReadModelState]


class ServiceCollector(Collector):
    """The gauges of one running service, read at scrape time: the log's head, each read
    model's position and lag, and the statistics of its connection pools."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        pools: Callable[[], dict[str, dict[str, int]]],
    ) -> None:
        self.snapshot = snapshot
        self.pools = pools

    def collect(self) -> Iterator[Metric]:
        yield from pool_metrics(self.pools())
        state = self.snapshot()
        head = GaugeMetricFamily("fullchain_log_head", "Position of the log's last entry")
        head.add_metric([], state.head)
        yield head
        position = GaugeMetricFamily(
            "fullchain_read_model_position",
            "The read model's tracking position",
            labels=["read_model"],
        )
        events = GaugeMetricFamily(
            "fullchain_read_model_lag_events",
            "Log entries the read model is behind (head minus position)",
            labels=["read_model"],
        )
        seconds = GaugeMetricFamily(
            "fullchain_read_model_lag_seconds",
            "Seconds between the recording of the read model's position and of the head",
            labels=["read_model"],
        )
        for model in state.read_models:
            position.add_metric([model.name], model.position)
            events.add_metric([model.name], model.lag_events)
            seconds.add_metric([model.name], model.lag_seconds)
        yield from (position, events, seconds)


def pool_metrics(pools: dict[str, dict[str, int]]) -> Iterable[Metric]:
    """psycopg_pool's ``get_stats()`` of each pool, as gauges and counters."""
    connections = GaugeMetricFamily(
        "fullchain_db_pool_connections",
        "Connections of the pool: open (size), idle (available), most allowed (max)",
        labels=["pool", "state"],
    )
    waiting = GaugeMetricFamily(
        "fullchain_db_pool_waiting", "Callers waiting for a connection now", labels=["pool"]
    )
    requests = CounterMetricFamily(
        "fullchain_db_pool_requests", "Connections asked of the pool", labels=["pool"]
    )
    queued = CounterMetricFamily(
        "fullchain_db_pool_queued", "Requests that had to wait for a connection", labels=["pool"]
    )
    wait = CounterMetricFamily(
        "fullchain_db_pool_wait_seconds", "Seconds callers waited for a connection", labels=["pool"]
    )
    timeouts = CounterMetricFamily(
        "fullchain_db_pool_timeouts",
        "Requests that gave up waiting (answered 503)",
        labels=["pool"],
    )
    for name, stats in sorted(pools.items()):
        connections.add_metric([name, "size"], stats.get("pool_size", 0))
        connections.add_metric([name, "available"], stats.get("pool_available", 0))
        connections.add_metric([name, "max"], stats.get("pool_max", 0))
        waiting.add_metric([name], stats.get("requests_waiting", 0))
        requests.add_metric([name], stats.get("requests_num", 0))
        queued.add_metric([name], stats.get("requests_queued", 0))
        wait.add_metric([name], stats.get("requests_wait_ms", 0) / 1000)
        timeouts.add_metric([name], stats.get("requests_errors", 0))
    return (connections, waiting, requests, queued, wait, timeouts)


#: Every metric name a scrape of the service shows (the families' names; counters add
#: ``_total``, histograms ``_bucket``, ``_sum`` and ``_count``).
METRIC_NAMES: frozenset[str] = frozenset(
    {
        "fullchain_http_requests_total",
        "fullchain_http_request_duration_seconds",
        "fullchain_commands_total",
        "fullchain_append_duration_seconds",
        "fullchain_read_model_batch_entries",
        "fullchain_read_model_batch_duration_seconds",
        "fullchain_read_model_errors_total",
        "fullchain_log_head",
        "fullchain_read_model_position",
        "fullchain_read_model_lag_events",
        "fullchain_read_model_lag_seconds",
        "fullchain_db_pool_connections",
        "fullchain_db_pool_waiting",
        "fullchain_db_pool_requests_total",
        "fullchain_db_pool_queued_total",
        "fullchain_db_pool_wait_seconds_total",
        "fullchain_db_pool_timeouts_total",
    }
)


def exported_names(text: str) -> set[str]:
    """The metric names of a scrape's text (histograms under their family's name)."""
    names: set[str] = set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        for suffix in ("_bucket", "_sum", "_count", "_created"):
            if name.endswith(suffix) and name[: -len(suffix)] in METRIC_NAMES:
                name = name[: -len(suffix)]
        names.add(name)
    return names
