"""The chain of custody as EPCIS 2.0: one ObjectEvent per handover, parties chained, every
identifier a URI, CBV vocabularies, the read point's local offset, the event hash as the
eventID, and every export valid against the GS1 EPCIS 2.0 JSON Schema (format checks on)."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from jsonschema import Draft7Validator

from application.epcis import (
    ID_BASE,
    NAMESPACES,
    custody_document,
    offset_at,
    our_uri,
    party_uri,
)
from application.event_hash import event_hash
from application.places import zone_name_of
from domain.liability import TransportMode
from domain.shipment import Condition, IncidentKind, LinkFunction, Party, Shipment
from tests.domain.test_shipment import (
    AGENT,
    AIR_CARRIAGE,
    AIRLINE,
    DELIVERY,
    IMPORT_CUSTOMS,
    WAREHOUSING,
    book,
    ctx,
    delivered,
    plan,
    run_links,
)
from tests.epcis_schema import errors, schema_or_skip

SUZHOU_BRANCH = "Suzhou 苏州分公司"
#: "Suzhou 苏州分公司" in percent-encoded UTF-8: 苏 E8 8B 8F, 州 E5 B7 9E, 分 E5 88 86,
#: 公 E5 85 AC, 司 E5 8F B8.
SUZHOU_SEGMENT = "Suzhou%20%E8%8B%8F%E5%B7%9E%E5%88%86%E5%85%AC%E5%8F%B8"
CREATED = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema() -> Draft7Validator:
    return schema_or_skip()


def chain_with_documents(*, deliver_hours: float = 70) -> Shipment:
    """The seed case's chain run by our Suzhou branch: pickup and export customs by the
    branch, the airline's air waybill, damage found at import customs and reported, the
    airline's delay, the proof of delivery."""
    suzhou = Party.our_branch(SUZHOU_BRANCH)
    shipment = book(
        [
            plan(LinkFunction.PICKUP, suzhou, (0, 12), TransportMode.ROAD),
            plan(LinkFunction.EXPORT_CUSTOMS, suzhou, (12, 24)),
            plan(LinkFunction.MAIN_CARRIAGE, Party.partner(AIRLINE), (24, 48), TransportMode.AIR),
            plan(LinkFunction.IMPORT_CUSTOMS, Party.partner(AGENT), (48, 72)),
            plan(LinkFunction.DELIVERY, Party.partner(AGENT), (72, 96), TransportMode.ROAD),
        ]
    )
    references = {1: "CMR 2025-0303", AIR_CARRIAGE: "AWB 999-53829639", 4: "入库单 0304"}
    for sequence in range(1, 6):
        hour = 10 * sequence
        if sequence > 1:
            shipment.complete_link(ctx(hour), sequence=sequence - 1)
        shipment.start_link(ctx(hour), sequence=sequence)
        if sequence == AIR_CARRIAGE:
            shipment.report_delay(
                ctx(hour + 2), sequence=sequence, estimated_end=ctx(60).occurred_at,
                reason="flight offloaded at PVG",
            )  # fmt: skip
        shipment.hand_over(
            ctx(hour + 1),
            to_sequence=sequence,
            condition=Condition.DAMAGED if sequence == 4 else Condition.GOOD,
            signed_by=f"receiver of link {sequence}",
            reference=references.get(sequence),
            packages_affected=6 if sequence == 4 else None,
        )
    shipment.report_incident(
        ctx(42),
        incident_id=UUID("00000000-0000-4000-8000-0000000001c1"),
        link_sequence=4,
        kind=IncidentKind.DAMAGE,
        description="6 cartons crushed",
        packages_affected=6,
        weight_affected_kg=Decimal("90"),
    )
    shipment.deliver(
        ctx(deliver_hours),
        condition=Condition.GOOD,
        signed_by="J. Miller, receiving",
        proof_of_delivery="POD Chicago, IL, US #1",
    )
    return shipment


def test_every_handover_is_an_object_event_from_holder_to_holder() -> None:
    shipment = delivered({IMPORT_CUSTOMS: Condition.DAMAGED})
    document = custody_document(shipment, created=CREATED)
    json.dumps(document)  # plain JSON
    assert document["@context"] == [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"fc": "https://fullchain.example/epcis/ns#"},
    ]
    assert document["type"] == "EPCISDocument"
    assert document["schemaVersion"] == "2.0"
    assert document["creationDate"] == "2025-03-12T09:00:00Z"
    events = document["epcisBody"]["eventList"]
    assert len(events) == 7  # six links received the goods, then the consignee
    assert [e["bizStep"] for e in events] == ["accepting"] + ["receiving"] * 6
    for before, after in itertools.pairwise(events):
        assert before["destinationList"][0]["destination"] == after["sourceList"][0]["source"]
        assert before["eventTime"] <= after["eventTime"]
    assert events[3]["disposition"] == "damaged"
    assert "fc:condition" not in events[3]  # the disposition says it
    assert events[2]["destinationList"][0]["destination"] == party_uri(Party.partner(AIRLINE))
    assert events[2]["fc:liability"]["fc:regime"] == "montreal"
    assert events[2]["fc:liability"]["fc:sdrPerKg"] == "26"
    assert events[-1]["disposition"] == "in_progress"
    assert events[-1]["destinationList"][0]["destination"] == (
        f"{ID_BASE}/shipment/{shipment.id}/consignee"
    )
    assert {e["type"] for e in events} == {"ObjectEvent"}
    assert all(e["sourceList"][0]["type"] == "possessing_party" for e in events)
    assert events[0]["sourceList"][0]["source"] == (
        f"{ID_BASE}/party/customer/00000000-0000-4000-8000-00000000c001"
    )


