"""A shipment's chain of custody as a GS1 EPCIS 2.0 JSON-LD document.

One ``ObjectEvent`` per handover, in the order custody passed:

* the shipper hands the goods to the first link: bizStep ``accepting``;
* each link hands them to the next: bizStep ``receiving``;
* the last link delivers them to the consignee: bizStep ``receiving``.

The disposition is the condition signed for: good → ``in_transit`` (``in_progress`` on
delivery), damaged → ``damaged``, short → ``mismatch_quantity`` (CBV 2.0); the condition is
not repeated as an extension, so that no extension value spells a CBV term of the event
(the event hash's reference implementation would read it as that term). The parties are
``possessing_party`` sources and destinations. Our own data (link, function, mode,
liability regime and its limits, who signed, the incidents reported at the link) sits in
the ``fc:`` extension namespace; a field we have no value for is left out.

**Identifiers.** Parties, the consignment and our documents carry no GS1 keys in this
product (no GS1 company prefix, so no SSCC, GLN or PGLN), so each is an HTTPS URI under
``ID_BASE`` whose path segments are percent-encoded UTF-8 (RFC 3986): our Suzhou branch is
``…/party/branch/Suzhou%20%E8%8B%8F%E5%B7%9E%E5%88%86%E5%85%AC%E5%8F%B8``. The consignee,
known only by the shipment's destination, is ``…/shipment/<id>/consignee``; a document
signed at a handover is ``…/shipment/<id>/document/<reference>``.

**Business transactions** (CBV ``BTT``): the shipment's own reference is our bill of
lading for the whole carriage (``bol``); the reference signed at a handover is the
carrier's transport document (air waybill, bill of lading, CMR note: ``bol``) when a link
with a mode of transport receives the goods, the despatch advice of the party handing
them over (``desadv``) when any other link does, and the proof of delivery, the
consignee's receipt of the goods, is a receiving advice (``recadv``).

**Read point and time zone.** A handover happens at the shipment's origin until the main
carriage has received the goods, and at its destination from the main carriage's
delivery on (with no main carriage, every handover but the delivery is at the origin).
The read point is that place (``…/place/<place>``), and ``eventTimeZoneOffset`` is the
place's UTC offset at the moment of the handover, daylight saving time included, from
``application.places`` (a place it does not know reads as ``+00:00``).

**eventID** is the event's GS1 event hash (``application.event_hash``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from application.event_hash import event_hash
from application.places import time_zone_of
from domain.liability import TERMS
from domain.shipment import Condition, Handover, Link, LinkFunction, Party, Shipment

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EXTENSION_NAMESPACE = "https://fullchain.example/epcis/ns#"
NAMESPACES = {"fc": EXTENSION_NAMESPACE}
ID_BASE = "https://id.fullchain.example"
#: The media type the export is served as (JSON-LD, EPCIS 2.0 section 12).
MEDIA_TYPE = "application/ld+json"

_DISPOSITION = {
    Condition.GOOD: "in_transit",
    Condition.DAMAGED: "damaged",
    Condition.SHORT: "mismatch_quantity",
}


def our_uri(*segments: object) -> str:
    """An identifier of ours: ``ID_BASE`` and the segments, each percent-encoded UTF-8."""
    return "/".join([ID_BASE, *(quote(str(segment), safe="") for segment in segments)])


def party_uri(party: Party) -> str:
    if party.branch:
        return our_uri("party", "branch", party.branch)
    return our_uri("party", "partner", party.relationship_id)


def place_uri(place: str) -> str:
    return our_uri("place", place)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def offset_at(place: str, moment: datetime) -> str:
    """The UTC offset of ``place`` at ``moment``, as EPCIS writes it (``+08:00``)."""
    zone = time_zone_of(place)
    offset = moment.astimezone(zone).utcoffset() if zone else None
    minutes = int((offset or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _liability(link: Link) -> dict[str, Any]:
    terms = TERMS[link.regime]
    return _present(
        {
            "fc:regime": link.regime.value,
            "fc:regimeTitle": terms.title,
            "fc:sdrPerKg": str(terms.sdr_per_kg),
            "fc:sdrPerPackage": str(terms.sdr_per_package) if terms.sdr_per_package else None,
            "fc:noticeDays": terms.notice_days,
            "fc:timeBarMonths": terms.time_bar_months,
        }
    )


def _main_carriage(shipment: Shipment) -> int | None:
    """The sequence of the link that carries the goods from origin to destination."""
    return next(
        (k.sequence for k in shipment.links if k.function is LinkFunction.MAIN_CARRIAGE), None
    )


def _event(
    shipment: Shipment,
    handover: Handover,
    *,
    biz_step: str,
    source: str,
    destination: str,
    link: Link,
    place: str,
    delivery: bool,
) -> dict[str, Any]:
    disposition = _DISPOSITION[handover.condition]
    if delivery and handover.condition is Condition.GOOD:
        disposition = "in_progress"
    incidents = [
        _present(
            {
                "fc:incidentId": str(i.incident_id),
                "fc:kind": i.kind.value,
                "fc:discoveredAt": _time(i.discovered_at),
                "fc:responsibilityStatus": i.responsibility_status.value,
                "fc:responsibleParty": party_uri(i.responsible.party) if i.responsible else None,
            }
        )
        for i in shipment.incidents.values()
        if i.link_sequence == link.sequence
    ]
    transactions = [{"type": "bol", "bizTransaction": our_uri("order", shipment.reference)}]
    if handover.reference:
        kind = "recadv" if delivery else "bol" if link.mode is not None else "desadv"
        document = our_uri("shipment", shipment.id, "document", handover.reference)
        transactions.append({"type": kind, "bizTransaction": document})
    event = {
        "type": "ObjectEvent",
        "eventTime": _time(handover.at),
        "eventTimeZoneOffset": offset_at(place, handover.at),
        "epcList": [our_uri("consignment", shipment.id)],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": disposition,
        "readPoint": {"id": place_uri(place)},
        "bizTransactionList": transactions,
        "sourceList": [{"type": "possessing_party", "source": source}],
        "destinationList": [{"type": "possessing_party", "destination": destination}],
        **_present(
            {
                "fc:linkSequence": link.sequence,
                "fc:linkFunction": link.function.value,
                "fc:mode": link.mode.value if link.mode else None,
                "fc:liability": _liability(link),
                "fc:signedBy": handover.signed_by,
                "fc:remarks": handover.remarks,
                "fc:incidents": incidents or None,
            }
        ),
    }
    return {"type": "ObjectEvent", "eventID": event_hash(event, NAMESPACES), **event}


def custody_document(shipment: Shipment, *, created: datetime | None = None) -> dict[str, Any]:
    shipper = our_uri("party", "customer", shipment.customer_id)
    consignee = our_uri("shipment", shipment.id, "consignee")
    crossing = _main_carriage(shipment)
    events: list[dict[str, Any]] = []
    previous: Link | None = None
    for link in shipment.links:
        if link.received is not None:
            at_origin = crossing is None or link.sequence <= crossing
            events.append(
                _event(
                    shipment,
                    link.received,
                    biz_step="accepting" if previous is None else "receiving",
                    source=shipper if previous is None else party_uri(previous.party),
                    destination=party_uri(link.party),
                    link=link,
                    place=shipment.origin if at_origin else shipment.destination,
                    delivery=False,
                )
            )
            previous = link  # a link that never holds the goods hands nothing over
    last = shipment.links[-1]
    if shipment.delivered_at is not None and last.released is not None:
        events.append(
            _event(
                shipment,
                last.released,
                biz_step="receiving",
                source=party_uri(last.party),
                destination=consignee,
                link=last,
                place=shipment.destination,
                delivery=True,
            )
        )
    return {
        "@context": [EPCIS_CONTEXT, NAMESPACES],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created or datetime.now(UTC)),
        "epcisBody": {"eventList": events},
    }
