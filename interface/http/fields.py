"""The field types request bodies share: how long a name, a reason or a free text may be, what
a staff id, a currency code and a rating look like, and what an amount of money may be."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

#: A name, a title, an origin or destination.
Name = Annotated[str, Field(min_length=1, max_length=200)]
#: An industry, a region, a branch, a reference.
Short = Annotated[str, Field(min_length=1, max_length=80)]
Reason = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
STAFF_ID_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
StaffId = Annotated[str, Field(min_length=1, max_length=64, pattern=STAFF_ID_PATTERN)]
Currency = Annotated[
    str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD", examples=["USD"])
]
Rating = Annotated[int, Field(ge=1, le=5)]


def amount(description: str, example: str) -> Any:
    """The field of an amount of money, positive, to the cent, at most a trillion:
    ``Annotated[Decimal, amount("What the customer is charged", "9450.00")]``."""
    return Field(
        gt=0,
        le=Decimal("1000000000000"),
        decimal_places=2,
        description=f"{description}, as a string or a number",
        examples=[example],
    )
