"""Opportunity mining (销售机会挖掘): a relationship's suggested next offerings, each with
its kind, score and reason in English and Chinese (``GET
/v1/relationships/{relationship_id}/suggestions``), and the suggestions across a manager's
customers, best first, a page at a time (``GET /v1/decisions/suggestions``). See
``domain.mining`` for what is suggested and why; ``as_of`` (default: now) replays the
history as it stood then."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, Field

from application.tokens import StaffMember
from domain.mining import Suggestion, SuggestionKind
from interface.http.decisions import InScope
from interface.http.deps import Allowed, Reads, ServicesDep, fresh
from interface.http.errors import responses
from interface.http.permissions import OVERSIGHT, WORK
from interface.http.reads import Cursor, Limit, NextCursor
from interface.http.routing import OneTripRoute
from projections.decisions.suggestions import (
    SUGGESTION_READ_MODELS,
    relationship_suggestions,
    suggestions_in_scope,
)
from projections.freshness import InvalidCursorError, decode_cursor, encode_cursor

router = APIRouter(route_class=OneTripRoute, tags=["opportunity mining"])

AsOf = Annotated[
    AwareDatetime | None,
    Query(description="The moment whose history is read, with its offset; default now"),
]

#: The tag of the managers' list's cursors: the place of the next item in the ranking.
_CURSOR_TAG = "suggestion"


class SuggestionItem(BaseModel):
    offering_id: UUID | None = Field(
        description="The offering suggested; null for a customer at risk on no offering"
    )
    offering_name: str | None
    kind: SuggestionKind
    score: Decimal = Field(description="Between 0 and 1: how strongly it is suggested")
    reason_en: str
    reason_zh: str

    @classmethod
    def of(cls, s: Suggestion) -> "SuggestionItem":
        return cls(
            offering_id=s.offering_id,
            offering_name=s.offering_name,
            kind=s.kind,
            score=s.score,
            reason_en=s.reason_en,
            reason_zh=s.reason_zh,
        )


class RelationshipSuggestions(BaseModel):
    relationship_id: UUID
    as_of: datetime
    items: list[SuggestionItem]


class CustomerSuggestion(SuggestionItem):
    relationship_id: UUID
    name: str
    branch: str


class SuggestionPage(BaseModel):
    as_of: datetime
    items: list[CustomerSuggestion]
    next_cursor: NextCursor


@router.get(
    "/v1/relationships/{relationship_id}/suggestions",
    summary="Suggested next offerings for a relationship, and why (销售机会挖掘)",
    description="From its shipments (lanes, modes, frequency, volume), its industry peers and "
    "the catalogue, as of `as_of`: lane upgrades, offerings its peers use, cross-sells from "
    "where it ships, and a fall in volume that puts it at risk. Best first.",
    response_model=RelationshipSuggestions,
    responses=responses(401, 404, 422, 503),
    dependencies=[fresh(*SUGGESTION_READ_MODELS)],
)
def suggestions_of_relationship(
    relationship_id: UUID,
    _: Annotated[StaffMember, Depends(Allowed(WORK))],
    conn: Reads,
    s: ServicesDep,
    as_of: AsOf = None,
) -> RelationshipSuggestions:
    moment = as_of or s.app.clock()
    items = relationship_suggestions(conn, relationship_id, as_of=moment)
    if items is None:
        raise HTTPException(404, f"no relationship with id {relationship_id}")
    return RelationshipSuggestions(
        relationship_id=relationship_id,
        as_of=moment,
        items=[SuggestionItem.of(i) for i in items],
    )


@router.get(
    "/v1/decisions/suggestions",
    summary="The best suggestions across the customers in scope (销售机会挖掘)",
    description="Every customer's, target's and prospect's suggestions, best first (score, "
    "then the customer's name); branch managers see their own branch only.",
    response_model=SuggestionPage,
    responses=responses(401, 403, 422, 503),
    dependencies=[fresh(*SUGGESTION_READ_MODELS)],
)
def suggestions_view(
    _: Annotated[StaffMember, Depends(Allowed(OVERSIGHT))],
    where: InScope,
    conn: Reads,
    s: ServicesDep,
    as_of: AsOf = None,
    kind: SuggestionKind | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SuggestionPage:
    moment = as_of or s.app.clock()
    start = decode_cursor(cursor, _CURSOR_TAG) if cursor is not None else 0
    if start < 0:
        raise InvalidCursorError("cursor is not one this service issued")
    ranked = [
        r
        for r in suggestions_in_scope(conn, where, as_of=moment)
        if kind is None or r.suggestion.kind is kind
    ]
    chosen = ranked[start : start + limit]
    end = start + len(chosen)
    return SuggestionPage(
        as_of=moment,
        items=[
            CustomerSuggestion(
                **SuggestionItem.of(r.suggestion).model_dump(),
                relationship_id=r.suggestion.relationship_id,
                name=r.name,
                branch=r.branch,
            )
            for r in chosen
        ],
        next_cursor=encode_cursor(end, _CURSOR_TAG) if end < len(ranked) else None,
    )
