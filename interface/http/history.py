"""For auditors: a customer's whole history across its aggregates, and any relationship or
shipment as it was at a version or a point in time, with what changed between versions."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field

from application.audit_export import build as build_package
from application.masking import Exposure
from application.store.access_log import record_access
from application.store.database import Database
from application.store.integrity import configured_signing_key
from application.tokens import StaffMember
from domain.personal import contact_subject
from interface.http.deps import (
    Allowed,
    NoNul,
    Reads,
    ServicesDep,
    fresh,
)
from interface.http.errors import invalid_input, responses
from interface.http.masking import disclosed, exposure_of, masked_diff, masked_state
from interface.http.permissions import AUDIT
from interface.http.reads import Cursor
from interface.http.routing import OneTripRoute
from interface.runtime import Services
from projections.freshness import ReadConnection, page
from projections.history.queries import (
    HistoryFilter,
    history_rows_at,
    page_positions,
    relationship_known,
)
from projections.history.rendered import page_json, render_with
from projections.history.writer import HistoryProjection

router = APIRouter(route_class=OneTripRoute, tags=["auditors"])

HISTORY = HistoryProjection.name


class HistoryEntry(BaseModel):
    position: int = Field(description="Log position; the history is in this order")
    aggregate_id: UUID
    aggregate_type: str = Field(description='"Relationship", "Shipment", …')
    version: int = Field(description="The aggregate's version after this event")
    event_name: str = Field(description='The stored name, e.g. "Shipment.CustodyHandedOver"')
    occurred_at: datetime = Field(description="Business time: when it happened")
    recorded_at: datetime = Field(description="Server time of the append to the log")
    actor: str = Field(description="The staff member who issued the command")
    command_id: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any] = Field(
        description="The event's own fields; decimals, ids and times as strings"
    )


class HistoryPage(BaseModel):
    relationship_id: UUID
    items: list[HistoryEntry]
    next_cursor: str | None


class EventSummary(BaseModel):
    name: str
    version: int
    actor: str
    occurred_at: datetime
    recorded_at: datetime


class AggregateState(BaseModel):
    aggregate_id: UUID
    aggregate_type: str
    version: int
    current_version: int
    event_name: str = Field(description="The event that made this version")
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    snapshot_version: int | None = Field(
        description="The snapshot the state was restored from; null: replayed from the start"
    )
    state: dict[str, Any] = Field(
        description="The aggregate's attributes; decimals, ids and times as strings"
    )


class Change(BaseModel):
    field: str = Field(description='A path to the changed part, e.g. "links[2].started_at"')
    old: Any
    new: Any


class StateDiff(BaseModel):
    aggregate_id: UUID
    aggregate_type: str
    from_version: int
    to_version: int
    changes: list[Change]
    events: list[EventSummary] = Field(description="The events from from+1 to to")


VersionQuery = Annotated[
    int | None, Query(ge=1, description="The version to show (default: the current one)")
]
AsOfQuery = Annotated[
    datetime | None,
    Query(
        description="Show the aggregate as recorded by this moment (with time zone): "
        "the highest version recorded at or before it. Not together with version."
    ),
]
FromQuery = Annotated[int, Query(alias="from", ge=1, description="The earlier version")]
ToQuery = Annotated[int, Query(alias="to", ge=1, description="The later version")]

TIME_TRAVEL_ERRORS = responses(401, 404, 422)


@router.get(
    "/v1/relationships/{relationship_id}/history",
    summary="A customer's history across its aggregates",
    description="Every event of the relationship and of everything that belongs to it "
    "(its shipments with their incidents and claims, its opportunities and service cases; a "
    "competitor's profile) in log order, each with who did it, "
    "when it happened, when it was recorded and why (command, correlation and causation "
    "ids). `from`/`to` select a time range [from, to) on the recording time or, with "
    "`time=occurred`, on the business time.",
    response_model=HistoryPage,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(HISTORY)],
)
def relationship_history(
    relationship_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    conn: Reads,
    since: Annotated[datetime | None, Query(alias="from", description="Start, inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="End, exclusive")] = None,
    time: Annotated[
        Literal["recorded", "occurred"], Query(description="Which time from/to apply to")
    ] = "recorded",
    event: Annotated[
        list[Annotated[str, NoNul]] | None,
        Query(max_length=20, description='Event names, e.g. "Shipment.Delivered"; repeatable'),
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, description="A staff id"), NoNul] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> HistoryPage:
    for moment, name in ((since, "from"), (until, "to")):
        if moment is not None and moment.tzinfo is None:
            raise invalid_input("query", name, "must carry a time zone")
    where = HistoryFilter(since=since, until=until, time=time, event_names=event or (), actor=actor)
    known, positions = page_positions(conn, relationship_id, where, limit=limit, cursor=cursor)
    if not known:
        raise HTTPException(404, f"no relationship with id {relationship_id}")
    rows, next_cursor = page(positions, limit, "position")
    entries = s.history_entries().rendered(
        [row["position"] for row in rows],
        lambda missing: history_rows_at(conn, relationship_id, missing),
        s.app.mapper,
        _RENDER,
    )
    looked(s, staff, "history", "Relationship", relationship_id, f"{len(entries)} entries", conn)
    view = exposure_of(staff)
    if view is Exposure.GRANTED:
        paths = [path for entry in entries for path in entry.personal]
        disclosed(s, staff, "history", "Relationship", {relationship_id: paths})
    return Response(  # type: ignore[return-value]  # written as the model writes it
        page_json(relationship_id, entries, next_cursor, view), media_type="application/json"
    )


_RENDER = render_with(HistoryEntry)


def looked(
    s: Services,
    staff: StaffMember,
    what: str,
    aggregate_type: str,
    aggregate_id: UUID,
    detail: str = "",
    held: ReadConnection | None = None,
) -> None:
    """Who read what of which customer, in the access log (``application/store/access_log``).
    ``held``: the read's own pooled connection, which records it when it is on the primary
    (no connection opened for the entry; none taken from the pool the read holds one of);
    with a read replica, a connection of the primary's pool does."""

    def record(on: Database | ReadConnection) -> None:
        record_access(
            on,
            staff_id=staff.staff_id,
            what=what,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            detail=detail,
        )

    if held is None:
        record(s.database)
    elif s.primary is s.reads:
        record(held)
    else:
        with s.primary.connection() as conn:
            record(conn)


