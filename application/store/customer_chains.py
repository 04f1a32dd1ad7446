"""Each customer's own sequence and chain, fixed when an entry is appended.

Every entry that belongs to a customer (``domain.ownership``) gets, in the transaction
that appends it, the customer's next sequence number and chain hash
(``application.proofs.customer_map``: ``c(0)`` is 32 zero bytes, ``c(s) = SHA-256(c(s-1)
‖ s (int8) ‖ leaf hash of the entry)``, the leaf hash being the log's Merkle leaf,
``fullchain_leaf_hash``). The log's chain trigger (``application.store.integrity``) does it,
so every way into the log gets them: a command, a group of commands, an import, the
library's own ``save``; appends are serialised by the lock on the log, so two entries of a
customer never get the same number, and an append that rolls back takes its numbers with it.

Stored:

* ``fullchain_owner``: the customer of every aggregate that belongs to one, recorded with
  the aggregate's first event;
* ``fullchain_customer_seq``: the customer, sequence number and chain hash of each
  entry, by its position, unique per (customer, number);
* ``fullchain_customer_head`` (a view): each customer's last number and chain hash.

The tree builder (``application.proofs.tree``) reads them and computes none: the map of
the customers' heads at a tree size is the one these numbers and chains give. Only the
log's trigger writes them (the runtime role may read them, ``application.store.schema``).

**The cost on the append**, for an entry of a customer: one statement (the owner looked
up by aggregate, the customer's last entry read backwards from the (customer, number)
index, the new one inserted) and a SHA-256 of the entry; the first event of an aggregate
also records its owner. The head is read from that index rather than kept in a row of
its own: a head row rewritten by every append of a customer leaves a dead version each
time, and updating it measured about twice the cost of the insert alone. The trigger
spells out the bytes of the entry that the log's chain hash and the leaf hash both cover
(the expressions of ``fullchain_chain_hash`` and ``fullchain_leaf_hash``) and computes
them once: calling those SQL functions from PL/pgSQL costs more than everything else the
trigger does for a customer.

**Who owns a new aggregate** is read in SQL from its first event's stored state, by
``OWNER_FIELDS`` (the aggregate type's field naming the customer; a relationship owns
itself). The state is the library's JSON, a UUID in it ``{"_type_": "uuid_hex", "_data_":
hex}``; the fields naming a customer are never sealed (``application.personal_data``
seals personal fields only). Reading the owner from the row, rather than having every
caller of the append pass it in, covers every path into the log alike (commands, group
commits, imports, the demo's seeding, the library's ``save``) and adds no parameter and no
round trip: a caller cannot forget it. A test holds ``OWNER_FIELDS`` to
``domain.ownership.OWNERS``; a change to the map needs a migration that replaces
``fullchain_customer_chain``.

A first event of an owned type that names no customer, or a later event of an owned
aggregate whose first event is not in the log, is refused: the customer's chain could
not be complete.
"""

from __future__ import annotations

from collections.abc import Mapping

from application.proofs.customer_map import GENESIS
from application.store.schema import EVENTS_TABLE, Migration

#: Per aggregate type that belongs to a customer: the field of its first event naming the
#: customer (``originator_id``: the aggregate itself).
OWNER_FIELDS: Mapping[str, str] = {
    "Relationship": "originator_id",
    "Shipment": "customer_id",
    "Opportunity": "relationship_id",
    "ServiceCase": "relationship_id",
    "CompetitorProfile": "relationship_id",
    "FollowUp": "relationship_id",
    "CarePlan": "relationship_id",
}

_GENESIS = f"'\\x{GENESIS.hex()}'::bytea"


def _owner_expression(e: str) -> str:
    """SQL: the customer named by the first event ``e`` of an aggregate of type
    ``aggregate_type`` (NULL for a type that belongs to no customer)."""
    cases = []
    for aggregate_type, field in OWNER_FIELDS.items():
        if field == "originator_id":
            value = f"{e}.originator_id"
        else:
            value = f"(convert_from({e}.state, 'UTF8')::json -> '{field}' ->> '_data_')::uuid"
        cases.append(f"WHEN '{aggregate_type}' THEN {value}")
    return f"CASE aggregate_type {' '.join(cases)} END"


def _entry_bytes(e: str) -> str:
    """SQL: the bytes of the entry ``e`` that the log's chain hash (after the previous hash)
    and its leaf hash (after ``0x00``) cover, as ``fullchain_chain_hash`` and
    ``fullchain_leaf_hash`` spell them: a plain expression, which PL/pgSQL evaluates
    without calling a function."""
    return f"""int8send({e}.notification_id)
                || uuid_send({e}.originator_id)
                || int8send({e}.originator_version)
                || int4send(octet_length(convert_to({e}.topic, 'UTF8')))
                || convert_to({e}.topic, 'UTF8')
                || int4send(octet_length({e}.state))
                || {e}.state
                || int8send((extract(epoch FROM {e}.recorded_at) * 1000000)::bigint)"""


_OWNED_TYPES = ", ".join(f"'{t}'" for t in OWNER_FIELDS)

#: The variables ``_chain`` uses (``entry``: the entry's bytes, ``_entry_bytes``).
_DECLARE = """
            entry bytea;
            aggregate_type text;
            customer uuid;
            leaf bytea;
            chained int;
"""

