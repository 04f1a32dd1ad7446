"""Searching: the entries whose keys contain the query, found through the grams' GIN index
(``grams @> query grams``), checked against the keys, ranked and paged.

Rank: how well the best key matched (the whole key, its start, anywhere in it), then what
the entry is (relationships before contacts before shipments), then the order the entries
came into being. The cursor names that rank and the entry's place, so a page follows the
one before it for the same query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.freshness import InvalidCursorError, ReadConnection, decode_cursor, page
from projections.search.text import match_rank, query_grams, query_key, term_keys

#: The read models a search waits for.
SEARCH_READ_MODELS = ("search",)

KINDS = ("relationship", "contact", "shipment")
MATCHES = ("exact", "prefix", "substring")
#: The rank and the entry's place share one sortable number: rank << _PLACE_BITS | place.
_PLACE_BITS = 40
_CURSOR_TAG = "s"


@dataclass(frozen=True)
class SearchScope:
    """Whose entries a search may find: those of relationships of ``branch`` or of one of
    ``kinds`` (the company's partners and competitors); None: every branch's."""

    branch: str
    kinds: frozenset[str]


SEARCH_SQL = f"""
WITH candidate AS (
    -- Every entry holding the query's grams, its rank from one pass over its keys, sorted
    -- narrow (ids and rank only): a query most names hold sorts numbers, not rows.
    SELECT e.entry_id, e.relationship_id, r.match_rank, s.sort_key
    FROM search_entry e
    CROSS JOIN LATERAL (
        SELECT min(CASE WHEN k = %(key)s THEN 0
                        WHEN starts_with(k, %(key)s) THEN 1
                        WHEN strpos(k, %(key)s) > 0 THEN 2 END) AS match_rank
        FROM unnest(e.keys) k
    ) r
    CROSS JOIN LATERAL (
        SELECT ((r.match_rank * 3 + CASE e.kind WHEN 'relationship' THEN 0
                                                WHEN 'contact' THEN 1 ELSE 2 END)::bigint
                << {_PLACE_BITS}) | e.created_position AS sort_key
    ) s
    WHERE e.grams @> %(grams)s::text[]
      AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)
      AND r.match_rank IS NOT NULL
      AND (%(after)s::bigint IS NULL OR s.sort_key > %(after)s)
    ORDER BY s.sort_key
    OFFSET 0
)
-- In that order, each candidate's owner by its key (OFFSET 0 keeps it a lookup per
-- candidate, never a scan of a branch's owners) until a page is full: the owners and the
-- rows of the candidates past the page are never read.
SELECT x.entry_id, x.kind, c.relationship_id, o.name AS relationship_name,
       o.kind AS relationship_kind, o.branch, x.shipment_id, x.contact_id, x.label, x.terms,
       x.keys, c.match_rank, c.sort_key, x.position
FROM candidate c
CROSS JOIN LATERAL (
    SELECT name, kind, branch FROM search_owner o
    WHERE o.relationship_id = c.relationship_id OFFSET 0
) o
CROSS JOIN LATERAL (
    SELECT * FROM search_entry x WHERE x.entry_id = c.entry_id OFFSET 0
) x
WHERE %(branch)s::text IS NULL OR o.branch = %(branch)s OR o.kind = ANY(%(kinds)s)
ORDER BY c.sort_key
LIMIT %(limit)s
"""


def search(
    conn: ReadConnection,
    query: str,
    *,
    scope: SearchScope | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the entries that match ``query``, best first, and the cursor of the next.
    A query that folds to nothing (only punctuation) finds nothing."""
    key = query_key(query)
    if not key:
        return [], None
    rows = conn.execute(
        SEARCH_SQL, search_parameters(key, scope=scope, kind=kind, limit=limit, cursor=cursor)
    ).fetchall()
    rows, next_cursor = page(rows, limit, "sort_key", _CURSOR_TAG)
    return [_answer(row, key) for row in rows], next_cursor


def search_parameters(
    key: str, *, scope: SearchScope | None, kind: str | None, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The parameters of ``SEARCH_SQL`` for a query's key (``text.query_key``)."""
    return {
        "key": key,
        "grams": query_grams(key),
        "kind": kind,
        "branch": None if scope is None else scope.branch,
        "kinds": [] if scope is None else sorted(scope.kinds),
        "after": None if cursor is None else _after(cursor),
        "limit": limit + 1,
    }


def _after(cursor: str) -> int:
    after = decode_cursor(cursor, _CURSOR_TAG)
    if not 0 <= after < 1 << 62:
        raise InvalidCursorError("cursor is not one this service issued")
    return after


def _answer(row: dict[str, Any], key: str) -> dict[str, Any]:
    rank = int(row["match_rank"])
    matched = next(
        (
            term
            for i, term in enumerate(row["terms"])
            if any(match_rank(k, key) == rank for k in term_keys(row["kind"], i, term))
        ),
        row["label"],
    )
    return {
        "kind": row["kind"],
        "relationship_id": row["relationship_id"],
        "relationship_name": row["relationship_name"],
        "relationship_kind": row["relationship_kind"],
        "branch": row["branch"],
        "shipment_id": row["shipment_id"],
        "contact_id": row["contact_id"],
        "label": row["label"],
        "matched": matched,
        "match": MATCHES[rank],
        "position": row["position"],
    }
