"""The branch table, one row per registered branch."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0032_branches",
    "the branch registry: names, region, time zone and currency of each branch",
    [
        """
        CREATE TABLE branch (
            code text PRIMARY KEY,
            branch_id uuid NOT NULL UNIQUE,
            name_zh text NOT NULL,
            name_en text NOT NULL,
            region text NOT NULL,
            time_zone text NOT NULL,
            currency text NOT NULL,
            open boolean NOT NULL,
            version bigint NOT NULL,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
    ],
)
