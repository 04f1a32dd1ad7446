"""Customer value read model: the revenue that realised value, RFM, retention and the
value models are computed from.

Per customer it keeps its **shipments** with their charges (``value_shipment``) and, for
each delivered one, its **revenue** per currency (``value_revenue``): the sum of its
invoices if it has any (per currency), else its standing quote (a new quote replaces the
one before). A delivered shipment is a purchase, dated by its delivery; a shipment that is
cancelled or still on its way earns nothing yet. Money is kept per currency and never
converted; every total is a map from currency to amount, and the value models run per
currency (``projections.value_queries``).

Potential value, open opportunities and service cases come from the write side's read
models (``projections.opportunities``, ``projections.cases``); ``sla_breached`` says in SQL
when a case's SLA is breached at the time of asking.

``value_inputs`` holds the log position of the last event that changed any revenue row, so
the fitted value models are refitted only when a purchase history changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.schema import Migration
from domain.shipment import Shipment
from projections.engine import BatchProjection, Connection, ProjectedEvent

MIGRATION = Migration(
    "0013_customer_value",
    "customer-value read model: charges and revenue of delivered shipments",
    [
        """
        CREATE TABLE value_shipment (
            shipment_id uuid PRIMARY KEY,
            customer_id uuid NOT NULL,
            delivered_at timestamptz,
            cancelled boolean NOT NULL,
            quoted jsonb NOT NULL,
            invoiced jsonb NOT NULL,
            invoices integer NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX value_shipment_customer_idx ON value_shipment (customer_id, delivered_at)",
        """
        CREATE TABLE value_revenue (
            shipment_id uuid NOT NULL,
            currency text NOT NULL,
            customer_id uuid NOT NULL,
            delivered_at timestamptz NOT NULL,
            amount numeric NOT NULL,
            invoiced boolean NOT NULL,
            PRIMARY KEY (shipment_id, currency)
        )
        """,
        "CREATE INDEX value_revenue_customer_idx ON value_revenue (customer_id, currency)",
        "CREATE INDEX value_revenue_delivered_idx ON value_revenue (delivered_at)",
        """
        CREATE TABLE value_inputs (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            purchases_position bigint NOT NULL
        )
        """,
    ],
)

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


def sla_breached(now: str, case: str = "c") -> str:
    """SQL: whether the SLA of the ``service_case`` row ``case`` is breached at ``now`` (an
    SQL expression): either clock's breach moment (``projections.cases``) has passed."""
    return (
        f"(COALESCE({case}.first_response_breach_after < {now}, false) "
        f"OR COALESCE({case}.resolution_breach_after < {now}, false))"
    )


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
        for item in events:
            sid = item.event.originator_id
            rows[sid] = apply_event(rows[sid], item)
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
        self._write_revenue(conn, written, events[-1].position)

    def _write_revenue(self, conn: Connection, shipments: list[Row], position: int) -> None:
        """Each delivered shipment's revenue rows, rewritten; the models' inputs move on
        when any revenue row changed."""
        ids = [row["shipment_id"] for row in shipments]
        before = conn.execute(
            "SELECT shipment_id, currency, amount, delivered_at FROM value_revenue "
            "WHERE shipment_id = ANY(%s)",
            (ids,),
        ).fetchall()
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
        if {(r[0], r[1], Decimal(r[2]), r[3]) for r in before} == {
            (r[0], r[1], r[4], r[3]) for r in after
        }:
            return
        with conn.cursor() as cur:
            cur.execute("DELETE FROM value_revenue WHERE shipment_id = ANY(%s)", (ids,))
            if after:
                cur.executemany(
                    "INSERT INTO value_revenue (shipment_id, currency, customer_id, "
                    "delivered_at, amount, invoiced) VALUES (%s, %s, %s, %s, %s, %s)",
                    after,
                )
            cur.execute(
                "INSERT INTO value_inputs (singleton, purchases_position) VALUES (true, %s) "
                "ON CONFLICT (singleton) DO UPDATE "
                "SET purchases_position = EXCLUDED.purchases_position",
                (position,),
            )