def test_a_shipment_in_transit_shows_the_handovers_so_far() -> None:
    shipment = book()
    run_links(shipment, 3, {2: Condition.SHORT})
    events = custody_document(shipment, created=CREATED)["epcisBody"]["eventList"]
    assert len(events) == 3
    assert events[1]["disposition"] == "mismatch_quantity"


def test_identifiers_are_percent_encoded_uris_of_ours() -> None:
    assert party_uri(Party.our_branch(SUZHOU_BRANCH)) == (
        f"https://id.fullchain.example/party/branch/{SUZHOU_SEGMENT}"
    )
    assert our_uri("place", "Chicago, IL, US") == (
        "https://id.fullchain.example/place/Chicago%2C%20IL%2C%20US"
    )
    shipment = chain_with_documents()
    events = custody_document(shipment, created=CREATED)["epcisBody"]["eventList"]
    assert events[1]["sourceList"][0]["source"] == (
        f"https://id.fullchain.example/party/branch/{SUZHOU_SEGMENT}"
    )
    sid = shipment.id
    # The shipment's reference is our bill of lading for the whole carriage.
    order = {"type": "bol", "bizTransaction": f"{ID_BASE}/order/SZX-ORD-2025-0303"}

    def signed(kind: str, segment: str) -> list[dict[str, str]]:
        document = f"{ID_BASE}/shipment/{sid}/document/{segment}"
        return [order, {"type": kind, "bizTransaction": document}]

    assert [e["bizTransactionList"] for e in events] == [
        # The truck's consignment note, taken at the pickup: a transport document.
        signed("bol", "CMR%202025-0303"),
        [order],
        # The airline's air waybill: a bill of lading (CBV has no air waybill of its own).
        signed("bol", "AWB%20999-53829639"),
        # The warehouse receipt at import customs (入库单 0304): the carrier's despatch advice.
        signed("desadv", "%E5%85%A5%E5%BA%93%E5%8D%95%200304"),
        [order],
        # The proof of delivery: the consignee's receiving advice.
        signed("recadv", "POD%20Chicago%2C%20IL%2C%20US%20%231"),
    ]
    assert events[3]["fc:incidents"] == [
        {
            "fc:incidentId": "00000000-0000-4000-8000-0000000001c1",
            "fc:kind": "damage",
            "fc:discoveredAt": "2025-03-04T18:00:00Z",
            "fc:responsibilityStatus": "unassigned",
        }
    ]


def test_the_offset_is_the_read_points_local_one_at_the_event_time() -> None:
    """Suzhou keeps +08:00 all year; Chicago is -06:00 in winter and -05:00 from the second
    Sunday of March (9 March 2025, 02:00 local) to the first Sunday of November."""
    assert (
        offset_at("Suzhou Industrial Park, CN", datetime(2025, 1, 15, 12, tzinfo=UTC)) == "+08:00"
    )
    assert (
        offset_at("Suzhou Industrial Park, CN", datetime(2025, 7, 15, 12, tzinfo=UTC)) == "+08:00"
    )
    assert offset_at("Chicago, IL, US", datetime(2025, 1, 15, 12, tzinfo=UTC)) == "-06:00"
    assert offset_at("Chicago, IL, US", datetime(2025, 7, 15, 12, tzinfo=UTC)) == "-05:00"
    # 07:59 UTC is 01:59 CST, the last minute of winter time; 08:00 UTC is 03:00 CDT.
    assert offset_at("Chicago, IL, US", datetime(2025, 3, 9, 7, 59, tzinfo=UTC)) == "-06:00"
    assert offset_at("Chicago, IL, US", datetime(2025, 3, 9, 8, 0, tzinfo=UTC)) == "-05:00"
    assert offset_at("Hamburg, DE", datetime(2025, 7, 15, 12, tzinfo=UTC)) == "+02:00"
    assert offset_at("Bao'an, Shenzhen, CN", datetime(2025, 7, 15, 12, tzinfo=UTC)) == "+08:00"
    assert offset_at("Atlantis", datetime(2025, 7, 15, 12, tzinfo=UTC)) == "+00:00"  # unknown


