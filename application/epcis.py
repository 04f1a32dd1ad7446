"""A shipment's chain of custody as a GS1 EPCIS 2.0 JSON-LD document.

One ``ObjectEvent`` per handover, in the order custody passed:

* the shipper hands the goods to the first link: bizStep ``accepting``;
* each link hands them to the next: bizStep ``receiving``;
* the last link delivers them to the consignee: bizStep ``receiving``, with the proof of
  delivery as a business transaction.

The disposition follows the condition signed for: good → ``in_transit`` (``in_progress``
on delivery), damaged → ``damaged``, short → ``mismatch_quantity`` (CBV 2.0). The parties
are ``possessing_party`` sources and destinations. Our own data (link, function, mode,
liability regime and its limits, who signed, the incidents reported at the link) sits in
the ``fc:`` extension namespace.

Parties and the consignment carry no GS1 keys in this product, so they are identified
by HTTPS URIs under ``ID_BASE`` (a consignment the way a GS1 Digital Link would name it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.liability import TERMS
from domain.shipment import Condition, Handover, Link, Party, Shipment

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EXTENSION_NAMESPACE = "https://fullchain.example/epcis/ns#"
ID_BASE = "https://id.fullchain.example"

_DISPOSITION = {
    Condition.GOOD: "in_transit",
    Condition.DAMAGED: "damaged",
    Condition.SHORT: "mismatch_quantity",
}


def party_uri(party: Party) -> str:
    if party.branch:
        return f"{ID_BASE}/party/branch/{party.branch}"
    return f"{ID_BASE}/party/partner/{party.relationship_id}"


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _liability(link: Link) -> dict[str, Any]:
    terms = TERMS[link.regime]
    return {
        "fc:regime": link.regime.value,
        "fc:regimeTitle": terms.title,
        "fc:sdrPerKg": str(terms.sdr_per_kg),
        "fc:sdrPerPackage": str(terms.sdr_per_package) if terms.sdr_per_package else None,
        "fc:noticeDays": terms.notice_days,
        "fc:timeBarMonths": terms.time_bar_months,
    }


def _event(
    shipment: Shipment,
    handover: Handover,
    *,
    biz_step: str,
    source: str,
    destination: str,
    link: Link,
    delivery: bool,
) -> dict[str, Any]:
    disposition = _DISPOSITION[handover.condition]
    if delivery and handover.condition is Condition.GOOD:
        disposition = "in_progress"
    incidents = [
        {
            "fc:incidentId": str(i.incident_id),
            "fc:kind": i.kind.value,
            "fc:discoveredAt": _time(i.discovered_at),
            "fc:responsibilityStatus": i.responsibility_status.value,
            "fc:responsibleParty": party_uri(i.responsible.party) if i.responsible else None,
        }
        for i in shipment.incidents.values()
        if i.link_sequence == link.sequence
    ]
    transactions = [{"type": "bol", "bizTransaction": f"{ID_BASE}/order/{shipment.reference}"}]
    if handover.reference:
        kind = "pod" if delivery else "desadv"
        transactions.append(
            {"type": kind, "bizTransaction": f"{ID_BASE}/document/{handover.reference}"}
        )
    return {
        "type": "ObjectEvent",
        "eventTime": _time(handover.at),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"{ID_BASE}/consignment/{shipment.id}"],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": disposition,
        "bizTransactionList": transactions,
        "sourceList": [{"type": "possessing_party", "source": source}],
        "destinationList": [{"type": "possessing_party", "destination": destination}],
        "fc:linkSequence": link.sequence,
        "fc:linkFunction": link.function.value,
        "fc:mode": link.mode.value if link.mode else None,
        "fc:liability": _liability(link),
        "fc:condition": handover.condition.value,
        "fc:signedBy": handover.signed_by,
        "fc:remarks": handover.remarks,
        "fc:incidents": incidents,
    }


def custody_document(shipment: Shipment, *, created: datetime | None = None) -> dict[str, Any]:
    shipper = f"{ID_BASE}/party/customer/{shipment.customer_id}"
    consignee = f"{ID_BASE}/party/consignee/{shipment.destination}"
    events: list[dict[str, Any]] = []
    previous: Link | None = None
    for link in shipment.links:
        if link.received is not None:
            events.append(
                _event(
                    shipment,
                    link.received,
                    biz_step="accepting" if previous is None else "receiving",
                    source=shipper if previous is None else party_uri(previous.party),
                    destination=party_uri(link.party),
                    link=link,
                    delivery=False,
                )
            )
        previous = link
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
                delivery=True,
            )
        )
    return {
        "@context": [EPCIS_CONTEXT, {"fc": EXTENSION_NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created or datetime.now(UTC)),
        "epcisBody": {"eventList": events},
    }
