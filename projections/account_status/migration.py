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


#: The interactions of each relationship counted per day (UTC), so that "interactions in
#: the last 90 days" reads at most one row per day and the boundary day's own rows, however
#: many interactions the relationship has had. The counts are made from the rows already
#: there, with the interactions' table locked against the writer meanwhile; the read
#: model's position does not move.
INTERACTION_DAYS_MIGRATION = Migration(
    "0043_account_interaction_days",
    "account status: each relationship's interactions counted per day",
    [
        """
        CREATE TABLE account_interaction_day (
            relationship_id uuid NOT NULL,
            day date NOT NULL,
            interactions integer NOT NULL CHECK (interactions > 0),
            PRIMARY KEY (relationship_id, day)
        )
        """,
        "LOCK TABLE account_interaction IN SHARE MODE",
        """
        INSERT INTO account_interaction_day (relationship_id, day, interactions)
        SELECT relationship_id, (happened_at AT TIME ZONE 'UTC')::date, count(*)
        FROM account_interaction GROUP BY 1, 2
        """,
    ],
)
