"""Branch scoping of requests, by the one rule of ``application.visibility``: the record a
request names in its path, and what lists show to staff of a branch; on a shipment, the
links the caller's branch (or, for a partner user, their partner) runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from application.commands import NotFound
from application.service import Fullchain
from application.tokens import StaffMember
from application.visibility import COMPANY_WIDE, Access, access, links_run_by, owner_of
from domain.relationship import Relationship
from domain.shipment import Incident, Shipment

#: Path parameters that name a record of a branch: what the record is called in the 404
#: that answers one the caller may not see, and how it is found.
PATH_RECORDS: dict[str, tuple[str, Callable[[Fullchain, UUID], Aggregate]]] = {
    "relationship_id": ("relationship", lambda app, rid: app.relationships.get_relationship(rid)),
    "partner_id": ("partner", lambda app, rid: app.relationships.get_relationship(rid)),
    "shipment_id": ("shipment", lambda app, rid: app.shipments.get_shipment(rid)),
    "opportunity_id": ("opportunity", lambda app, rid: app.sales.get_opportunity(rid)),
    "case_id": ("service case", lambda app, rid: app.cases.get_service_case(rid)),
    "follow_up_id": ("follow-up", lambda app, rid: app.follow_ups.get_follow_up(rid)),
    "care_plan_id": ("care plan", lambda app, rid: app.follow_ups.get_care_plan(rid)),
}

#: Path parameters that name a record a branch made itself — a segment, a campaign — whose
#: ``owner_branch`` is the branch (None: headquarters', seen by every branch).
BRANCH_MADE: dict[str, tuple[str, Callable[[Fullchain, UUID], Any]]] = {
    "segment_id": ("segment", lambda app, rid: app.marketing.get_segment(rid)),
    "campaign_id": ("campaign", lambda app, rid: app.marketing.get_campaign(rid)),
}


def _made(app: Fullchain, find: Callable[[Fullchain, UUID], Any], rid: UUID) -> Any:
    try:
        return find(app, rid)
    except NotFound:
        return None


#: Commands that create a record in the branch their body names.
NEW_IN_BRANCH = {("POST", "/v1/relationships")}

#: How a link command names its links: from the shipment, the path's parameters and the
#: body, the links whose party may run it (``application.visibility``: staff of the branch
#: of one of them may, on a shipment another branch booked); None if the request names no
#: link it has (the endpoint answers: 422, or 404).
LinksOf = Callable[[Shipment, Mapping[str, Any], Any], frozenset[int] | None]


def _number(value: Any) -> int | None:
    try:
        return int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _link_in_path(
    shipment: Shipment, params: Mapping[str, Any], body: Any
) -> frozenset[int] | None:
    sequence = _number(params.get("sequence"))
    return None if sequence is None else frozenset({sequence})


def _handover(shipment: Shipment, params: Mapping[str, Any], body: Any) -> frozenset[int] | None:
    """Custody passes to link k (the receiving party) from the last link before it that
    holds goods (the handing party)."""
    to = _number(body.get("to_sequence")) if isinstance(body, dict) else None
    if to is None:
        return None
    giver = shipment.custody_giver(to) if 1 <= to <= len(shipment.links) else None
    return frozenset({to} if giver is None else {giver.sequence, to})


def _handover_in_path(
    shipment: Shipment, params: Mapping[str, Any], body: Any
) -> frozenset[int] | None:
    """Handover k (in the path) passes custody into link k from the last link before it
    that holds goods; one past the last link, from the last link to the consignee."""
    number = _number(params.get("number"))
    last = len(shipment.links)
    if number is None or not 1 <= number <= last + 1:
        return None
    if number == last + 1:
        return frozenset({last})
    giver = shipment.custody_giver(number)
    return frozenset({number} if giver is None else {giver.sequence, number})


def _last_link(shipment: Shipment, params: Mapping[str, Any], body: Any) -> frozenset[int] | None:
    return frozenset({len(shipment.links)})


def _link_in_body(
    shipment: Shipment, params: Mapping[str, Any], body: Any
) -> frozenset[int] | None:
    sequence = _number(body.get("link_sequence")) if isinstance(body, dict) else None
    return None if sequence is None else frozenset({sequence})


def _link_of_incident(
    shipment: Shipment, params: Mapping[str, Any], body: Any
) -> frozenset[int] | None:
    incident = _incident(shipment, params)
    return None if incident is None else frozenset({incident.link_sequence})


def _link_responsible(
    shipment: Shipment, params: Mapping[str, Any], body: Any
) -> frozenset[int] | None:
    incident = _incident(shipment, params)
    if incident is None:
        return None
    responsible = incident.responsible
    return frozenset() if responsible is None else frozenset({responsible.link_sequence})


def _incident(shipment: Shipment, params: Mapping[str, Any]) -> Incident | None:
    try:
        return shipment.incidents.get(UUID(str(params.get("incident_id"))))
    except ValueError:
        return None


_SHIPMENT = "/v1/shipments/{shipment_id}"

#: The commands of a link, which the branch that runs it may run on any shipment.
LINK_COMMANDS: dict[str, LinksOf] = {
    f"{_SHIPMENT}/links/{{sequence}}/start": _link_in_path,
    f"{_SHIPMENT}/links/{{sequence}}/complete": _link_in_path,
    f"{_SHIPMENT}/links/{{sequence}}/delays": _link_in_path,
    f"{_SHIPMENT}/handovers": _handover,
    f"{_SHIPMENT}/deliver": _last_link,
    f"{_SHIPMENT}/incidents": _link_in_body,
    f"{_SHIPMENT}/incidents/{{incident_id}}/actions": _link_of_incident,
    f"{_SHIPMENT}/incidents/{{incident_id}}/accept": _link_responsible,
    f"{_SHIPMENT}/incidents/{{incident_id}}/dispute": _link_responsible,
    f"{_SHIPMENT}/handovers/{{number}}/attachments": _handover_in_path,
    f"{_SHIPMENT}/incidents/{{incident_id}}/attachments": _link_of_incident,
}


def _record(
    app: Fullchain, find: Callable[[Fullchain, UUID], Aggregate], rid: UUID
) -> tuple[Aggregate, Relationship] | None:
    """The record and the relationship it belongs to, or None if there is no such record
    (or it belongs to none)."""
    try:
        record = find(app, rid)
        if isinstance(record, Relationship):
            return record, record
        owner = owner_of(record)
        if owner is None:
            return None
        return record, app.relationships.get_relationship(owner)
    except NotFound:
        return None


async def _link_refusal(
    request: Request, shipment: Shipment, owner: Relationship, runs: frozenset[int], who: str
) -> str | None:
    """Why staff of the branch of links ``runs`` of a shipment another branch booked may
    not call this endpoint on it, if they may not."""
    if request.method == "GET":
        return None
    route = request.scope.get("route")
    links_of = LINK_COMMANDS.get(getattr(route, "path", ""))
    ours = ", ".join(str(n) for n in sorted(runs))
    booked = f"the shipment was booked by branch {owner.branch!r}; {who} runs link(s) {ours} of it"
    if links_of is None:
        return f"{booked}, and this is no command of a link"
    body: Any = None
    if links_of in (_handover, _link_in_body):
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return None  # the endpoint answers 422
    links = links_of(shipment, request.path_params, body)
    if links is None or links & runs:
        return None
    named = ", ".join(str(n) for n in sorted(links)) or "none"
    return f"{booked}, not link(s) {named}"


async def refusal(request: Request, app: Fullchain, staff: StaffMember) -> str | None:
    """Why staff of a branch, or a partner user, may not call this endpoint on the record
    its path names (403), if they may not; ``NotFound`` if they may not see the record —
    raised exactly as when there is none, before anything else of the request is looked
    at. On a shipment whose links they run, the commands of those links only."""
    params = request.path_params
    scope = staff.branch
    for name, (what, find) in BRANCH_MADE.items():
        if name in params:
            try:
                rid = UUID(params[name])
            except ValueError:
                return None  # the endpoint answers 422
            made = await run_in_threadpool(_made, app, find, rid)
            if made is None or made.owner_branch not in (None, scope):
                raise NotFound(what, rid)
    for name, (what, find) in PATH_RECORDS.items():
        if name not in params:
            continue
        try:
            rid = UUID(params[name])
        except ValueError:
            return None  # the endpoint answers 422
        found = await run_in_threadpool(_record, app, find, rid)
        if found is None:
            raise NotFound(what, rid)
        record, owner = found
        if staff.customer_id is not None:  # a customer user: its own customer's only
            if owner.id != staff.customer_id:
                raise NotFound(what, rid)
            return None
        level = access(scope, owner.branch, owner.kind)
        if level is Access.NONE and isinstance(record, Shipment):
            runs = links_run_by(scope, record, staff.partner_id)
            if runs:
                who = f"partner {staff.partner_id}" if staff.partner_id else repr(scope)
                return await _link_refusal(request, record, owner, runs, who)
        if staff.partner_id is not None:
            raise NotFound(what, rid)  # a partner user sees only the links of their partner
        if level is Access.NONE:
            raise NotFound(what, rid)
        if request.method != "GET" and level < Access.COMMAND:
            return f"it belongs to branch {owner.branch!r}, not {scope!r}"
        return None
    route = request.scope.get("route")
    if (request.method, getattr(route, "path", "")) in NEW_IN_BRANCH:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return None  # the endpoint answers 422
        branch = body.get("branch") if isinstance(body, dict) else None
        if isinstance(branch, str) and branch.strip() != scope:
            return f"branch {branch.strip()!r} is not theirs"
    return None


def visible_accounts(staff: StaffMember) -> tuple[str, frozenset[str]] | None:
    """What a list of relationships shows the staff member: those of their branch and the
    company's partners and competitors; None: all."""
    if staff.sees_all_branches:
        return None
    return staff.branch, frozenset(kind.value for kind in COMPANY_WIDE)
