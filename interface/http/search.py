"""GET /v1/search: one search over relationships, their contacts and shipments, by name
(Chinese substrings, pinyin in full and initials, Latin whatever its case and width),
contact name, phone, email, shipment reference and transport document (AWB, B/L); ranked,
paged and branch-scoped; ``min_position`` waits until the reader's own writes are in."""

# No `from __future__ import annotations`: FastAPI reads these annotations at run time.

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from application.tokens import StaffMember
from domain.personal import contact_subject
from domain.relationship import RelationshipKind
from interface.http.deps import Allowed, NoNul, Reads, fresh
from interface.http.errors import responses
from interface.http.permissions import READ
from interface.http.reads import Cursor, Limit, NextCursor
from interface.http.routing import OneTripRoute
from interface.http.scoping import visible_accounts
from projections.search.queries import SEARCH_READ_MODELS, SearchScope, search
from projections.search.text import MAX_QUERY_LENGTH, query_key

router = APIRouter(route_class=OneTripRoute, prefix="/v1/search", tags=["search"])

Kind = Literal["relationship", "contact", "shipment"]


def _searchable(text: str) -> str:
    if not query_key(text):
        raise PydanticCustomError("query_empty", "the query holds no letter or digit")
    return text


Q = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description="What to look for: part of a name (华芯), its pinyin (huaxin) or "
        "initials (hxdz), a contact's name, phone or email, a shipment's reference or a "
        "transport document's number; case and width do not matter",
    ),
    NoNul,
    AfterValidator(_searchable),
]


class SearchHit(BaseModel):
    kind: Kind
    relationship_id: UUID = Field(
        description="The relationship, the contact's, the shipment's customer"
    )
    relationship_name: str = Field(description="The relationship's name now")
    relationship_kind: RelationshipKind
    branch: str = Field(description="The relationship's branch")
    shipment_id: UUID | None
    contact_id: str | None
    person_id: UUID | None = Field(
        description="A contact's data subject (GET /v1/people/{person_id}); null for others"
    )
    label: str = Field(description="The relationship's or contact's name, the shipment's reference")
    matched: str = Field(
        description="What the query was found in: a name, phone, email, reference or document"
    )
    match: Literal["exact", "prefix", "substring"] = Field(
        description="Whether the query is the whole of what it was found in, its start, or a part"
    )
    position: int = Field(description="Log position of the last event applied to the entry")


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: NextCursor


@router.get(
    "",
    summary="Search relationships, contacts and shipments",
    description="Best matches first: the whole of a name, phone, email, reference or "
    "document before its start before a part of it; relationships before contacts before "
    "shipments. Staff of a branch find their branch's relationships, their contacts and "
    "shipments, and the company's partners and competitors.",
    response_model=SearchPage,
    responses=responses(401, 422, 503),
    dependencies=[fresh(*SEARCH_READ_MODELS)],
)
def search_everything(
    staff: Annotated[StaffMember, Depends(Allowed(READ))],
    conn: Reads,
    q: Q,
    kind: Kind | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchPage:
    visible = visible_accounts(staff)
    scope = None if visible is None else SearchScope(visible[0], visible[1])
    rows, next_cursor = search(conn, q, scope=scope, kind=kind, limit=limit, cursor=cursor)
    return SearchPage(
        items=[
            SearchHit.model_validate(
                {
                    **r,
                    "person_id": (
                        contact_subject(r["relationship_id"], r["contact_id"]).subject_id
                        if r["kind"] == "contact" and r["contact_id"]
                        else None
                    ),
                }
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )
