"""Personal fields in answers, masked for whoever's work does not need them
(``application.masking``): applied to each read that answers them, after the read and
before the answer, so the stored data and the read models are never touched.

Each ``masked_*`` function takes the answer and the caller and returns the answer as the
caller may see it. When a caller reads the fields in clear only by the ``personal_data``
grant, the answer is recorded in the access log: ``what`` is ``personal_data``, one entry
per relationship (or shipment) whose personal fields were answered, the detail naming the
read and the fields (``contacts: name, phone``). A caller who reads them in clear by
their work is answered as read: nothing is looked for in the answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from application.epcis import NAMESPACES
from application.event_hash import event_hash
from application.masking import (
    Exposure,
    exposure,
    mask_contact,
    mask_contact_value,
    mask_event_data,
    mask_name,
    mask_state,
    mask_text,
    mask_value,
    personal_field_of,
    personal_paths,
)
from application.store.access_log import record_access
from application.tokens import StaffMember

if TYPE_CHECKING:
    from interface.runtime import Services

#: The access log's ``what`` of an answer with personal fields in clear by the grant.
WHAT = "personal_data"

T = TypeVar("T")


def exposure_of(staff: StaffMember) -> Exposure:
    return exposure(staff.roles)


def disclosed(
    s: Services,
    staff: StaffMember,
    read: str,
    aggregate_type: str,
    fields: Mapping[UUID, Iterable[str]],
) -> None:
    """Record the personal fields answered in clear by the grant, per aggregate."""
    if exposure_of(staff) is not Exposure.GRANTED:
        return
    for aggregate_id, names in fields.items():
        named = sorted(set(names))
        if named:
            record_access(
                s.database,
                staff_id=staff.staff_id,
                what=WHAT,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                detail=f"{read}: {', '.join(named)}",
            )


def _field_names(paths: Iterable[str]) -> list[str]:
    return [path.replace("[", ".").split(".")[-1].rstrip("]") for path in paths]


def masked_contacts(s: Services, staff: StaffMember, answer: T) -> T:
    """A ``ContactPage``: each contact's name, title, phone and email and its history's
    values before and after."""
    page: Any = answer
    view = exposure_of(staff)
    if view is Exposure.CLEAR:
        return answer
    names: list[str] = []
    for item in page.items:
        names += [f for f in ("name", "title", "phone", "email") if getattr(item, f) is not None]
        names += [change.field for entry in item.history for change in entry.changes]
    if view is Exposure.MASKED:
        for item in page.items:
            for f, value in mask_contact(
                {f: getattr(item, f) for f in ("name", "title", "phone", "email")}
            ).items():
                setattr(item, f, value)
            for entry in item.history:
                for change in entry.changes:
                    change.before = mask_value(change.field, change.before)
                    change.after = mask_value(change.field, change.after)
    elif page.items:
        disclosed(s, staff, "contacts", "Relationship", {page.relationship_id: names})
    return answer


def masked_activity(s: Services, staff: StaffMember, answer: T) -> T:
    """An ``ActivityPage``: the summaries of interactions and the contacts' names."""
    page: Any = answer
    view = exposure_of(staff)
    fields: dict[UUID, list[str]] = defaultdict(list)
    for item in page.items:
        if item.kind == "interaction":
            fields[item.relationship_id].append("summary")
            if view is Exposure.MASKED:
                item.summary = mask_text(item.summary)
        if item.contact_name is not None:
            fields[item.relationship_id].append("contact_name")
            if view is Exposure.MASKED:
                item.contact_name = mask_name(item.contact_name)
    if view is not Exposure.MASKED:
        disclosed(s, staff, "activity", "Relationship", fields)
    return answer


def masked_follow_ups(s: Services, staff: StaffMember, items: Sequence[Any]) -> None:
    """Follow-ups (``interface.http.follow_ups.FollowUp``): their notes, in place."""
    view = exposure_of(staff)
    fields: dict[UUID, list[str]] = defaultdict(list)
    for item in items:
        if item.note is not None:
            fields[item.relationship_id].append("note")
            if view is Exposure.MASKED:
                item.note = mask_text(item.note)
    if view is not Exposure.MASKED:
        disclosed(s, staff, "follow-ups", "Relationship", fields)


def masked_search(s: Services, staff: StaffMember, answer: T) -> T:
    """A ``SearchPage``: a contact's name (its label) and what the query matched in it."""
    page: Any = answer
    view = exposure_of(staff)
    fields: dict[UUID, list[str]] = defaultdict(list)
    for item in page.items:
        if item.kind == "contact":
            fields[item.relationship_id].append("contact")
            if view is Exposure.MASKED:
                item.label = mask_name(item.label)
                item.matched = mask_contact_value(item.matched)
    if view is not Exposure.MASKED:
        disclosed(s, staff, "search", "Relationship", fields)
    return answer