#: The next number and chain of the customer, from its head, recorded for the entry
#: (``{owner}``: where the customer is read from; ``{e}``: the entry).
_NEXT = f"""
                INSERT INTO fullchain_customer_seq (position, customer_id, seq, chain)
                SELECT {{e}}.notification_id, o.customer_id, coalesce(h.seq, 0) + 1,
                    sha256(
                        coalesce(h.chain, {_GENESIS}) || int8send(coalesce(h.seq, 0) + 1) || leaf
                    )
                FROM {{owner}}
                LEFT JOIN LATERAL (
                    SELECT s.seq, s.chain FROM fullchain_customer_seq s
                    WHERE s.customer_id = o.customer_id ORDER BY s.seq DESC LIMIT 1
                ) AS h ON true
                {{where}};
"""


def _chain(e: str) -> str:
    """PL/pgSQL: give the entry ``e`` (about to be appended) its customer's next number and
    chain, if it belongs to a customer; one statement for an aggregate's later entries."""
    first = _NEXT.format(owner="(SELECT customer AS customer_id) AS o", where="", e=e)
    later = _NEXT.format(
        owner="fullchain_owner AS o", where=f"WHERE o.aggregate_id = {e}.originator_id", e=e
    )
    return f"""
            aggregate_type := split_part({e}.topic, '.', 1);
            IF aggregate_type IN ({_OWNED_TYPES}) THEN
                leaf := sha256('\\x00'::bytea || entry);
                IF {e}.originator_version = 1 THEN
                    customer := {_owner_expression(e)};
                    IF customer IS NULL THEN
                        RAISE EXCEPTION 'the first event of % % names no customer',
                            aggregate_type, {e}.originator_id;
                    END IF;
                    -- A conflict here is the event's own (its version taken): the insert
                    -- of the event reports it.
                    INSERT INTO fullchain_owner (aggregate_id, customer_id)
                    VALUES ({e}.originator_id, customer) ON CONFLICT DO NOTHING;
                    {first}
                ELSE
                    {later}
                    GET DIAGNOSTICS chained = ROW_COUNT;
                    IF chained = 0 THEN
                        RAISE EXCEPTION 'aggregate % has entries but no first one',
                            {e}.originator_id;
                    END IF;
                END IF;
            END IF;
"""


#: What the log holds, chained: the entries the tree builder chained, as it chained them,
#: then those it has not taken yet, in log order, as the trigger chains them; the log
#: locked (no append meanwhile).
BACKFILL = [
    "INSERT INTO fullchain_owner (aggregate_id, customer_id) "
    "SELECT aggregate_id, customer_id FROM fullchain_tree_owner",
    "INSERT INTO fullchain_customer_seq (position, customer_id, seq, chain) "
    "SELECT l.position, c.customer_id, c.seq, c.chain FROM fullchain_customer_entry c "
    "JOIN fullchain_tree_leaf l ON l.idx = c.leaf_index",
    f"""
    DO $$
    DECLARE
        r {EVENTS_TABLE};
    BEGIN
        FOR r IN SELECT * FROM {EVENTS_TABLE} WHERE notification_id > (
            SELECT coalesce(max(position), 0) FROM fullchain_tree_leaf
        ) ORDER BY notification_id LOOP
            PERFORM fullchain_customer_chain(r);
        END LOOP;
    END
    $$
    """,
]

MIGRATION = Migration(
    "0041_customer_chains",
    "each customer's sequence number and chain hash, fixed when an entry is appended",
    [
        # No append while the chains of what the log holds are completed.
        f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE",
        """
        CREATE TABLE fullchain_owner (
            aggregate_id uuid PRIMARY KEY,
            customer_id uuid NOT NULL
        )
        """,
        """
        CREATE TABLE fullchain_customer_seq (
            position bigint PRIMARY KEY,
            customer_id uuid NOT NULL,
            seq bigint NOT NULL CHECK (seq >= 1),
            chain bytea NOT NULL,
            UNIQUE (customer_id, seq)
        )
        """,
        # Each customer's head: its last entry, read from the index the append reads it from.
        """
        CREATE VIEW fullchain_customer_head AS
        SELECT DISTINCT ON (customer_id) customer_id, seq, chain
        FROM fullchain_customer_seq ORDER BY customer_id, seq DESC
        """,
        # The same, for the entries already in the log (``BACKFILL``).
        f"""
        CREATE FUNCTION fullchain_customer_chain(e {EVENTS_TABLE}) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE {_DECLARE}
        BEGIN
            entry := {_entry_bytes("e")}; {_chain("e")}
        END
        $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION fullchain_chain_event() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            prev bytea; {_DECLARE}
        BEGIN
            SELECT chain_hash INTO prev FROM {EVENTS_TABLE}
            WHERE notification_id < NEW.notification_id
            ORDER BY notification_id DESC LIMIT 1;
            NEW.prev_hash := COALESCE(prev, {_GENESIS});
            entry := {_entry_bytes("NEW")};
            -- fullchain_chain_hash(NEW.prev_hash, NEW), spelled out.
            NEW.chain_hash := sha256(NEW.prev_hash || entry);
            {_chain("NEW")}
            RETURN NEW;
        END
        $$
        """,
        *BACKFILL,
    ],
)
