"""The opportunity table, one row per opportunity. It is created by migration 0011 together
with the offering table (``projections.offerings.migration``)."""

from __future__ import annotations

OPPORTUNITY_TABLE = (
    """
    CREATE TABLE opportunity (
        opportunity_id uuid PRIMARY KEY,
        relationship_id uuid NOT NULL,
        title text NOT NULL,
        offering_id uuid NOT NULL,
        stage text NOT NULL,
        status text NOT NULL,
        expected_value numeric NOT NULL,
        currency text NOT NULL,
        probability numeric NOT NULL,
        weighted_value numeric NOT NULL,
        competitor_ids uuid[] NOT NULL,
        lost_to uuid,
        loss_reason text,
        stage_entered_at timestamptz NOT NULL,
        identified_at timestamptz NOT NULL,
        identified_by text NOT NULL,
        decided_at timestamptz,
        evaluation_rating integer,
        identified_position bigint NOT NULL UNIQUE,
        version bigint NOT NULL,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL
    )
    """,
    "CREATE INDEX opportunity_relationship_idx ON opportunity (relationship_id)",
    "CREATE INDEX opportunity_status_idx ON opportunity (status, identified_position)",
    "CREATE INDEX opportunity_competitors_idx ON opportunity USING gin (competitor_ids)",
)
