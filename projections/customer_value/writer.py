"""The customer-value writer: the revenue that realised value, RFM, retention and the value
models are computed from.

Per customer it keeps its **shipments** with their charges (``value_shipment``) and, for
each delivered one, its **revenue** per currency (``value_revenue``): the sum of its
invoices if it has any (per currency), else its standing quote (a new quote replaces the
one before). A delivered shipment is a purchase, dated by its delivery; a shipment that is
cancelled or still on its way earns nothing yet. Money is kept per currency and never
converted; every total is a map from currency to amount, and the value models run per
currency (``projections.customer_value.queries``).

Potential value, open opportunities and service cases come from the write side's read
models (``projections.opportunities``, ``projections.service_cases``).

``value_inputs`` holds the log position of the last event that changed a purchase — a
delivered shipment's customer, currency, delivery time or amount, as the value models read
them — so the fitted value models are refitted only when a purchase history changed. It is
found event by event, so it is the same however the log was cut into batches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from projections.customer_value.migration import MIGRATION
from projections.engine import BatchProjection, Connection, ProjectedEvent

Row = dict[str, Any]

COLUMNS = (
    "shipment_id",
    "customer_id",
    "delivered_at",
    "cancelled",
    "quoted",
    "invoiced",
    "invoices",
    "position",
)

_UPSERT = (
    f"INSERT INTO value_shipment ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join('%(' + c + ')s' for c in COLUMNS)}) "
    "ON CONFLICT (shipment_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)

S = Shipment


def shipment_revenue(row: Row) -> dict[str, Decimal]:
    """A shipment's revenue per currency: its invoices if it has any, else its quote."""
    charges: dict[str, str] = row["invoiced"] if row["invoices"] else row["quoted"]
    return {currency: Decimal(amount) for currency, amount in charges.items()}


def purchases(row: Row | None) -> frozenset[tuple[Any, ...]]:
    """The shipment's purchases as the value models read them: (customer, currency,
    delivery time, amount); none unless it was delivered and not cancelled."""
    if row is None or row["delivered_at"] is None or row["cancelled"]:
        return frozenset()
    return frozenset(
        (row["customer_id"], currency, row["delivered_at"], amount)
        for currency, amount in shipment_revenue(row).items()
    )


def apply_event(row: Row | None, item: ProjectedEvent) -> Row | None:
    """The shipment's row after one event (``None`` while there is no row)."""
    e = item.event
    if isinstance(e, S.Booked):
        row = {
            "shipment_id": e.originator_id,
            "customer_id": e.customer_id,
            "delivered_at": None,
            "cancelled": False,
            "quoted": {},
            "invoiced": {},
            "invoices": 0,
        }
    elif row is None:
        return None
    elif isinstance(e, S.Delivered):
        row["delivered_at"] = e.occurred_at
    elif isinstance(e, S.Cancelled):
        row["cancelled"] = True
    elif isinstance(e, S.ChargesQuoted):
        row["quoted"] = {e.currency: str(e.amount)}  # a new quote replaces the one before
    elif isinstance(e, S.Invoiced):
        before = Decimal(row["invoiced"].get(e.currency, 0))
        row["invoiced"] = {**row["invoiced"], e.currency: str(before + e.amount)}
        row["invoices"] += 1
    row["position"] = item.position
    return row


class CustomerValueProjection(BatchProjection):
    name = "customer_value"
    migration = MIGRATION
    tables = ("value_shipment", "value_revenue", "value_inputs")

    def handles(self, topic: str) -> bool:
        return topic.startswith("Shipment.")

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        ids = list({item.event.originator_id for item in events})
        rows: dict[UUID, Row | None] = dict.fromkeys(ids)
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT {', '.join(COLUMNS)} FROM value_shipment WHERE shipment_id = ANY(%s)",
                (ids,),
            )
            for values in cur.fetchall():
                rows[values[0]] = dict(zip(COLUMNS, values, strict=True))
        purchases_changed_at = 0
        for item in events:
            sid = item.event.originator_id
            before = purchases(rows[sid])
            rows[sid] = apply_event(rows[sid], item)
            if purchases(rows[sid]) != before:
                purchases_changed_at = item.position
        written = [row for row in rows.values() if row is not None]
        with conn.cursor() as cur:
            cur.executemany(
                _UPSERT,
                [
                    row
                    | {"quoted": json.dumps(row["quoted"]), "invoiced": json.dumps(row["invoiced"])}
                    for row in written
                ],
            )
        self._write_revenue(conn, written)
        if purchases_changed_at:
            conn.execute(
                "INSERT INTO value_inputs (singleton, purchases_position) VALUES (true, %s) "
                "ON CONFLICT (singleton) DO UPDATE "
                "SET purchases_position = EXCLUDED.purchases_position",
                (purchases_changed_at,),
            )

    def _write_revenue(self, conn: Connection, shipments: list[Row]) -> None:
        """Each shipment's revenue rows, rewritten: one per currency once it is delivered
        (whether invoiced or not, so the rows say which)."""
        ids = [row["shipment_id"] for row in shipments]
        after = [
            (
                row["shipment_id"],
                currency,
                row["customer_id"],
                row["delivered_at"],
                amount,
                row["invoices"] > 0,
            )
            for row in shipments
            if row["delivered_at"] is not None and not row["cancelled"]
            for currency, amount in shipment_revenue(row).items()
        ]
        with conn.cursor() as cur:
            cur.execute("DELETE FROM value_revenue WHERE shipment_id = ANY(%s)", (ids,))
            if after:
                cur.executemany(
                    "INSERT INTO value_revenue (shipment_id, currency, customer_id, "
                    "delivered_at, amount, invoiced) VALUES (%s, %s, %s, %s, %s, %s)",
                    after,
                )
