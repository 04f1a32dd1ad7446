"""For integrators: the global event feed, and webhooks that push it (``application``
``.event_feed`` and ``.webhooks``)."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from application import webhooks
from application.event_feed import feed_page
from application.tokens import StaffMember
from interface.http.deps import Allowed, NoNul, PrimaryReads, Reads, ServicesDep
from interface.http.errors import responses
from interface.http.history import HistoryEntry
from interface.http.masking import masked_feed
from interface.http.permissions import EVENT_FEED, WEBHOOKS
from interface.http.routing import OneTripRoute
from projections.branches.queries import get_branch

router = APIRouter(route_class=OneTripRoute, tags=["integrations"])

EventType = Annotated[str, Field(min_length=1, max_length=100), NoNul]


class FeedEntry(HistoryEntry):
    relationship_id: UUID | None = Field(
        description="The relationship the aggregate belongs to; null: none (staff, offerings)"
    )
    branch: str | None = Field(description="That relationship's branch")


class FeedPage(BaseModel):
    items: list[FeedEntry]
    next_after: int = Field(description="Ask with after=next_after for the next page")


@router.get(
    "/v1/events",
    summary="The global event feed",
    description="The log's entries after position `after`, in log order, each with its "
    "aggregate, version, event name, business and recording time, actor and command, "
    "correlation and causation ids, and its data. Staff of a branch see only entries of "
    "their branch's records; entries they may not see are passed over and `next_after` "
    "moves beyond them. The feed runs as far as the read models that tell each entry's "
    "branch have applied; an empty page with `next_after` equal to `after` means nothing "
    "more yet. `types` keeps event names (`Shipment.Delivered`) or aggregate types "
    "(`Shipment`).",
    response_model=FeedPage,
    responses=responses(401, 403, 422, 503),
)
def events(
    staff: Annotated[StaffMember, Depends(Allowed(EVENT_FEED))],
    s: ServicesDep,
    conn: Reads,
    after: Annotated[int, Query(ge=0, le=2**62, description="A log position")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: Annotated[
        list[Annotated[str, NoNul]] | None,
        Query(max_length=50, description="Event names or aggregate types; repeatable"),
    ] = None,
) -> FeedPage:
    scope = None if staff.sees_all_branches else staff.branch
    page = feed_page(conn, s.app.mapper, after=after, limit=limit, scope=scope, types=types or ())
    answer = FeedPage(
        items=[FeedEntry.model_validate(e) for e in page.entries], next_after=page.next_after
    )
    return masked_feed(s, staff, answer)


class Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[
        str,
        Field(
            max_length=2000,
            pattern=r"^https?://[^\s/?#]+[^\s]*$",
            examples=["https://erp.example.com/hooks/fullchain"],
        ),
        NoNul,
    ]
    event_types: list[EventType] = Field(
        default_factory=list,
        max_length=100,
        description="Event names or aggregate types to deliver; empty: every event",
    )
    branch: Annotated[str | None, Field(min_length=1, max_length=64), NoNul] = Field(
        None, description="Only events of this branch's records"
    )


class Webhook(BaseModel):
    webhook_id: UUID
    url: str
    event_types: list[str]
    branch: str | None
    created_by: str
    created_at: datetime
    start_after: int = Field(description="Events after this log position are delivered")


class NewWebhook(Webhook):
    secret: str = Field(description="Signs every delivery; shown this once")


class WebhookList(BaseModel):
    items: list[Webhook]


class Attempt(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None


class Delivery(BaseModel):
    position: int
    aggregate_id: UUID
    event_name: str
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None
    attempt_log: list[Attempt]


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_after: int | None = Field(description="Ask with after=next_after for more; null: none")


class Replayed(BaseModel):
    replayed: int = Field(description="How many dead letters are back in line")


def _known(conn: Any, webhook_id: UUID) -> webhooks.Subscription:
    found = webhooks.find(conn, webhook_id)
    if found is None:
        raise HTTPException(404, f"no webhook with id {webhook_id}")
    return found


@router.post(
    "/v1/webhooks",
    summary="Subscribe a URL to events",
    description="Events recorded from now on that match `event_types` (and `branch`) are "
    "POSTed to `url` as JSON (the feed's entry), signed in the header `Fullchain-Signature: "
    't=<unix time>,v1=<hex HMAC-SHA256 of "t.body" with the secret>`; retried with '
    "exponential back-off, then dead-lettered. The secret is in this answer only.",
    status_code=201,
    response_model=NewWebhook,
    responses=responses(401, 403, 422, 503),
)
def subscribe(
    body: Subscribe,
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))],
    s: ServicesDep,
    conn: PrimaryReads,
) -> NewWebhook:
    if body.branch is not None and get_branch(conn, body.branch) is None:
        raise RequestValidationError(
            [{"loc": ("body", "branch"), "msg": "is no branch", "type": "value_error"}]
        )
    made, secret = webhooks.subscribe(
        conn,
        url=body.url,
        event_types=body.event_types,
        branch=body.branch,
        created_by=staff.staff_id,
        now=s.app.clock(),
    )
    return NewWebhook(**made.as_json(), secret=secret)


@router.get(
    "/v1/webhooks",
    summary="The webhook subscriptions",
    response_model=WebhookList,
    responses=responses(401, 403, 422, 503),
)
def subscriptions(
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))], conn: PrimaryReads
) -> WebhookList:
    return WebhookList(items=[Webhook(**w.as_json()) for w in webhooks.subscriptions(conn)])


@router.delete(
    "/v1/webhooks/{webhook_id}",
    summary="End a webhook subscription",
    description="Nothing more is delivered to it, pending deliveries included.",
    status_code=204,
    response_class=Response,
    responses=responses(401, 403, 404, 422, 503),
)
def unsubscribe(
    webhook_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))],
    s: ServicesDep,
    conn: PrimaryReads,
) -> Response:
    if not webhooks.unsubscribe(conn, webhook_id, s.app.clock()):
        raise HTTPException(404, f"no webhook with id {webhook_id}")
    return Response(status_code=204)


def _deliveries(
    conn: Any, webhook_id: UUID, state: str | None, after: int, limit: int
) -> DeliveryPage:
    _known(conn, webhook_id)
    rows = webhooks.deliveries(conn, webhook_id, state=state, after=after, limit=limit)
    return DeliveryPage(
        items=[Delivery.model_validate(r) for r in rows],
        next_after=int(rows[-1]["position"]) if len(rows) == limit else None,
    )


AfterQuery = Annotated[int, Query(ge=0, le=2**62, description="A log position")]
LimitQuery = Annotated[int, Query(ge=1, le=1000)]


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    summary="A webhook's delivery log",
    description="Its deliveries in log order, each with every attempt: when, the status "
    "code or the error.",
    response_model=DeliveryPage,
    responses=responses(401, 403, 404, 422, 503),
)
def delivery_log(
    webhook_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))],
    conn: PrimaryReads,
    state: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(description="Only these")
    ] = None,
    after: AfterQuery = 0,
    limit: LimitQuery = 100,
) -> DeliveryPage:
    return _deliveries(conn, webhook_id, state, after, limit)


@router.get(
    "/v1/webhooks/{webhook_id}/dead-letters",
    summary="A webhook's dead letters",
    description="Deliveries given up after the last attempt failed.",
    response_model=DeliveryPage,
    responses=responses(401, 403, 404, 422, 503),
)
def dead_letters(
    webhook_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))],
    conn: PrimaryReads,
    after: AfterQuery = 0,
    limit: LimitQuery = 100,
) -> DeliveryPage:
    return _deliveries(conn, webhook_id, "dead", after, limit)


@router.post(
    "/v1/webhooks/{webhook_id}/dead-letters/replay",
    summary="Deliver a webhook's dead letters again",
    description="Every dead letter is back in line, due now, its attempts counted afresh.",
    response_model=Replayed,
    responses=responses(401, 403, 404, 422, 503),
)
def replay(
    webhook_id: UUID,
    staff: Annotated[StaffMember, Depends(Allowed(WEBHOOKS))],
    s: ServicesDep,
    conn: PrimaryReads,
) -> Replayed:
    _known(conn, webhook_id)
    return Replayed(replayed=webhooks.replay_dead_letters(conn, webhook_id, s.app.clock()))
