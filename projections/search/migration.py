"""The search index: one row per relationship, contact and shipment (``search_entry``),
with the grams of its keys under a GIN index, and one row per relationship for what scopes
and names every entry of it (``search_owner``: its name, kind and branch now)."""

from __future__ import annotations

from application.store.schema import Migration

MIGRATION = Migration(
    "0028_search",
    "search index over relationships, contacts and shipments",
    [
        """
        CREATE TABLE search_owner (
            relationship_id uuid PRIMARY KEY,
            name text NOT NULL,
            kind text NOT NULL,
            branch text NOT NULL,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX search_owner_branch_idx ON search_owner (branch)",
        """
        CREATE TABLE search_entry (
            entry_id text PRIMARY KEY,
            kind text NOT NULL,
            relationship_id uuid NOT NULL,
            shipment_id uuid,
            contact_id text,
            label text NOT NULL,
            terms text[] NOT NULL,
            keys text[] NOT NULL,
            grams text[] NOT NULL,
            created_position bigint NOT NULL UNIQUE,
            position bigint NOT NULL
        )
        """,
        "CREATE INDEX search_entry_grams_idx ON search_entry USING gin (grams)",
        "CREATE INDEX search_entry_relationship_idx ON search_entry (relationship_id)",
    ],
)
