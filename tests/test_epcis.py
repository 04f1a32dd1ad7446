"""The chain of custody as EPCIS 2.0: one ObjectEvent per handover, parties chained."""

from __future__ import annotations

import itertools
import json

from application.epcis import custody_document, party_uri
from domain.shipment import Condition, Party
from tests.domain.test_shipment import AIRLINE, IMPORT_CUSTOMS, book, delivered, run_links


def test_every_handover_is_an_object_event_from_holder_to_holder() -> None:
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    document = custody_document(shipment)
    json.dumps(document)  # plain JSON
    assert document["type"] == "EPCISDocument"
    assert document["schemaVersion"] == "2.0"
    events = document["epcisBody"]["eventList"]
    assert len(events) == 7  # six links received the goods, then the consignee
    assert [e["bizStep"] for e in events] == ["accepting"] + ["receiving"] * 6
    for before, after in itertools.pairwise(events):
        assert before["destinationList"][0]["destination"] == after["sourceList"][0]["source"]
        assert before["eventTime"] <= after["eventTime"]
    assert events[3]["disposition"] == "damaged"
    assert events[3]["fc:condition"] == "damaged"
    assert events[2]["destinationList"][0]["destination"] == party_uri(Party.partner(AIRLINE))
    assert events[2]["fc:liability"]["fc:regime"] == "montreal"
    assert events[2]["fc:liability"]["fc:sdrPerKg"] == "26"
    assert events[-1]["disposition"] == "in_progress"
    assert {e["type"] for e in events} == {"ObjectEvent"}
    assert all(e["sourceList"][0]["type"] == "possessing_party" for e in events)


def test_a_shipment_in_transit_shows_the_handovers_so_far() -> None:
    shipment = book()
    run_links(shipment, 3, {2: Condition.SHORT})
    events = custody_document(shipment)["epcisBody"]["eventList"]
    assert len(events) == 3
    assert events[1]["disposition"] == "mismatch_quantity"
