"""The account-status tables: one row per relationship, one per interaction."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0003_account_status",
    "account-status read model",
    [
        """
        CREATE TABLE account_status (
            relationship_id uuid PRIMARY KEY,
            name text NOT NULL,
            kind text NOT NULL,
            lifecycle text NOT NULL,
            industry text NOT NULL,
            key_account boolean NOT NULL,
            region text NOT NULL,
            branch text NOT NULL,
            field_rep text,
            office_rep text,
            contact_count integer NOT NULL,
            last_interaction_at timestamptz,
            last_interaction_channel text,
            care_action_count integer NOT NULL,
            registered_position bigint NOT NULL UNIQUE,
            registered_at timestamptz NOT NULL,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX account_status_kind_idx ON account_status (kind, registered_position)",
        "CREATE INDEX account_status_branch_idx ON account_status (branch, registered_position)",
        "CREATE INDEX account_status_field_rep_idx ON account_status (field_rep)",
        "CREATE INDEX account_status_office_rep_idx ON account_status (office_rep)",
        """
        CREATE TABLE account_interaction (
            relationship_id uuid NOT NULL,
            interaction_id uuid NOT NULL,
            happened_at timestamptz NOT NULL,
            channel text NOT NULL,
            PRIMARY KEY (relationship_id, interaction_id)
        )
        """,
        "CREATE INDEX account_interaction_recent_idx "
        "ON account_interaction (relationship_id, happened_at)",
    ],
)
