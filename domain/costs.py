"""What a link costs us (the seed's UPS example: cost, time and quality controlled at each
point of the chain), and what headquarters decides about a partner's record (奖惩,
rewards and penalties).

A link's cost is what the party running it charges us: the partner (an airline, a
trucker, a warehouse) or our own branch (an internal charge). It is known twice:

* **planned** — the rate agreed when the link is booked, or when it is replanned; it may
  be set and changed until the link completes;
* **actual** — what the party invoices once the link has completed (the last link
  completes with the delivery), with the party's invoice reference; a corrected invoice
  replaces it.

Either may be in any currency; the scorecards sum them per currency, never across.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.values import currency_code, exact_decimal


@dataclass(frozen=True)
class Money:
    """An exact amount in an ISO 4217 currency."""

    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | int, currency: str, *, field: str = "amount") -> Money:
        """Validated: a positive, finite amount and a three-letter code (upper-cased)."""
        return cls(exact_decimal(amount, field), currency_code(currency))

    def as_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True)
class LinkCost:
    """A link's cost: planned, and actual once invoiced by the party that ran it."""

    sequence: int
    planned: Money | None = None
    actual: Money | None = None
    invoice_reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned.as_dict() if self.planned else None,
            "actual": self.actual.as_dict() if self.actual else None,
            "invoice_reference": self.invoice_reference,
        }
