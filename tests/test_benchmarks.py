"""The benchmarks drive the application by name; a renamed or moved command must fail
here, in the suite, not only when someone runs the benchmarks."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from bench.shipments import (
    EVENTS_PER_SHIPMENT,
    _run_through_service,
    register_parties,
)
from domain.shipment import ShipmentStatus
from interface.runtime import Services
from tests.clock import NOW


def test_the_benchmark_shipment_runs_through_the_application_to_delivery(
    services: Services,
) -> None:
    app = services.app
    parties = register_parties(app)
    before = app.recorder.max_notification_id() or 0
    commands = _run_through_service(app, parties, "SZX-BENCH-00001", NOW - timedelta(days=10))
    assert commands == EVENTS_PER_SHIPMENT
    assert (app.recorder.max_notification_id() or 0) - before == EVENTS_PER_SHIPMENT
    booked = app.recorder.select_notifications(before + 1, 1)[0]
    assert (
        app.shipments.get_shipment(UUID(str(booked.originator_id))).status
        is ShipmentStatus.DELIVERED
    )