def masked_state(s: Services, staff: StaffMember, answer: T) -> T:
    """An ``AggregateState``: contacts' and handovers' personal fields."""
    state: Any = answer
    view = exposure_of(staff)
    if view is Exposure.CLEAR:
        return answer
    masked, paths = mask_state(state.state)
    if view is Exposure.MASKED:
        state.state = masked
    else:
        disclosed(
            s, staff, "state", state.aggregate_type, {state.aggregate_id: _field_names(paths)}
        )
    return answer


def masked_diff(s: Services, staff: StaffMember, answer: T) -> T:
    """A ``StateDiff``: each change of a personal field, old and new."""
    diff: Any = answer
    view = exposure_of(staff)
    if view is Exposure.CLEAR:
        return answer
    names: list[str] = []
    for change in diff.changes:
        if personal_field_of(change.field) is None and not isinstance(
            change.old or change.new, (dict, list)
        ):
            continue
        old, old_paths = mask_state(change.old, change.field)
        new, new_paths = mask_state(change.new, change.field)
        names += _field_names(old_paths + new_paths)
        if view is Exposure.MASKED:
            change.old, change.new = old, new
    if view is not Exposure.MASKED:
        disclosed(s, staff, "diff", diff.aggregate_type, {diff.aggregate_id: names})
    return answer


def masked_signers(s: Services, staff: StaffMember, read: str, shipment_id: UUID, body: T) -> T:
    """An answer about a shipment as a dict (its responsibility audit): each handover's
    ``signed_by``."""
    view = exposure_of(staff)
    if view is Exposure.CLEAR:
        return body
    masked, paths = mask_state(body)
    if view is Exposure.MASKED:
        return masked  # type: ignore[no-any-return]
    disclosed(s, staff, read, "Shipment", {shipment_id: _field_names(paths)})
    return body


def masked_epcis(
    s: Services, staff: StaffMember, shipment_id: UUID, document: dict[str, Any]
) -> dict[str, Any]:
    """An EPCIS document: each event's ``fc:signedBy``, its ``eventID`` the hash of the
    event as answered."""
    events = document.get("epcisBody", {}).get("eventList", [])
    signed = [e for e in events if e.get("fc:signedBy") is not None]
    if exposure_of(staff) is not Exposure.MASKED:
        disclosed(s, staff, "epcis", "Shipment", {shipment_id: ["signed_by"] if signed else []})
        return document
    answered = []
    for event in events:
        if event.get("fc:signedBy") is not None:
            body = {k: v for k, v in event.items() if k not in ("type", "eventID")}
            body = {"type": event["type"], **body, "fc:signedBy": mask_name(event["fc:signedBy"])}
            event = {"type": event["type"], "eventID": event_hash(body, NAMESPACES), **body}
        answered.append(event)
    return {**document, "epcisBody": {**document["epcisBody"], "eventList": answered}}


def masked_feed(s: Services, staff: StaffMember, answer: T) -> T:
    """A page of the global event feed: each event's declared personal fields."""
    page: Any = answer
    view = exposure_of(staff)
    if view is Exposure.CLEAR:
        return answer
    fields: dict[str, dict[UUID, list[str]]] = defaultdict(lambda: defaultdict(list))
    for item in page.items:
        if view is Exposure.MASKED:
            item.data, _ = mask_event_data(item.event_name, item.data)
        else:
            paths = personal_paths(item.event_name, item.data)
            fields[item.aggregate_type][item.aggregate_id] += paths
    for aggregate_type, found in fields.items():
        disclosed(s, staff, "events", aggregate_type, found)
    return answer


def masked_links(s: Services, staff: StaffMember, answer: T) -> T:
    """A shipment's ``ShipmentLinks``: each handover's ``signed_by``. Partner users read
    those of the links their partner runs (the only ones they are answered) in clear."""
    links: Any = answer
    if staff.partner_id is not None:
        return answer
    handovers = [
        handover
        for link in links.links
        for handover in (link.received, link.released)
        if handover is not None
    ]
    if exposure_of(staff) is Exposure.MASKED:
        for handover in handovers:
            handover.signed_by = mask_name(handover.signed_by)
    else:
        signed = ["signed_by"] if handovers else []
        disclosed(s, staff, "links", "Shipment", {links.shipment_id: signed})
    return answer
