"""Minimum exposure of personal data (PIPL Art. 51, GDPR Art. 25/32): who reads personal
fields in clear, and what everyone else reads instead.

Staff who work with a branch's contacts (field staff, office staff, branch managers) and
headquarters read personal fields in clear. Everyone else — auditors, administrators —
reads them masked: enough to see that a contact exists and what was done with it, not who
it is or how to reach them. A staff member granted the ``personal_data`` role reads them
in clear, and every such answer is recorded in the access log (``interface.http.masking``).

The masked forms:

* a phone keeps its country code, its first three digits and its last four:
  ``+86 139 1234 5678`` reads ``+86 139 **** 5678``; ``13912345678`` reads ``139 **** 5678``;
* an email keeps the first character of its local part and its domain:
  ``wang.wei@example.cn`` reads ``w***@example.cn``;
* a name (a contact's, a handover's signer's) keeps its first character: ``王伟`` reads
  ``王**``, ``Wang Wei`` reads ``W**``;
* a title, a visit's notes, anything else: ``[masked]``.

A field already erased (``[erased]``) or empty stays as it is. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from domain.follow_up import CarePlan, FollowUp
from domain.personal import ERASED, PersonalField
from domain.relationship import Relationship
from domain.shipment import Shipment
from domain.staff import Role

#: What a masked free text (a title, notes) reads as.
MASKED = "[masked]"

#: The rule of who reads personal fields in clear, as ``docs/permissions.md`` shows it.
RULE = """\
* Personal fields — a contact's name, title, phone and email, an interaction's summary
  (its notes), a follow-up's or care plan's note, a handover's signer — are answered in
  clear to the staff whose work needs them: field staff, office staff and branch managers
  (their branch's records) and headquarters. Partner users read the signers of the
  handovers of their partner's links; customer users those of their own shipments'
  handovers (proof of delivery).
* Everyone else — auditors, administrators — reads them masked wherever they are
  answered (contacts, interactions and activity, follow-ups, search, a customer's history,
  the event feed, an aggregate's state and diff, a shipment's responsibility audit and
  links, its EPCIS export): a phone as `+86 139 **** 5678`, an email as `w***@example.cn`, a
  name as its first character and `**` (`王**`), a title and notes as `[masked]`; a field
  erased reads `[erased]`. The stored data is unchanged. An audit package proves the stored
  content: it is packed as stored, and its download is in the access log.
* The `personal_data` grant (granted and revoked as a role, held with another; it opens no
  endpoint by itself) answers them in clear to its holder, and each such answer is
  recorded in the access log (`what`: `personal_data`, one entry per customer or shipment,
  the detail naming the read and the fields)."""

#: The roles whose work needs a branch's contacts in clear, and headquarters.
CLEAR_ROLES = frozenset({Role.FIELD_STAFF, Role.OFFICE_STAFF, Role.BRANCH_MANAGER, Role.HQ})


class Exposure(Enum):
    """How a caller reads personal fields."""

    CLEAR = "clear"  # their work needs them
    GRANTED = "granted"  # in clear by the personal_data grant: each answer is logged
    MASKED = "masked"


def exposure(roles: frozenset[Role]) -> Exposure:
    if roles & CLEAR_ROLES:
        return Exposure.CLEAR
    if Role.PERSONAL_DATA in roles:
        return Exposure.GRANTED
    return Exposure.MASKED


def _kept(value: object) -> bool:
    """Values shown as they are: none, empty, already erased, not text."""
    return not isinstance(value, str) or not value.strip() or value == ERASED


def mask_phone(value: Any) -> Any:
    if _kept(value):
        return value
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "****"
    tail = digits[-4:]
    stripped = value.strip()
    if stripped.startswith("+"):
        first = re.match(r"\+(\d{1,3})(?!\d)", stripped)
        country = first.group(1) if first else digits[:2]
        rest = digits[len(country) : -4]
        head = rest[:3] if len(rest) > 3 else ""
        return " ".join(part for part in (f"+{country}", head, "****", tail) if part)
    head = digits[:3] if len(digits) > 7 else ""
    return " ".join(part for part in (head, "****", tail) if part)


def mask_email(value: Any) -> Any:
    if _kept(value):
        return value
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_name(value: Any) -> Any:
    if _kept(value):
        return value
    return value.strip()[0] + "**"


def mask_text(value: Any) -> Any:
    if _kept(value):
        return value
    return MASKED


def mask_contact_value(value: Any) -> Any:
    """A value that is a contact's name, phone or email, masked as what it looks like
    (what a search matched in a contact)."""
    if _kept(value):
        return value
    if "@" in value:
        return mask_email(value)
    if re.fullmatch(r"[+\d\s().-]+", value.strip()) and sum(c.isdigit() for c in value) >= 5:
        return mask_phone(value)
    return mask_name(value)


#: How each personal field is masked, by its name (the last part of its path).
MASKS: Mapping[str, Callable[[Any], Any]] = {
    "name": mask_name,
    "contact_name": mask_name,
    "signed_by": mask_name,
    "title": mask_text,
    "phone": mask_phone,
    "email": mask_email,
    "summary": mask_text,
}


def mask_value(field: str, value: Any) -> Any:
    """``value`` of the personal field named ``field``, masked (``[masked]`` for a name
    without a mask of its own); a dict (a whole contact) has its fields masked."""
    if isinstance(value, Mapping):
        return mask_contact(value)
    return MASKS.get(field, mask_text)(value)


def mask_contact(contact: Mapping[str, Any]) -> dict[str, Any]:
    """A contact (``contact_id``, ``name``, ``title``, ``phone``, ``email``, …) masked."""
    return {
        key: MASKS[key](value) if key in ("name", "title", "phone", "email") else value
        for key, value in contact.items()
    }


def _declared() -> dict[str, tuple[PersonalField, ...]]:
    found: dict[str, tuple[PersonalField, ...]] = {}
    for aggregate in (Relationship, Shipment, FollowUp, CarePlan):
        for member in vars(aggregate).values():
            personal = getattr(member, "PERSONAL", None)
            topic = getattr(member, "TOPIC", None)
            if isinstance(member, type) and personal and isinstance(topic, str):
                found[topic] = tuple(personal)
    return found


#: The personal fields of each event, by its stored name, as the events declare them.
PERSONAL_FIELDS: Mapping[str, tuple[PersonalField, ...]] = _declared()


def mask_event_data(event_name: str, data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """An event's fields with its declared personal fields masked, and the paths of those
    present. An erasure event's ``ref`` names a handover's signer: masked too."""
    masked = dict(data)
    paths: list[str] = []
    for field in PERSONAL_FIELDS.get(event_name, ()):
        value = field.get(masked)
        if value is None:
            continue
        field.set(masked, mask_value(field.path.rsplit(".", 1)[-1], value))
        paths.append(field.path)
    if data.get("subject_kind") == "signer" and isinstance(data.get("ref"), str):
        masked["ref"] = mask_name(data["ref"])
        paths.append("ref")
    return masked, paths


def personal_paths(event_name: str, data: Mapping[str, Any]) -> list[str]:
    """The paths of the personal fields present in an event's fields."""
    return mask_event_data(event_name, data)[1]


def _path_parts(path: str) -> list[str]:
    return [part for part in re.split(r"[.\[\]]+", path) if part]


def personal_field_of(path: str) -> str | None:
    """The personal field a path into an aggregate's state names (``contacts.c1.phone``,
    ``links[2].received.signed_by``), or None: contacts' names, titles, phones and emails,
    handovers' signers."""
    parts = _path_parts(path)
    if not parts:
        return None
    last = parts[-1]
    if last in ("phone", "email", "signed_by"):
        return last
    if parts[0] == "contacts" and last in ("name", "title"):
        return last
    if parts[0] == "contacts" and len(parts) == 2:
        return "contact"
    return None


def mask_state(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """An aggregate's state (or a part of it at ``path``) with its personal fields masked,
    and the paths of those found."""
    found: list[str] = []

    def walk(node: Any, at: str) -> Any:
        if isinstance(node, Mapping):
            out = {}
            for key, child in node.items():
                here = f"{at}.{key}" if at else str(key)
                field = personal_field_of(here)
                if field is not None and field != "contact" and not isinstance(child, Mapping):
                    out[key] = mask_value(field, child)
                    if child is not None:
                        found.append(here)
                else:
                    out[key] = walk(child, here)
            return out
        if isinstance(node, list):
            return [walk(child, f"{at}[{index}]") for index, child in enumerate(node)]
        return node

    field = personal_field_of(path) if path else None
    if field is not None and field != "contact" and not isinstance(value, Mapping):
        return mask_value(field, value), ([path] if value is not None else [])
    return walk(value, path), found
