"""Reading back what staff logged: a relationship's contacts with their history of changes,
its interactions and care actions as one timeline; the interactions of the staff in the
caller's team across relationships (内勤看外勤), and a team's activity per person and ISO
week for managers. Every read is branch-scoped and takes ``min_position``."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from application.tokens import StaffMember
from domain.base import InvalidValue
from domain.personal import contact_subject
from domain.relationship import CareActionKind, Channel, Direction
from domain.staff import Role
from interface.http.deps import Allowed, NoNul, Reads, fresh
from interface.http.errors import responses
from interface.http.permissions import OVERSIGHT, READ
from interface.http.reads import Cursor, Limit, NextCursor
from interface.http.routing import OneTripRoute
from projections.activity.queries import (
    ACTIVITY,
    COMPANY_TIME_ZONE,
    ActivityScope,
    EntryFilter,
    list_contacts,
    list_entries,
    office_team,
    relationship_known,
    weekly_activity,
)
from projections.branches.queries import branch_time_zone

router = APIRouter(route_class=OneTripRoute, tags=["activity"])

#: The most weeks one weekly summary covers.
MAX_WEEKS = 53

EntryKind = Literal["interaction", "care"]


# --- answers -------------------------------------------------------------------------------


class FieldChange(BaseModel):
    field: str = Field(description="name, title, phone or email")
    before: str | None
    after: str | None


class ContactChange(BaseModel):
    position: int = Field(description="Log position of the change")
    change: Literal["added", "changed", "removed"]
    actor: str = Field(description="The staff member who made the change")
    occurred_at: datetime = Field(description="Business time of the change")
    recorded_at: datetime
    changes: list[FieldChange] = Field(description="The fields before and after")


class ContactRecord(BaseModel):
    contact_id: str
    person_id: UUID = Field(
        description="The contact's data subject (GET /v1/people/{person_id}); erased "
        "fields read [erased]"
    )
    name: str
    title: str | None
    phone: str | None
    email: str | None
    added_at: datetime
    added_by: str
    removed: bool
    removed_at: datetime | None
    removed_by: str | None
    position: int = Field(description="Log position of the contact's last change")
    history: list[ContactChange] = Field(description="Every change, oldest first")


class ContactPage(BaseModel):
    relationship_id: UUID
    items: list[ContactRecord]
    next_cursor: NextCursor


class ActivityEntry(BaseModel):
    position: int = Field(description="Log position of the entry")
    kind: EntryKind
    entry_id: UUID = Field(description="The interaction's or the care action's id")
    relationship_id: UUID
    relationship_name: str
    occurred_at: datetime = Field(description="Business time: when it happened")
    recorded_at: datetime
    staff: str = Field(description="Who had the interaction or gave the care")
    staff_name: str | None
    actor: str = Field(description="Who logged it")
    channel: Channel | None = Field(description="Interactions only")
    direction: Direction | None = Field(description="Interactions only")
    care_kind: CareActionKind | None = Field(description="Care actions only")
    summary: str = Field(description="The interaction's summary or the care action's note")
    contact_id: str | None
    contact_name: str | None = Field(description="The contact's name as it is now")


class ActivityPage(BaseModel):
    items: list[ActivityEntry]
    next_cursor: NextCursor


class StaffWeek(BaseModel):
    staff_id: str
    staff_name: str | None
    week: str = Field(description='ISO week, e.g. "2026-W10"', examples=["2026-W10"])
    week_start: date = Field(description="Its Monday, in the summary's time zone")
    interactions: int
    interactions_by_channel: dict[str, int]
    care_actions: int
    relationships_touched: int = Field(
        description="Distinct relationships with an interaction or a care action"
    )


class WeeklyActivity(BaseModel):
    time_zone: str
    first_week_start: date
    items: list[StaffWeek]


# --- filters -------------------------------------------------------------------------------

Since = Annotated[
    datetime | None,
    Query(alias="from", description="Business time, inclusive, with a time zone"),
]
Until = Annotated[
    datetime | None, Query(alias="to", description="Business time, exclusive, with a time zone")
]
StaffQuery = Annotated[
    str | None,
    Query(max_length=64, pattern=r"^[A-Za-z0-9_.:@-]{1,64}$", description="A staff id"),
    NoNul,
]
ChannelQuery = Annotated[
    list[Channel] | None,
    Query(max_length=6, description="Interactions of these channels; repeatable"),
]
CareKindQuery = Annotated[
    list[CareActionKind] | None,
    Query(max_length=5, description="Care actions of these kinds; repeatable"),
]
KindQuery = Annotated[EntryKind | None, Query(description="interaction or care (default: both)")]


def _entry_filter(
    kind: EntryKind | None,
    since: datetime | None,
    until: datetime | None,
    channel: list[Channel] | None,
    care_kind: list[CareActionKind] | None,
    staff_id: str | None,
    contact_id: str | None,
) -> EntryFilter:
    """The filter, or 422 (the field and the reason) for one that contradicts itself."""
    for moment, name in ((since, "from"), (until, "to")):
        if moment is not None and moment.tzinfo is None:
            raise InvalidValue(f"{name}.timezone", f"{name} must carry a time zone", field=name)
    if since is not None and until is not None and until <= since:
        raise InvalidValue("to.order", "to must be after from", field="to")
    if kind == "care" and channel:
        raise InvalidValue("channel.kind", "care actions have no channel", field="channel")
    if kind == "interaction" and care_kind:
        raise InvalidValue("care_kind.kind", "interactions have no care kind", field="care_kind")
    if contact_id is not None and kind == "care":
        raise InvalidValue("contact_id.kind", "care actions name no contact", field="contact_id")
    return EntryFilter(
        kind="interaction" if kind is None and contact_id is not None else kind,
        since=since,
        until=until,
        channels=tuple(channel or ()),
        care_kinds=tuple(care_kind or ()),
        staff_id=staff_id,
        contact_id=contact_id,
    )


def team_scope(conn: Reads, staff: StaffMember) -> ActivityScope:
    """Whose activity the caller sees across relationships. Headquarters and auditors:
    everyone's, on every branch's relationships. On their branch's relationships: a branch
    manager, everyone's; office staff (内勤), their own and their team's field staff's
    (``office_team``); field staff (外勤), their own."""
    if staff.sees_all_branches:
        return ActivityScope()
    if Role.BRANCH_MANAGER in staff.roles:
        return ActivityScope(branch=staff.branch)
    if Role.OFFICE_STAFF in staff.roles:
        return ActivityScope(
            branch=staff.branch, staff=office_team(conn, staff.staff_id, staff.branch)
        )
    return ActivityScope(branch=staff.branch, staff=frozenset({staff.staff_id}))


def _known(conn: Reads, relationship_id: UUID) -> None:
    if not relationship_known(conn, relationship_id):
        raise HTTPException(404, f"no relationship with id {relationship_id}")


def _within_team(scope: ActivityScope, staff_id: str | None) -> None:
    if staff_id is not None and scope.staff is not None and staff_id not in scope.staff:
        raise HTTPException(403, f"staff {staff_id!r} is not of the caller's team")


# --- reads ---------------------------------------------------------------------------------


@router.get(
    "/v1/relationships/{relationship_id}/contacts",
    summary="A relationship's contacts, with their history of changes",
    description="Current contacts in the order they were added; with "
    "`include_removed=true` also those removed. Each with every change: who, when, and "
    "the fields before and after.",
    response_model=ContactPage,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(ACTIVITY)],
)
def relationship_contacts(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    include_removed: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ContactPage:
    _known(conn, relationship_id)
    rows, next_cursor = list_contacts(
        conn, relationship_id, include_removed=include_removed, limit=limit, cursor=cursor
    )
    return ContactPage(
        relationship_id=relationship_id,
        items=[
            ContactRecord.model_validate(
                {**r, "person_id": contact_subject(relationship_id, r["contact_id"]).subject_id}
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/v1/relationships/{relationship_id}/interactions",
    summary="A relationship's interactions and care actions, newest first",
    description="One timeline of interactions (`kind=interaction`) and customer-care "
    "actions (`kind=care`), newest first by business time; `from`/`to` select [from, to). "
    "`channel` and `care_kind` keep interactions of those channels and care actions of "
    "those kinds; `contact_id` keeps the interactions with that contact.",
    response_model=ActivityPage,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(ACTIVITY)],
)
def relationship_interactions(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    kind: KindQuery = None,
    since: Since = None,
    until: Until = None,
    channel: ChannelQuery = None,
    care_kind: CareKindQuery = None,
    staff_id: StaffQuery = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=64), NoNul] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ActivityPage:
    where = _entry_filter(kind, since, until, channel, care_kind, staff_id, contact_id)
    _known(conn, relationship_id)
    rows, next_cursor = list_entries(
        conn, where, ActivityScope(relationship_id=relationship_id), limit=limit, cursor=cursor
    )
    return ActivityPage(
        items=[ActivityEntry.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/v1/activity",
    summary="The team's interactions across relationships (内勤看外勤), newest first",
    description="Interactions and care actions of the staff in the caller's team, on the "
    "relationships of the caller's branch: field staff see their own; office staff their "
    "own and those of their team's field staff (the field reps of the accounts where they "
    "are the office rep, and the field staff of their branch); branch managers everyone's; "
    "headquarters and auditors every branch's. `staff_id` outside the team: 403.",
    response_model=ActivityPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh(ACTIVITY)],
)
def team_activity(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    staff_id: StaffQuery = None,
    kind: KindQuery = None,
    channel: ChannelQuery = None,
    care_kind: CareKindQuery = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ActivityPage:
    where = _entry_filter(kind, since, until, channel, care_kind, staff_id, None)
    scope = team_scope(conn, staff)
    _within_team(scope, staff_id)
    rows, next_cursor = list_entries(conn, where, scope, limit=limit, cursor=cursor)
    return ActivityPage(
        items=[ActivityEntry.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/v1/activity/weekly",
    summary="The team's activity per person and ISO week",
    description="Per staff member and ISO week, from the week holding `from` through the "
    "one holding `to` (days in `tz`, at most 53 weeks): interactions per channel, care "
    "actions, distinct relationships touched. Weeks are counted in `tz` (default: the "
    f"time zone of the caller's branch in the branch registry, else {COMPANY_TIME_ZONE}, the "
    "company's), from each entry's business time. Branch "
    "managers see their branch's relationships; headquarters and auditors every branch's.",
    response_model=WeeklyActivity,
    responses=responses(401, 422, 503),
    dependencies=[fresh(ACTIVITY, "branches")],
)
def weekly(
    staff: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    conn: Reads,
    first: Annotated[date, Query(alias="from", description="A day of the first week")],
    last: Annotated[date, Query(alias="to", description="A day of the last week")],
    tz: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$",
            description="IANA time zone the weeks are counted in",
        ),
    ] = None,
    staff_id: StaffQuery = None,
) -> WeeklyActivity:
    if tz is None:
        tz = (branch_time_zone(conn, staff.branch) if staff.branch else None) or COMPANY_TIME_ZONE
    if last < first:
        raise InvalidValue("to.order", "to must not be before from", field="to")
    if (last - first).days > 7 * MAX_WEEKS:
        raise InvalidValue("to.span", f"at most {MAX_WEEKS} weeks", field="to")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValue("tz.unknown", f"{tz!r} is no time zone known here", field="tz") from None
    scope = team_scope(conn, staff)
    try:
        items = weekly_activity(
            conn, scope, first=first, last=last, zone_name=tz, staff_id=staff_id
        )
    except psycopg.errors.InvalidParameterValue:
        raise InvalidValue("tz.unknown", f"{tz!r} is no time zone known here", field="tz") from None
    monday = first.fromordinal(first.toordinal() - first.weekday())
    return WeeklyActivity(
        time_zone=tz, first_week_start=monday, items=[StaffWeek.model_validate(i) for i in items]
    )
