"""The responsibility-audit read model, findings and scorecards on real PostgreSQL.

Shipments are written straight through the domain and the event store here, so the
projection is tested on its own; the commands have their own tests.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.base import CommandRefused
from domain.relationship import Relationship, RelationshipKind
from domain.shipment import Condition, IncidentKind, ResponsibilityBasis, Shipment
from interface.runtime import Services
from projections.account_status.queries import get_account
from projections.engine import ProjectionWorker, rebuild
from projections.responsibility_audit.queries import (
    FindingKind,
    findings,
    get_responsibility,
    scorecard,
)
from projections.responsibility_audit.writer import ResponsibilityProjection
from tests.clock import NOW
from tests.domain.test_shipment import (
    AGENT,
    AIR_CARRIAGE,
    AIRLINE,
    CUSTOMER,
    DELIVERY,
    IMPORT_CUSTOMS,
    WAREHOUSE,
    WAREHOUSING,
    at,
    book,
    ctx,
    delivered,
    run_links,
)


def catch_up(services: Services) -> None:
    for projection in services.projections:
        services.worker(projection, batch_size=7).catch_up()


def register_parties(services: Services) -> None:
    """The customer and the airline as relationships, so account status and the scorecard
    know them."""
    app = services.app
    for rid, name, kind in (
        (CUSTOMER, "苏州华芯电子有限公司", RelationshipKind.CUSTOMER),
        (AIRLINE, "China Eastern Cargo", RelationshipKind.PARTNER),
    ):
        app.save(
            Relationship.register(
                app.context("li.wei"),
                name=name,
                kind=kind,
                industry="electronics",
                region="East China",
                branch="Suzhou",
                relationship_id=rid,
            )
        )


def seed_case(services: Services) -> tuple[Shipment, UUID, UUID]:
    """Laptops Suzhou → Chicago, cartons damaged at import, the airline answers, we pay."""
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = uuid4()
    shipment.report_incident(
        ctx(75),
        incident_id=incident,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="10 cartons crushed, found at import customs",
        packages_affected=10,
    )
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="the airline handed the cartons over damaged",
    )
    shipment.accept_responsibility(ctx(77), incident_id=incident, note="airline accepts")
    claim = uuid4()
    shipment.file_claim(
        ctx(80), claim_id=claim, incident_id=incident, amount=Decimal("40000"), currency="USD"
    )
    shipment.assess_liability_limit(ctx(81), claim_id=claim, sdr_rate=Decimal("1.33"))
    shipment.pay_compensation(
        ctx(82), claim_id=claim, amount=Decimal("40000"), payment_reference="PAY-1"
    )
    services.app.save(shipment)
    return shipment, incident, claim


def kinds_of(services: Services, **kwargs: Any) -> list[str]:
    with services.reads.connection() as conn:
        rows = findings(conn, now=NOW, unassigned_after=timedelta(hours=48), **kwargs)
    return sorted(r["kind"] for r in rows)


def test_the_seed_case_shows_who_answered_for_every_link(services: Services) -> None:
    register_parties(services)
    shipment, _incident, _claim = seed_case(services)
    catch_up(services)
    with services.reads.connection() as conn:
        view = get_responsibility(conn, shipment.id)
    assert view is not None
    chain = view["chain"]
    assert [link["function"] for link in chain] == [
        "pickup",
        "export_customs",
        "main_carriage",
        "import_customs",
        "warehousing",
        "delivery",
    ]
    assert chain[2]["party"]["key"] == f"partner:{AIRLINE}"
    assert chain[0]["party"]["key"] == "branch:Suzhou"
    # Custody windows join up: each link's handover out is the next one's handover in.
    for before, after in itertools.pairwise(chain):
        assert before["custody_until"] == after["custody_from"]
    assert chain[3]["handover_in"]["condition"] == "damaged"
    assert view["current_holder"] is None  # delivered
    assert view["status"] == "delivered"
    (reported,) = view["incidents"]
    assert reported["responsible"]["party"]["key"] == f"partner:{AIRLINE}"
    assert reported["responsibility_status"] == "accepted"
    (filed,) = view["claims"]
    # Montreal: 26 SDR/kg on the weight of 10 of 120 cartons of 1800 kg, at 1.33 USD/SDR.
    weight = Decimal("1800") * 10 / 120
    assert Decimal(filed["liability_limit"]["amount"]) == (weight * 26 * Decimal("1.33")).quantize(
        Decimal("0.01")
    )
    assert Decimal(filed["compensation_paid"]) == Decimal("40000")
    # The customer's deadlines run from the final delivery (Wednesday 5 March 2025, 22:00)
    # under our company terms; ours from the airline's handover to the import agent
    # (Tuesday 4 March 2025, 17:00) under Montreal, whose crushed cartons noted on it were
    # the airline's notice.
    assert filed["customer_deadlines"] == {
        "regime": "company_terms",
        "notice_deadline": "2025-03-12T22:00:00+00:00",
        "time_bar": "2025-12-05T22:00:00+00:00",
    }
    assert filed["recovery_deadlines"] == {
        "regime": "montreal",
        "link_sequence": AIR_CARRIAGE,
        "notice_deadline": "2025-03-18T17:00:00+00:00",
        "time_bar": "2027-03-04T17:00:00+00:00",
        "noticed_at": "2025-03-04T17:00:00+00:00",
    }


def test_account_status_counts_shipments_incidents_claims_and_compensation(
    services: Services,
) -> None:
    register_parties(services)
    seed_case(services)
    in_flight = book()
    run_links(in_flight, 2)
    services.app.save(in_flight)
    catch_up(services)
    with services.reads.connection() as conn:
        account = get_account(conn, CUSTOMER, now=NOW)
    assert account is not None
    assert account["shipments_in_flight"] == 1
    assert account["open_incidents"] == 1
    assert account["open_claims"] == 1
    assert account["compensation_paid"] == {"USD": "40000"}  # exact, as text


def test_findings_follow_the_recovery_decision(services: Services) -> None:
    register_parties(services)
    shipment, _, claim = seed_case(services)
    catch_up(services)
    # Paid in 2025, nothing claimed from the airline, which had notice by the damage noted
    # at its handover: recovery is neither claimed nor waived.
    assert kinds_of(services, partner_id=AIRLINE) == [
        FindingKind.COMPENSATION_WITHOUT_RECOVERY_DECISION,
    ]
    assert kinds_of(services, branch="Shanghai") == []
    assert kinds_of(services, branch="Suzhou", kind=FindingKind.CUSTODY_GAP) == []
    shipment.claim_recovery(ctx(90), claim_id=claim, amount=Decimal("1000"))
    services.app.save(shipment)
    catch_up(services)
    assert kinds_of(services) == []
    with services.reads.connection() as conn:
        card = scorecard(conn, AIRLINE)
    assert card["links_run"] == 1
    assert card["incidents_attributed"] == 1
    assert card["recovery"] == [
        {
            "currency": "USD",
            "claimed": Decimal("1000"),
            "received": Decimal("0"),
            "outstanding": Decimal("1000"),
        }
    ]


def test_a_recovery_notified_after_its_own_deadline_is_found(services: Services) -> None:
    """Concealed damage: the airline handed the cartons on in good order on Tuesday 4 March
    2025 at 17:00; they reach the consignee only on Sunday 23 March at 00:00, where the
    damage is found. The customer is in time (7 days from the final delivery: 30 March), but
    our notice to the airline is not (14 days from its handover: 18 March 17:00)."""
    register_parties(services)
    shipment = book()
    run_links(shipment, DELIVERY)
    shipment.deliver(
        ctx(480), condition=Condition.GOOD, signed_by="J. Miller", proof_of_delivery="POD-2"
    )
    incident = uuid4()
    shipment.report_incident(
        ctx(481),
        incident_id=incident,
        link_sequence=DELIVERY,
        kind=IncidentKind.DAMAGE,
        description="4 laptops with cracked screens inside intact cartons",
        packages_affected=4,
    )
    shipment.assign_responsibility(
        ctx(482),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.INVESTIGATION,
        explanation="survey: crushed by a pallet in the aircraft's hold",
    )
    shipment.accept_responsibility(ctx(483), incident_id=incident, note="airline accepts")
    claim = uuid4()
    shipment.file_claim(
        ctx(484), claim_id=claim, incident_id=incident, amount=Decimal("6000"), currency="USD"
    )
    shipment.assess_liability_limit(ctx(485), claim_id=claim, sdr_rate=Decimal("1.33"))
    services.app.save(shipment)
    catch_up(services)
    # Not yet notified, the recovery notice deadline long passed (NOW is March 2026).
    assert kinds_of(services, partner_id=AIRLINE) == [FindingKind.CLAIM_PAST_NOTICE_DEADLINE]

    # Notified on Sunday 23 March 2025, 08:00: after the airline's deadline, before the
    # customer's.
    shipment.claim_recovery(ctx(484 + 4), claim_id=claim, amount=Decimal("500"))
    services.app.save(shipment)
    catch_up(services)
    with services.reads.connection() as conn:
        view = get_responsibility(conn, shipment.id)
        (late,) = findings(conn, now=NOW, unassigned_after=timedelta(hours=48))
    assert view is not None
    (filed,) = view["claims"]
    assert filed["customer_deadlines"]["notice_deadline"] == "2025-03-30T00:00:00+00:00"
    assert filed["recovery_deadlines"]["notice_deadline"] == "2025-03-18T17:00:00+00:00"
    assert filed["recovery_deadlines"]["noticed_at"] == "2025-03-23T08:00:00+00:00"
    assert late["kind"] == FindingKind.RECOVERY_NOTICE_LATE
    assert (late["claim_id"], late["partner_id"]) == (claim, AIRLINE)
    assert late["since"] == shipment.claims[claim].recovery_claimed_at


def test_a_damaged_handover_without_incident_and_an_unassigned_incident_are_found(
    services: Services,
) -> None:
    register_parties(services)
    damaged = delivered({AIR_CARRIAGE: Condition.SHORT})
    services.app.save(damaged)
    catch_up(services)
    assert kinds_of(services) == [FindingKind.DAMAGED_HANDOVER_WITHOUT_INCIDENT]
    with services.reads.connection() as conn:
        (short,) = findings(conn, now=NOW, unassigned_after=timedelta(hours=48))
    # The party at fault is the one that handed the goods over short: our export office.
    assert (short["link_sequence"], short["party"], short["partner_id"]) == (
        AIR_CARRIAGE,
        "branch:Suzhou",
        None,
    )
    incident = uuid4()
    damaged.report_incident(
        ctx(90),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        kind=IncidentKind.SHORTAGE,
        description="2 cartons missing at the airline's acceptance",
        packages_affected=2,
    )
    services.app.save(damaged)
    catch_up(services)
    # Reported (in 2025) and still without a responsible party long after; the party the
    # rules propose is the one that handed the goods over short.
    assert kinds_of(services) == [FindingKind.INCIDENT_UNASSIGNED]
    with services.reads.connection() as conn:
        (unassigned,) = findings(conn, now=NOW, unassigned_after=timedelta(hours=48))
    assert unassigned["party"] == "branch:Suzhou"
    with services.reads.connection() as conn:
        later = findings(conn, now=NOW, unassigned_after=timedelta(days=10_000))
    assert later == []


def test_damage_reported_covers_the_handovers_after_it_and_new_damage_is_found(
    services: Services,
) -> None:
    # The seed case as it is carried: the cartons noted crushed at import and at every
    # handover after it, to the consignee.
    register_parties(services)
    shipment = book()
    run_links(
        shipment,
        DELIVERY,
        {
            IMPORT_CUSTOMS: Condition.DAMAGED,
            WAREHOUSING: Condition.DAMAGED,
            DELIVERY: Condition.DAMAGED,
        },
    )
    shipment.deliver(
        ctx(70), condition=Condition.DAMAGED, signed_by="J. Miller", proof_of_delivery="POD-1"
    )
    services.app.save(shipment)
    catch_up(services)

    def damaged_handovers() -> list[tuple[int, str]]:
        with services.reads.connection() as conn:
            rows = findings(
                conn,
                now=NOW,
                unassigned_after=timedelta(days=10_000),
                kind=FindingKind.DAMAGED_HANDOVER_WITHOUT_INCIDENT,
            )
        return [(r["link_sequence"], r["party"]) for r in rows]

    # Unreported, each names the link that handed the goods over damaged.
    assert damaged_handovers() == [
        (IMPORT_CUSTOMS, f"partner:{AIRLINE}"),
        (WAREHOUSING, f"partner:{AGENT}"),
        (DELIVERY, f"partner:{WAREHOUSE}"),
        (DELIVERY, f"partner:{AGENT}"),  # to the consignee
    ]
    shipment.report_incident(
        ctx(75),
        incident_id=uuid4(),
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="8 cartons crushed, found at import customs",
        packages_affected=8,
    )
    services.app.save(shipment)
    catch_up(services)
    assert damaged_handovers() == []

    # Goods found short at delivery are another damage than the crushed cartons: new.
    short = book()
    run_links(short, DELIVERY, {IMPORT_CUSTOMS: Condition.DAMAGED})
    short.deliver(
        ctx(70), condition=Condition.SHORT, signed_by="J. Miller", proof_of_delivery="POD-2"
    )
    short.report_incident(
        ctx(75),
        incident_id=uuid4(),
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="8 cartons crushed, found at import customs",
        packages_affected=8,
    )
    services.app.save(short)
    catch_up(services)
    assert damaged_handovers() == [(DELIVERY, f"partner:{AGENT}")]


def test_a_history_that_breaks_custody_is_projected_and_found(services: Services) -> None:
    # A log altered outside the service: custody jumps from link 1 to link 3, and link 5
    # receives the goods while link 4 still holds them. The aggregate's commands would
    # refuse both; the audit must still show them.
    shipment = book()
    run_links(shipment, 1)
    shipment.trigger_event(
        Shipment.CustodyHandedOver,
        from_sequence=1,
        to_sequence=3,
        condition="good",
        signed_by="nobody",
        reference=None,
        remarks=None,
        packages_affected=None,
        weight_affected_kg=None,
        observed=None,
        **ctx(30).event_fields(),
    )
    shipment.trigger_event(
        Shipment.CustodyHandedOver,
        from_sequence=None,
        to_sequence=5,
        condition="good",
        signed_by="someone",
        reference=None,
        remarks=None,
        packages_affected=None,
        weight_affected_kg=None,
        observed=None,
        **ctx(31).event_fields(),
    )
    services.app.save(shipment)
    catch_up(services)
    found = kinds_of(services, kind=None)
    assert FindingKind.CUSTODY_GAP in found
    assert FindingKind.CUSTODY_OVERLAP in found


def test_rebuild_and_a_cold_start_reproduce_the_model(services: Services) -> None:
    register_parties(services)
    seed_case(services)
    for _ in range(3):
        s = book()
        run_links(s, DELIVERY - 1)
        services.app.save(s)
    catch_up(services)

    def model() -> list[dict[str, Any]]:
        with services.reads.connection() as conn:
            return conn.execute(
                "SELECT shipment_id, status, view, version, position FROM shipment_audit "
                "ORDER BY shipment_id"
            ).fetchall()

    incremental = model()
    worker = services.worker(services.projections[1], batch_size=5)
    rebuild(worker)
    assert model() == incremental
    # A fresh projection (no cached aggregates) replays shipments from the log.
    cold = ProjectionWorker(
        services.database,
        ResponsibilityProjection(services.app.mapper),
        services.app.mapper,
        batch_size=3,
    )
    rebuild(cold)
    assert model() == incremental


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_batch_size_does_not_change_the_model(services: Services, batch_size: int) -> None:
    register_parties(services)
    shipment, _, _ = seed_case(services)
    worker = ProjectionWorker(
        services.database,
        ResponsibilityProjection(services.app.mapper),
        services.app.mapper,
        batch_size=batch_size,
    )
    worker.catch_up()
    with services.reads.connection() as conn:
        view = get_responsibility(conn, shipment.id)
    assert view is not None
    assert view["version"] == shipment.version


def test_responsibility_a_partner_does_not_answer_in_time_counts_as_accepted(
    services: Services,
) -> None:
    register_parties(services)
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    incident = uuid4()
    shipment.report_incident(
        ctx(75),
        incident_id=incident,
        link_sequence=IMPORT_CUSTOMS,
        kind=IncidentKind.DAMAGE,
        description="10 cartons crushed, found at import customs",
        packages_affected=10,
    )
    shipment.assign_responsibility(
        ctx(76),
        incident_id=incident,
        link_sequence=AIR_CARRIAGE,
        basis=ResponsibilityBasis.HANDED_OVER_WITH_EXCEPTION,
        explanation="the airline handed the cartons over damaged",
    )
    services.app.save(shipment)
    catch_up(services)
    proposed = at(76)

    def deemed(now: Any, days: float = 7) -> list[dict[str, Any]]:
        with services.reads.connection() as conn:
            return findings(
                conn,
                now=now,
                unassigned_after=timedelta(hours=48),
                answer_within=timedelta(days=days),
                kind=FindingKind.RESPONSIBILITY_DEEMED_ACCEPTED,
            )

    # Within the days to answer: nothing yet; after them, it counts as accepted.
    assert deemed(proposed + timedelta(days=7)) == []
    (found,) = deemed(proposed + timedelta(days=7, seconds=1))
    assert (found["incident_id"], found["partner_id"]) == (incident, AIRLINE)
    assert found["since"] == proposed
    assert "counts as accepted" in found["detail"]
    assert deemed(proposed + timedelta(days=3), days=2) != []
    # The finding says what the domain says, at every moment around the deadline.
    for days, after in ((7, -1), (7, 0), (7, 1), (2, -1), (2, 1), (30, 1)):
        moment = proposed + timedelta(days=days, seconds=after)
        for within in (2, 7):
            assert (deemed(moment, within) != []) == shipment.deemed_accepted(
                incident, moment, timedelta(days=within)
            ), (days, after, within)
    # A late dispute is refused; an acceptance, even a late one, ends it.
    with pytest.raises(CommandRefused) as late:
        shipment.dispute_responsibility(ctx(24 * 20), incident_id=incident, reason="ULD intact")
    assert late.value.rule == "responsibility.answer_overdue"
    shipment.accept_responsibility(ctx(24 * 20), incident_id=incident, note="accepted late")
    services.app.save(shipment)
    catch_up(services)
    assert deemed(proposed + timedelta(days=30)) == []
