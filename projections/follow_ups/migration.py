"""The follow-up table: one row per follow-up, its state and due time."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0030_follow_ups",
    "follow-up read model: staff's day and the overdue follow-ups",
    [
        """
        CREATE TABLE follow_up (
            follow_up_id uuid PRIMARY KEY,
            relationship_id uuid NOT NULL,
            subject_kind text NOT NULL,
            subject_id uuid NOT NULL,
            kind text NOT NULL,
            due_at timestamptz NOT NULL,
            assignee text NOT NULL,
            note text,
            state text NOT NULL,
            care_plan_id uuid,
            scheduled_at timestamptz NOT NULL,
            scheduled_by text NOT NULL,
            closed_at timestamptz,
            closed_by text,
            interaction_id uuid,
            outcome text,
            cancel_reason text,
            scheduled_position bigint NOT NULL UNIQUE,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX follow_up_assignee_idx ON follow_up (assignee, state, due_at)",
        "CREATE INDEX follow_up_relationship_idx ON follow_up (relationship_id, state, due_at)",
        "CREATE INDEX follow_up_open_idx ON follow_up (due_at) WHERE state = 'open'",
    ],
)
