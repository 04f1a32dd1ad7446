"""The offering table, one row per service offering.

One migration, 0011, created the tables of both sales read models, the offerings' and the
opportunities' (``projections.opportunities.migration``); databases record it as applied
under that id, so it stays one migration made of the two.
"""

from __future__ import annotations

from application.store.schema import Migration
from projections.opportunities.migration import OPPORTUNITY_TABLE

OFFERING_TABLE = (
    """
    CREATE TABLE offering (
        offering_id uuid PRIMARY KEY,
        name text NOT NULL,
        description text,
        origin text NOT NULL,
        destination text NOT NULL,
        mode text NOT NULL,
        service_level text NOT NULL,
        transit_days integer NOT NULL,
        label text NOT NULL,
        status text NOT NULL,
        launched_at timestamptz NOT NULL,
        launched_position bigint NOT NULL UNIQUE,
        version bigint NOT NULL,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX offering_status_idx ON offering (status, launched_position)",
)

MIGRATION = Migration(
    "0011_sales_read_models",
    "read models of service offerings and opportunities",
    [*OFFERING_TABLE, *OPPORTUNITY_TABLE],
)
