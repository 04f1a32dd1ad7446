"""What the read endpoints share: how a list is paged, and the answer for one record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query, Response
from pydantic import Field

#: How many items a page holds at the most; each list gives its own default.
Limit = Annotated[int, Query(ge=1, le=500)]
#: Where a page starts: the ``next_cursor`` of the page before.
Cursor = Annotated[str | None, Query(max_length=200)]
#: Where the next page starts.
NextCursor = Annotated[
    str | None, Field(description="Pass as cursor for the next page; null at end")
]


def found(row: dict[str, Any] | None, response: Response, missing: str) -> dict[str, Any]:
    """One record of a read model, its version as ``ETag``; 404 (``missing``) if none."""
    if row is None:
        raise HTTPException(404, missing)
    response.headers["ETag"] = f'"{row["version"]}"'
    return row
