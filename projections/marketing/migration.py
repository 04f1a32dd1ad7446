"""The marketing tables: segments and campaigns, and what each campaign reached — contacts
and responses, prospects registered, opportunities opened from it, money spent."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0033_marketing",
    "marketing read models: segments, campaigns and campaign results",
    [
        """
        CREATE TABLE marketing_segment (
            segment_id uuid PRIMARY KEY,
            name text NOT NULL,
            description text,
            rules jsonb NOT NULL,
            owner_branch text,
            state text NOT NULL,
            defined_by text NOT NULL,
            defined_at timestamptz NOT NULL,
            defined_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE marketing_campaign (
            campaign_id uuid PRIMARY KEY,
            name text NOT NULL,
            segment_id uuid NOT NULL,
            offering_id uuid NOT NULL,
            starts_on date NOT NULL,
            ends_on date NOT NULL,
            budget numeric NOT NULL,
            currency text NOT NULL,
            spent numeric NOT NULL,
            state text NOT NULL,
            owner_branch text,
            planned_by text NOT NULL,
            planned_at timestamptz NOT NULL,
            planned_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        """
        CREATE TABLE marketing_contact (
            campaign_id uuid NOT NULL,
            relationship_id uuid NOT NULL,
            contacts integer NOT NULL,
            first_contacted_at timestamptz NOT NULL,
            last_contacted_at timestamptz NOT NULL,
            response text,
            responded_at timestamptz,
            PRIMARY KEY (campaign_id, relationship_id)
        )
        """,
        """
        CREATE TABLE marketing_prospect (
            campaign_id uuid NOT NULL,
            relationship_id uuid NOT NULL,
            registered_at timestamptz NOT NULL,
            PRIMARY KEY (campaign_id, relationship_id)
        )
        """,
        """
        CREATE TABLE marketing_spend (
            campaign_id uuid NOT NULL,
            branch text NOT NULL,
            amount numeric NOT NULL,
            PRIMARY KEY (campaign_id, branch)
        )
        """,
        """
        CREATE TABLE marketing_opportunity (
            opportunity_id uuid PRIMARY KEY,
            campaign_id uuid NOT NULL,
            relationship_id uuid NOT NULL,
            expected_value numeric NOT NULL,
            currency text NOT NULL,
            status text NOT NULL,
            won_at timestamptz
        )
        """,
        "CREATE INDEX marketing_opportunity_campaign_idx ON marketing_opportunity (campaign_id)",
    ],
)