def test_a_place_has_the_zone_of_its_country_or_state() -> None:
    assert zone_name_of("Suzhou Industrial Park, CN") == "Asia/Shanghai"
    assert zone_name_of("Bao'an, Shenzhen, CN") == "Asia/Shanghai"
    assert zone_name_of("Elk Grove Village, IL, US") == "America/Chicago"
    assert zone_name_of("Boston Logan, MA, US") == "America/New_York"
    assert zone_name_of("Long Beach, ca, us") == "America/Los_Angeles"
    assert zone_name_of("Rotterdam, NL") == "Europe/Amsterdam"
    assert zone_name_of("Springfield, US") is None  # which state?
    assert zone_name_of("Springfield, ZZ, US") is None
    assert zone_name_of("Nowhere, ZZ") is None
    assert zone_name_of("Atlantis") is None


def test_each_handover_is_read_at_the_origin_until_the_main_carriage_delivers() -> None:
    """Pickup, export customs and the airline's receipt happen in Suzhou; import customs and
    the delivery in Chicago: in winter (delivered 5 March) and in summer time (delivered
    11 March, after the change of 9 March)."""
    winter = custody_document(chain_with_documents(deliver_hours=70), created=CREATED)
    summer = custody_document(chain_with_documents(deliver_hours=200), created=CREATED)
    suzhou = f"{ID_BASE}/place/Suzhou%20Industrial%20Park%2C%20CN"
    chicago = f"{ID_BASE}/place/Chicago%2C%20IL%2C%20US"
    events = winter["epcisBody"]["eventList"]
    assert [e["readPoint"]["id"] for e in events] == [suzhou] * 3 + [chicago] * 3
    assert [e["eventTimeZoneOffset"] for e in events] == ["+08:00"] * 3 + ["-06:00"] * 3
    assert events[-1]["eventTime"] == "2025-03-05T22:00:00Z"
    events = summer["epcisBody"]["eventList"]
    assert [e["eventTimeZoneOffset"] for e in events] == ["+08:00"] * 3 + ["-06:00"] * 2 + [
        "-05:00"
    ]
    assert events[-1]["eventTime"] == "2025-03-11T08:00:00Z"


def test_each_event_carries_its_event_hash_as_its_id() -> None:
    shipment = chain_with_documents()
    events = custody_document(shipment, created=CREATED)["epcisBody"]["eventList"]
    for event in events:
        assert event["eventID"].startswith("ni:///sha-256;")
        assert event["eventID"].endswith("?ver=CBV2.0")
        unhashed = {name: value for name, value in event.items() if name != "eventID"}
        assert event["eventID"] == event_hash(unhashed, NAMESPACES)
    assert len({e["eventID"] for e in events}) == len(events)
    # The same shipment exported again, at another time, names the same events.
    again = custody_document(shipment, created=datetime(2026, 1, 1, tzinfo=UTC))
    assert [e["eventID"] for e in again["epcisBody"]["eventList"]] == [e["eventID"] for e in events]


def test_every_export_validates_against_the_epcis_2_schema(schema: Draft7Validator) -> None:
    in_transit = book()
    run_links(in_transit, 3, {2: Condition.SHORT})
    exports = {
        "seed case, damaged at import": delivered({IMPORT_CUSTOMS: Condition.DAMAGED}),
        "damaged at the warehouse, short on delivery": delivered(
            {WAREHOUSING: Condition.DAMAGED, DELIVERY: Condition.SHORT}
        ),
        "documents, an incident and a delay, delivered in summer time": chain_with_documents(
            deliver_hours=200
        ),
        "in transit, short at export customs": in_transit,
        "booked, nothing handed over": book(),
    }
    for story, shipment in exports.items():
        document = custody_document(shipment, created=CREATED)
        assert errors(schema, document) == [], story


def test_the_schema_refuses_an_identifier_that_is_not_a_uri(schema: Draft7Validator) -> None:
    """The schema with its format checks can fail: the branch named as it was before."""
    document = custody_document(chain_with_documents(), created=CREATED)
    broken = copy.deepcopy(document)
    broken["epcisBody"]["eventList"][1]["sourceList"][0]["source"] = (
        "https://id.fullchain.example/party/branch/Suzhou 苏州分公司"
    )
    assert errors(schema, broken) == [
        "epcisBody/eventList/1/sourceList/0/source: "
        "'https://id.fullchain.example/party/branch/Suzhou 苏州分公司' is not a 'uri'"
    ]
    late = copy.deepcopy(document)
    late["creationDate"] = "2025-03-32T09:00:00Z"
    assert errors(schema, late) == ["creationDate: '2025-03-32T09:00:00Z' is not a 'date-time'"]
    pod = copy.deepcopy(document)
    pod["epcisBody"]["eventList"][-1]["bizTransactionList"][1]["type"] = "pod"
    assert errors(schema, pod) != []
