"""The EPCIS event hash: an event's ``eventID`` as GS1 CBV 2.0 (section 8.9) defines it.

The event is written as a canonical pre-hash string, hashed with SHA-256 and named as
``ni:///sha-256;<hex>?ver=CBV2.0``. Two captures of the same event, whatever their key
order, time zone or vocabulary spelling, get the same id. The canonical form follows the
GS1 algorithm and its reference implementation (github.com/RalphTro/epcis-event-hash-
generator, whose published examples tests/test_event_hash.py checks):

* ``eventType=<type>`` first, then the standard fields in the algorithm's order (eventTime,
  eventTimeZoneOffset, parentID, the EPC lists, action, transformationID, bizStep,
  disposition, readPoint, bizLocation), each as ``name=value``, list members each as
  ``member=value`` in lexical order, a nested field as its name followed by its members;
* eventTime in UTC at millisecond precision, ``Z``-suffixed;
* CBV terms as their web URIs (bare ``receiving`` and ``urn:epcglobal:cbv:bizstep:receiving``
  both become ``https://ref.gs1.org/cbv/BizStep-receiving``), numbers without leading or
  trailing zeros;
* then every other field, in lexical order of the written strings: bizTransactionList,
  sourceList and destinationList as their name followed by each member (``type=…`` then
  its value, members in lexical order); user extensions with their prefix expanded to
  ``{namespace}name``, members of an object in lexical order, a list as its name repeated
  for each item. recordTime, eventID and errorDeclaration are left out, and so are null
  values.

The reference implementation also reads a bare extension value that spells a CBV term used
elsewhere in the document (``damaged``) as that term; the algorithm does not, and neither
does this module, so an export avoids such values (see ``application.epcis``).

Identifiers are hashed as written: GS1 keys must already be GS1 Digital Link URIs on
id.gs1.org (the algorithm's canonical form). The export carries no GS1 keys, and this
module refuses fields it does not canonicalise (quantity and sensor lists, ILMD,
certification, persistent disposition) rather than hash them wrongly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

#: The standard fields hashed first, in this order, and whether each is a list of EPCs.
_ORDERED: tuple[tuple[str, str | None], ...] = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("parentID", None),
    ("epcList", "epc"),
    ("inputEPCList", "epc"),
    ("childEPCs", "epc"),
    ("outputEPCList", "epc"),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("readPoint", None),
    ("bizLocation", None),
)
_IGNORED = frozenset({"type", "eventID", "recordTime", "errorDeclaration"})
_REFUSED = frozenset(
    {
        "quantityList",
        "childQuantityList",
        "inputQuantityList",
        "outputQuantityList",
        "sensorElementList",
        "ilmd",
        "certificationInfo",
        "persistentDisposition",
    }
)

_CBV_WEB = "https://ref.gs1.org/cbv/"
_URN_TO_WEB = (
    ("urn:epcglobal:cbv:bizstep:", _CBV_WEB + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV_WEB + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV_WEB + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV_WEB + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV_WEB + "ER-"),
)
#: Where a bare CBV term stands, and the vocabulary it belongs to.
_BARE_TERM = {"bizStep": "BizStep-", "disposition": "Disp-"}
_BARE_TYPE = {"bizTransactionList": "BTT-", "sourceList": "SDT-", "destinationList": "SDT-"}


def event_hash(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The ``ni:///sha-256;…?ver=CBV2.0`` id of ``event``; ``namespaces``: the document's
    context prefixes of user extensions (``{"fc": "https://…#"}``)."""
    digest = hashlib.sha256(pre_hash(event, namespaces).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def pre_hash(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The canonical string the event hash is taken of."""
    refused = sorted(_REFUSED & event.keys())
    if refused:
        raise ValueError(f"the event hash of {', '.join(refused)} is not implemented")
    parts = [f"eventType={event['type']}"]
    for name, member in _ORDERED:
        value = event.get(name)
        if value is None:
            continue
        if name == "eventTime":
            parts.append(f"eventTime={_utc_millis(value)}")
        elif member is not None:
            epcs = sorted(f"{member}={_canonical(epc)}" for epc in value)
            parts.append(name + "".join(epcs))
        elif isinstance(value, Mapping):
            parts.append(f"{name}id={_canonical(value['id'])}")
        else:
            parts.append(f"{name}={_canonical(_vocabulary(name, value))}")
    ordered = {name for name, _ in _ORDERED}
    rest: list[str] = []
    for name, value in event.items():
        if name in _IGNORED or name in ordered or name in ("rdfs:comment", "comment"):
            continue
        if name in _BARE_TYPE:
            if value:
                rest.append(
                    name + "".join(sorted(_typed(entry, _BARE_TYPE[name]) for entry in value))
                )
        else:
            rest.extend(_written(name, value, namespaces))
    return "".join(parts) + "".join(sorted(rest))


def _typed(entry: Mapping[str, Any], vocabulary: str) -> str:
    """A member of bizTransactionList, sourceList or destinationList: its type, then its
    value (``type=…BTT-po`` ``bizTransaction=…``)."""
    written = ""
    if entry.get("type") is not None:
        written = f"type={_canonical(_bare(str(entry['type']), vocabulary))}"
    for name, value in entry.items():
        if name != "type" and value is not None:
            written += f"{name}={_canonical(str(value))}"
    return written


def _written(name: str, value: Any, namespaces: Mapping[str, str]) -> list[str]:
    """``name`` with ``value`` in canonical form: one string per member of a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return [s for v in value for s in _written(name, v, namespaces)]
    key = _expanded(name, namespaces)
    if isinstance(value, Mapping):
        members = sorted(
            s
            for child, child_value in value.items()
            for s in _written(child, child_value, namespaces)
        )
        return [key + "".join(members)] if members else []
    text = _canonical(str(value))
    return [f"{key}={text}" if text else key]


def _expanded(name: str, namespaces: Mapping[str, str]) -> str:
    prefix, colon, local = name.partition(":")
    if colon and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return name


def _vocabulary(name: str, value: str) -> str:
    prefix = _BARE_TERM.get(name)
    return _bare(value, prefix) if prefix else value


def _bare(value: str, prefix: str) -> str:
    """A bare CBV term (``receiving``) as its web URI; a URI stays as written."""
    return value if ":" in value else _CBV_WEB + prefix + value


def _canonical(text: str) -> str:
    text = text.strip()
    for urn, web in _URN_TO_WEB:
        text = text.replace(urn, web)
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return str(int(number)) if number == int(number) else str(number)


def _utc_millis(moment: str) -> str:
    """``moment`` in UTC at millisecond precision (microseconds rounded as the reference
    implementation rounds them: half to even)."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)
    parsed = parsed.replace(microsecond=0) + timedelta(microseconds=round(parsed.microsecond, -3))
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
