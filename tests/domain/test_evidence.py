"""Evidence attached to a shipment's incidents, claims and handovers and to a
relationship's interactions: what the event records, and when it is refused."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.base import CommandRefused, InvalidValue, UnknownMember
from domain.evidence import EvidenceTarget
from domain.relationship import Channel, Direction, Relationship
from domain.shipment import Shipment
from tests.domain.test_relationship import register
from tests.domain.test_shipment import book, ctx, delivered, mapper, refused, report, run_links

SHA = "a" * 64


def attach(shipment: Shipment, target: EvidenceTarget, target_id: object, **kw: object) -> None:
    fields: dict[str, object] = {
        "sha256": SHA,
        "size": 1200,
        "media_type": "image/png",
        "file_name": "cartons.png",
    } | kw
    shipment.attach_evidence(ctx(200), target=target, target_id=str(target_id), **fields)  # type: ignore[arg-type]


def test_the_event_records_the_file_its_target_and_who_attached_it() -> None:
    shipment = delivered()
    incident = report(shipment, 120, 3)
    attach(shipment, EvidenceTarget.INCIDENT, incident, file_name="  cartons.png ")
    attach(shipment, EvidenceTarget.HANDOVER, 7, media_type="image/tiff", file_name="pod.tif")
    first, pod = shipment.collect_events()[-2:]
    assert isinstance(first, Shipment.EvidenceAttached)
    assert (first.target, first.target_id, first.sha256, first.size) == (
        "incident", str(incident), SHA, 1200,
    )  # fmt: skip
    assert (first.media_type, first.file_name, first.actor) == (
        "image/png",
        "cartons.png",
        "ops.wang",
    )
    assert isinstance(pod, Shipment.EvidenceAttached)
    assert (pod.target, pod.target_id) == ("handover", "7")
    # Stored and read back as it was.
    again = mapper().to_domain_event(mapper().to_stored_event(first))
    assert isinstance(again, Shipment.EvidenceAttached)
    assert again.sha256 == SHA


def test_evidence_is_refused_on_what_was_decided_or_has_not_happened() -> None:
    shipment = delivered()
    incident = report(shipment, 120, 3)
    claim = uuid4()
    shipment.file_claim(
        ctx(121), claim_id=claim, incident_id=incident, amount=Decimal("100"), currency="USD"
    )
    shipment.close_claim(ctx(122), claim_id=claim, note="settled")
    with refused("claim.closed", unchanged=shipment):
        attach(shipment, EvidenceTarget.CLAIM, claim)
    shipment.resolve_incident(ctx(123), incident_id=incident, resolution="repaired")
    with refused("incident.resolved", unchanged=shipment):
        attach(shipment, EvidenceTarget.INCIDENT, incident)
    with refused("incident.unknown", UnknownMember, shipment):
        attach(shipment, EvidenceTarget.INCIDENT, uuid4())
    with refused("claim.unknown", UnknownMember, shipment):
        attach(shipment, EvidenceTarget.CLAIM, uuid4())
    with refused("handover.unknown", UnknownMember, shipment):
        attach(shipment, EvidenceTarget.HANDOVER, 8)
    on_the_way = book()
    run_links(on_the_way, 2)
    attach(on_the_way, EvidenceTarget.HANDOVER, 2)
    with refused("handover.not_yet", CommandRefused, on_the_way):
        attach(on_the_way, EvidenceTarget.HANDOVER, 4)
    with refused("evidence.target", InvalidValue, on_the_way):
        attach(on_the_way, EvidenceTarget.INTERACTION, uuid4())


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"sha256": "not-a-hash"}, "evidence.sha256"),
        ({"sha256": SHA.upper()}, "evidence.sha256"),
        ({"size": 0}, "evidence.empty"),
        ({"media_type": "image/gif"}, "evidence.media_type"),
        ({"file_name": "   "}, "file_name.required"),
    ],
)
def test_a_file_that_cannot_be_evidence_is_invalid(fields: dict[str, object], rule: str) -> None:
    shipment = delivered()
    with refused(rule, InvalidValue, shipment):
        attach(shipment, EvidenceTarget.HANDOVER, 1, **fields)


def test_an_interaction_gets_evidence_once_it_is_logged() -> None:
    relationship = register()
    interaction = uuid4()
    with pytest.raises(UnknownMember):
        relationship.attach_evidence(
            ctx(1), interaction_id=interaction, sha256=SHA, size=10, media_type="application/pdf",
            file_name="minutes.pdf",
        )  # fmt: skip
    relationship.log_interaction(
        ctx(1), interaction_id=interaction, channel=Channel.VISIT, direction=Direction.OUTBOUND,
        summary="visited",
    )  # fmt: skip
    relationship.attach_evidence(
        ctx(1), interaction_id=interaction, sha256=SHA, size=10, media_type="application/pdf",
        file_name="minutes.pdf",
    )  # fmt: skip
    event = relationship.collect_events()[-1]
    assert isinstance(event, Relationship.EvidenceAttached)
    assert (event.target, event.target_id) == ("interaction", str(interaction))