def _state(
    s: Services,
    staff: StaffMember,
    aggregate_type: str,
    aggregate_id: UUID,
    version: int | None,
    as_of: Any,
) -> AggregateState:
    found = s.time_travel().state(aggregate_type, aggregate_id, version=version, as_of=as_of)
    answer = found.as_json()
    if aggregate_type == "Relationship":
        answer["state"] = with_person_ids(aggregate_id, answer["state"])
    state = AggregateState.model_validate(answer)
    asked = f"version={version}" if version else f"as_of={as_of.isoformat()}" if as_of else ""
    looked(s, staff, "state", aggregate_type, aggregate_id, asked)
    return masked_state(s, staff, state)


def with_person_ids(relationship_id: UUID, state: dict[str, Any]) -> dict[str, Any]:
    """A relationship's state with each contact's data subject as its ``person_id``."""
    contacts = state.get("contacts")
    if not isinstance(contacts, dict):
        return state
    return {
        **state,
        "contacts": {
            contact_id: (
                {
                    **contact,
                    "person_id": str(contact_subject(relationship_id, contact_id).subject_id),
                }
                if isinstance(contact, dict)
                else contact
            )
            for contact_id, contact in contacts.items()
        },
    }


def _diff(
    s: Services,
    staff: StaffMember,
    aggregate_type: str,
    aggregate_id: UUID,
    from_version: int,
    to_version: int,
) -> StateDiff:
    found = s.time_travel().diff(aggregate_type, aggregate_id, from_version, to_version)
    diff = StateDiff.model_validate(found.as_json())
    looked(s, staff, "diff", aggregate_type, aggregate_id, f"from={from_version} to={to_version}")
    return masked_diff(s, staff, diff)


@router.get(
    "/v1/relationships/{relationship_id}/state",
    summary="A relationship as it was",
    description="The relationship's state at `version`, or as recorded by `as_of`, or now. "
    "404 if it did not exist then; 422 for both parameters or a version beyond the current.",
    response_model=AggregateState,
    responses=TIME_TRAVEL_ERRORS,
)
def relationship_state(
    relationship_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    version: VersionQuery = None,
    as_of: AsOfQuery = None,
) -> AggregateState:
    return _state(s, staff, "Relationship", relationship_id, version, as_of)


@router.get(
    "/v1/relationships/{relationship_id}/diff",
    summary="What changed in a relationship between two versions",
    response_model=StateDiff,
    responses=TIME_TRAVEL_ERRORS,
)
def relationship_diff(
    relationship_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    from_version: FromQuery,
    to_version: ToQuery,
) -> StateDiff:
    return _diff(s, staff, "Relationship", relationship_id, from_version, to_version)


@router.get(
    "/v1/shipments/{shipment_id}/state",
    summary="A shipment as it was",
    description="The shipment's state (chain, custody, incidents, claims) at `version`, or "
    "as recorded by `as_of`, or now. 404 if it did not exist then; 422 for both parameters "
    "or a version beyond the current.",
    response_model=AggregateState,
    responses=TIME_TRAVEL_ERRORS,
)
def shipment_state(
    shipment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    version: VersionQuery = None,
    as_of: AsOfQuery = None,
) -> AggregateState:
    return _state(s, staff, "Shipment", shipment_id, version, as_of)


@router.get(
    "/v1/shipments/{shipment_id}/diff",
    summary="What changed in a shipment between two versions",
    response_model=StateDiff,
    responses=TIME_TRAVEL_ERRORS,
)
def shipment_diff(
    shipment_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    from_version: FromQuery,
    to_version: ToQuery,
) -> StateDiff:
    return _diff(s, staff, "Shipment", shipment_id, from_version, to_version)


@router.get(
    "/v1/relationships/{relationship_id}/audit-package",
    summary="A customer's audit package (zip)",
    description="The customer's entries 1..N as JSON Lines, each with its stored form and "
    "its proofs (inclusion in the log's Merkle tree, the customer's own chain), the C2SP "
    "checkpoint signed when packing with the proof of the customer's head in its map, the "
    "verifier key, and `verify_package.py` with the modules it runs: offline, with Python "
    "and `cryptography` only, it proves the history complete and unaltered, or names the "
    "entry that is not.",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "The audit package"},
        **responses(401, 403, 404, 422, 503),
    },
    dependencies=[fresh(HISTORY)],
)
def audit_package(
    relationship_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(AUDIT))],
    s: ServicesDep,
    conn: Reads,
) -> Response:
    if not relationship_known(conn, relationship_id):
        raise HTTPException(404, f"no relationship with id {relationship_id}")
    name = s.app.relationships.get_relationship(relationship_id).name
    archive = build_package(
        s.database,
        s.app.mapper,
        s.signing_key(),
        relationship_id,
        name=name,
        now=s.app.clock(),
        key_in_database=configured_signing_key() is None,
        evidence=s.app.evidence,
    )
    looked(
        s, staff, "audit_package", "Relationship", relationship_id, f"{len(archive)} bytes", conn
    )
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="audit-package-{relationship_id}.zip"'
        },
    )
