"""The EPCIS event hash against the examples the GS1 algorithm's reference implementation
publishes with their expected hashes: github.com/RalphTro/epcis-event-hash-generator,
commit 5d2f1c389a1599af40fe1b530b62e0ca59ab818f, tests/examples/<name>.jsonld with
<name>.hashes and <name>.prehashes.

Those examples write GS1 keys as EPC URNs, which the algorithm canonicalises to GS1
Digital Link URIs (their .prehashes files show the result). Here each event is the
published one with its keys already written in that Digital Link form, which is the same
event and must hash the same."""

from __future__ import annotations

from typing import Any

import pytest

from application.event_hash import event_hash, pre_hash

EXAMPLE_NS = {"example": "https://ns.example.com/epcis/"}

# epcisDocWithShippingAndTransportingEvent.jsonld, first event.
DEPARTING: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2022-02-16T12:50:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["https://id.gs1.org/00/140123451122233341"],
    "action": "OBSERVE",
    "bizStep": "departing",
    "readPoint": {"id": "https://id.gs1.org/414/4012345000221"},
    "bizTransactionList": [
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN1099"}
    ],
    "sourceList": [{"type": "possessing_party", "source": "https://id.gs1.org/417/4012345000009"}],
    "destinationList": [
        {"type": "possessing_party", "destination": "https://id.gs1.org/417/4023333000000"}
    ],
}

# epcisDocWithShippingAndTransportingEvent.jsonld, second event.
TRANSPORTING: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2022-02-16T16:50:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["https://id.gs1.org/00/140123451122233341"],
    "action": "OBSERVE",
    "bizStep": "transporting",
    "readPoint": {"id": "geo:47.506694,11.104301"},
}

# epcisDocWithSingleEvent.jsonld: keys out of the canonical order, eventTime to the
# microsecond in Chicago time.
SINGLE: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "epcList": [
        "https://id.gs1.org/01/10614141073464/21/2017",
        "https://id.gs1.org/01/10614141073464/21/2018",
    ],
    "eventTime": "2022-02-16T20:33:31.116000-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "https://id.gs1.org/414/0614141073467/254/1234"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}
    ],
}

# epcisDocWithCustomSchemaInContext.jsonld, first event: a user extension.
WITH_EXTENSION: dict[str, Any] = {**SINGLE, "example:myField": "myValue"}
WITH_EXTENSION["eventTime"] = "2022-02-15T01:33:31.116000-06:00"

# epcisDocWithCustomSchemaInContext.jsonld, second event: two business transactions, a
# business location. Its GLNs (company prefix 0012345, location 11111) with their check
# digit 2: 001234511111 weighs 0+0+1+6+3+12+5+3+1+3+1+3 = 38, and 10 - 8 = 2.
TWO_TRANSACTIONS: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "bizStep": "receiving",
    "disposition": "in_progress",
    "epcList": ["https://id.gs1.org/01/10614141073464/21/2018"],
    "eventTime": "2022-02-15T01:33:31.116-06:00",
    "eventTimeZoneOffset": "-06:00",
    "readPoint": {"id": "https://id.gs1.org/414/0012345111112/254/400"},
    "bizLocation": {"id": "https://id.gs1.org/414/0012345111112"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"},
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"},
    ],
    "example:myField2": "myValue2",
}

# ReferenceEventHashAlgorithm.jsonld: nested user extensions, EPCs out of order, a
# recordTime the hash leaves out.
REFERENCE: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2020-03-04T11:00:30.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "recordTime": "2020-03-04T11:00:30.999+01:00",
    "epcList": [
        "https://id.gs1.org/00/040123450000003338",
        "https://id.gs1.org/00/040123450000001112",
        "https://id.gs1.org/00/040123450000002225",
    ],
    "action": "OBSERVE",
    "bizStep": "departing",
    "readPoint": {"id": "https://id.gs1.org/414/4012345000115/254/987"},
    "example:myField1": {"example:mySubField1": "2", "example:mySubField2": "5"},
    "example:myField2": "0",
    "example:myField3": {"example:mySubField3": ["3", "1"]},
}

