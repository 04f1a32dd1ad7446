"""The benchmarks drive the application by name; a renamed or moved command must fail
here, in the suite, not only when someone runs the benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4
from xml.etree import ElementTree

from application.store.database import Database
from application.store.schema import EVENTS_TABLE
from bench import first_wave
from bench.commands import _existing_relationships
from bench.mining import score
from bench.personal_data import PlainFullchain, _adding, _changing
from bench.shipments import (
    EVENTS_PER_SHIPMENT,
    _run_through_service,
    register_parties,
)
from domain.mining import BookedShipment, BuyerProfile, CatalogueOffering, Market, MiningPolicy
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


def test_the_mining_benchmark_counts_a_hit_only_for_a_new_offering_in_the_first_k() -> None:
    """``bench.mining`` scores suggestions made before against what was bought after: a
    customer that takes up the suggested lane is a hit at k = 1 for the suggestions, the
    most popular offering (the one it already had) is no hit."""
    cutoff = datetime(2026, 9, 1, tzinfo=UTC)
    air = CatalogueOffering(
        uuid4(), "Suzhou–Chicago Air", "Suzhou", "Chicago", "air", "door_to_door", 5, True,
        cutoff - timedelta(days=300),
    )  # fmt: skip
    sea = CatalogueOffering(
        uuid4(), "Ningbo–Chicago Sea", "Ningbo", "Chicago", "sea", "door_to_door", 30, True,
        cutoff - timedelta(days=300),
    )  # fmt: skip
    huaxin = BuyerProfile(uuid4(), "customer", "electronics", "East China", "Suzhou")

    def shipped(days: int, origin: str, mode: str) -> BookedShipment:
        return BookedShipment(
            uuid4(), huaxin.relationship_id, cutoff + timedelta(days=days), f"{origin}, CN",
            "Chicago, IL, US", mode, Decimal(1000),
        )  # fmt: skip

    history = [shipped(-30 * m - 5, "Suzhou", "air") for m in range(4)]
    history.append(shipped(20, "Ningbo", "sea"))

    def market(as_of: datetime, days: int) -> Market:
        return Market(
            accounts=[huaxin], bookings=history, wins=[], offerings=[air, sea], as_of=as_of,
            policy=MiningPolicy(history_days=days),
        )  # fmt: skip

    tally = score(market(cutoff, 365), market(cutoff + timedelta(days=92), 92))
    assert (tally.customers, tally.new_purchases) == (1, 1)
    assert tally.suggestions == {1: 1, 3: 1, 5: 1}
    assert tally.popular == {1: 0, 3: 0, 5: 0}


def test_the_personal_data_benchmark_runs_the_same_commands_sealed_and_in_clear(
    services: Services, database: Database
) -> None:
    """``bench.personal_data`` compares the product's application with one on the plain
    mapper: the same commands, personal fields sealed by the one and in clear by the
    other (otherwise its ratio compares nothing)."""
    plain = PlainFullchain(database)
    try:
        stored: dict[str, list[str]] = {}
        for name, app in (("sealed", services.app), ("plain", plain)):
            (rid,) = _existing_relationships(app, 1, seed=11)
            assert _changing(app, [rid])(0, 1) + _adding(app, [rid])(0, 1) == 4
            with database.connect() as conn:
                stored[name] = [
                    bytes(r[0]).decode()
                    for r in conn.execute(
                        f"SELECT state FROM {EVENTS_TABLE} WHERE originator_id = %s "
                        "ORDER BY originator_version",
                        (rid,),
                    ).fetchall()
                ]
        assert len(stored["sealed"]) == len(stored["plain"])
        assert not any("Li Wei 0" in s or "Zhang Min 0" in s for s in stored["sealed"])
        assert sum("Li Wei 0" in s or "Zhang Min 0" in s for s in stored["plain"]) == 2
    finally:
        plain.close()


def test_the_first_wave_comparison_sorts_samples_by_part_and_draws_a_well_formed_graph() -> None:
    site = "/srv/.venv/lib/python3.11/site-packages"
    std = "/usr/lib/python3.11"
    entry = "main (/srv/code/interface/cli.py:10)"
    stacks = [
        (
            [
                entry,
                "run (/srv/code/interface/http/app.py:5)",
                f"execute ({site}/psycopg/cursor.py:1)",
            ],
            3,
        ),
        ([entry, f"_run_once ({std}/asyncio/base_events.py:1)"], 5),
        ([f"<lambda> ({std}/threading.py:9)", "decide (/srv/code/domain/relationship.py:2)"], 2),
        (["<module> (<frozen runpy>:198)"], 1),
    ]
    parts = first_wave.shares(stacks)
    assert parts.samples == 11
    assert parts.own == {"psycopg": 3, "web stack": 5, "domain/": 2, "other": 1}
    # interface/cli.py, the root of every stack of the event loop, counts for nothing.
    assert parts.inclusive["interface/"] == 3
    assert parts.inclusive["thread hand-offs"] == 2
    drawing = ElementTree.fromstring(first_wave.flame_svg(stacks, "a <title> & more"))
    titles = [t.text or "" for t in drawing.iter("{http://www.w3.org/2000/svg}title")]
    assert "<lambda> (threading.py:9) (2 samples, 18.18%)" in titles
    assert any(t.startswith("execute (psycopg/cursor.py:1) (3 samples") for t in titles)
