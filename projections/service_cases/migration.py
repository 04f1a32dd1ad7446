"""The service-case table, one row per case with its SLA clocks."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0012_service_cases",
    "service-case read model with SLA clocks",
    [
        """
        CREATE TABLE service_case (
            case_id uuid PRIMARY KEY,
            relationship_id uuid NOT NULL,
            shipment_id uuid,
            incident_id uuid,
            kind text NOT NULL,
            priority text NOT NULL,
            status text NOT NULL,
            subject text NOT NULL,
            owner text,
            opened_at timestamptz NOT NULL,
            opened_by text NOT NULL,
            first_response_due timestamptz NOT NULL,
            first_responded_at timestamptz,
            first_response_breach_after timestamptz,
            resolution_due timestamptz NOT NULL,
            resolved_at timestamptz,
            resolution_breach_after timestamptz,
            escalations integer NOT NULL,
            reopenings integer NOT NULL,
            satisfaction integer,
            closed_at timestamptz,
            opened_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX service_case_relationship_idx ON service_case (relationship_id)",
        "CREATE INDEX service_case_status_idx ON service_case (status, opened_position)",
    ],
)