# epcisDocHavingEventWithIgnoreFields.jsonld, second event: eventID and recordTime are
# not hashed; its keys are Digital Link URIs as published.
INSPECTING: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2019-10-21T14:45:00Z",
    "recordTime": "2023-06-02T07:03:16.073Z",
    "eventTimeZoneOffset": "+01:00",
    "eventID": "ni:///sha-256;b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d?ver=CBV2.0",
    "epcList": ["https://id.gs1.org/00/040123451111111127"],
    "action": "OBSERVE",
    "bizStep": "inspecting",
    "disposition": "in_progress",
    "readPoint": {"id": "https://id.gs1.org/414/4012345000245/254/1"},
}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (DEPARTING, "7a82a68b0f9c78bebb1c729d950edbf1fd40c56f3351906020d2d67d5dffbc72"),
        (TRANSPORTING, "1d2ec4174d8f0b5988a44795b31a636e8bc7f88ebc4bdc0d35c14f215a842e80"),
        (SINGLE, "ffa491b16867e34a7791a8d5389d826afc24e63a121026b6a4004ace38631b4b"),
        (WITH_EXTENSION, "21dd1a31d0f157e383537b622583411b57f181f4bdec078ca8cce09f8f08d03a"),
        (TWO_TRANSACTIONS, "d21abb0ead338a45eb866683e402e3c94fcf8fb80904160e476d3213c64ce41e"),
        (REFERENCE, "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7"),
        (INSPECTING, "b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d"),
    ],
    ids=[
        "departing",
        "transporting",
        "single",
        "extension",
        "two-transactions",
        "reference",
        "inspecting",
    ],
)
def test_the_published_examples_hash_as_published(event: dict[str, Any], expected: str) -> None:
    assert event_hash(event, EXAMPLE_NS) == f"ni:///sha-256;{expected}?ver=CBV2.0"


def test_the_pre_hash_string_is_the_published_one() -> None:
    """epcisDocWithShippingAndTransportingEvent.prehashes, first line: the source and
    destination lists, outside the ordered fields, follow in lexical order."""
    assert pre_hash(DEPARTING, EXAMPLE_NS) == (
        "eventType=ObjectEventeventTime=2022-02-16T11:50:00.000ZeventTimeZoneOffset=+01:00"
        "epcListepc=https://id.gs1.org/00/140123451122233341action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-departing"
        "readPointid=https://id.gs1.org/414/4012345000221"
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-desadv"
        "bizTransaction=urn:epcglobal:cbv:bt:4012345000009:ASN1099"
        "destinationListtype=https://ref.gs1.org/cbv/SDT-possessing_party"
        "destination=https://id.gs1.org/417/4023333000000"
        "sourceListtype=https://ref.gs1.org/cbv/SDT-possessing_party"
        "source=https://id.gs1.org/417/4012345000009"
    )


def test_the_same_event_spelled_otherwise_hashes_the_same() -> None:
    """CBV URNs for bare terms, another time zone for the same instant, keys reordered."""
    respelled = dict(reversed(list(DEPARTING.items())))
    respelled["bizStep"] = "urn:epcglobal:cbv:bizstep:departing"
    respelled["eventTime"] = "2022-02-16T19:50:00+08:00"
    respelled["bizTransactionList"] = [
        {
            "type": "urn:epcglobal:cbv:btt:desadv",
            "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN1099",
        }
    ]
    assert event_hash(respelled, EXAMPLE_NS) == event_hash(DEPARTING, EXAMPLE_NS)
    assert event_hash({**DEPARTING, "bizStep": "arriving"}, EXAMPLE_NS) != event_hash(
        DEPARTING, EXAMPLE_NS
    )


def test_fields_it_does_not_canonicalise_are_refused() -> None:
    with pytest.raises(ValueError, match="quantityList"):
        event_hash({**TRANSPORTING, "quantityList": []}, EXAMPLE_NS)
