"""The activity tables: the relationships as the activity reads scope them, every contact
(each lifetime of a contact id, from its addition to its removal) and each of its changes,
and one row per interaction or customer-care action."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0029_activity",
    "activity read model: contacts with their history, interactions and care actions",
    [
        """
        CREATE TABLE activity_relationship (
            relationship_id uuid PRIMARY KEY,
            name text NOT NULL,
            kind text NOT NULL,
            branch text NOT NULL,
            field_rep text,
            office_rep text
        )
        """,
        "CREATE INDEX activity_relationship_branch_idx ON activity_relationship (branch)",
        "CREATE INDEX activity_relationship_office_rep_idx ON activity_relationship (office_rep)",
        """
        CREATE TABLE activity_contact (
            relationship_id uuid NOT NULL,
            added_position bigint NOT NULL,
            contact_id text NOT NULL,
            name text NOT NULL,
            title text,
            phone text,
            email text,
            added_at timestamptz NOT NULL,
            added_by text NOT NULL,
            removed_position bigint,
            removed_at timestamptz,
            removed_by text,
            position bigint NOT NULL,
            PRIMARY KEY (relationship_id, added_position)
        )
        """,
        "CREATE UNIQUE INDEX activity_contact_current_idx "
        "ON activity_contact (relationship_id, contact_id) WHERE removed_position IS NULL",
        """
        CREATE TABLE activity_contact_change (
            position bigint PRIMARY KEY,
            relationship_id uuid NOT NULL,
            added_position bigint NOT NULL,
            change text NOT NULL,
            actor text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            changes jsonb NOT NULL
        )
        """,
        "CREATE INDEX activity_contact_change_contact_idx "
        "ON activity_contact_change (relationship_id, added_position, position)",
        """
        CREATE TABLE activity_entry (
            position bigint PRIMARY KEY,
            relationship_id uuid NOT NULL,
            kind text NOT NULL,
            entry_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            channel text,
            direction text,
            care_kind text,
            summary text NOT NULL,
            staff text NOT NULL,
            contact_id text,
            actor text NOT NULL
        )
        """,
        "CREATE INDEX activity_entry_relationship_idx "
        "ON activity_entry (relationship_id, occurred_at DESC, position DESC)",
        "CREATE INDEX activity_entry_staff_idx "
        "ON activity_entry (staff, occurred_at DESC, position DESC)",
        "CREATE INDEX activity_entry_time_idx ON activity_entry (occurred_at DESC, position DESC)",
    ],
)
