"""The customer-value tables: every shipment's charges, the revenue of the delivered ones,
and the position of the last change to a purchase."""

from __future__ import annotations

from application.store.schema import Migration

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
