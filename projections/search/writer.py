"""The search writer: an entry per relationship (its name), per current contact (name,
phone, email) and per shipment (its reference and the transport documents signed at its
handovers: AWB, B/L, CMR…), each with its keys and their grams (``projections.search.text``);
and per relationship, what scopes and names its entries now (``search_owner``: name, kind,
branch), so a rename or a move to another branch changes one row.

A renamed relationship is found by its new name only; a removed contact is found no more.
Every row is what the events up to it say, whatever the batches: an entry is rewritten
whole from its terms, and a row of an earlier batch is read back before it is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.personal import ERASED, is_erased
from domain.relationship import Relationship, RelationshipKind
from domain.shipment import Shipment
from projections.engine import BatchProjection, Connection, ProjectedEvent
from projections.erasure import Erasure, is_erasure
from projections.search.migration import MIGRATION
from projections.search.text import all_grams, entry_keys

R = Relationship
S = Shipment

#: Events that change a relationship's kind, and the kind they leave it.
_KIND_CHANGES: dict[type, RelationshipKind] = {
    R.QualifiedAsTarget: RelationshipKind.TARGET,
    R.ReturnedToProspect: RelationshipKind.PROSPECT,
    R.BecameCustomer: RelationshipKind.CUSTOMER,
}
_TOPICS = frozenset(
    {
        "Relationship.Registered",
        "Relationship.Renamed",
        "Relationship.MovedToBranch",
        "Relationship.ContactAdded",
        "Relationship.ContactChanged",
        "Relationship.ContactRemoved",
        "Relationship.QualifiedAsTarget",
        "Relationship.ReturnedToProspect",
        "Relationship.BecameCustomer",
        "Relationship.PersonalDataErased",
        "Shipment.Booked",
        "Shipment.CustodyHandedOver",
    }
)

ENTRY_COLUMNS = (
    "entry_id",
    "kind",
    "relationship_id",
    "shipment_id",
    "contact_id",
    "label",
    "terms",
    "keys",
    "grams",
    "created_position",
    "position",
)
OWNER_COLUMNS = ("relationship_id", "name", "kind", "branch", "position")


def _upsert(table: str, columns: Sequence[str]) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        f"ON CONFLICT ({columns[0]}) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    )


_UPSERT_ENTRY = _upsert("search_entry", ENTRY_COLUMNS)
_UPSERT_OWNER = _upsert("search_owner", OWNER_COLUMNS)


def relationship_entry_id(relationship_id: UUID) -> str:
    return f"r:{relationship_id}"


def contact_entry_id(relationship_id: UUID, contact_id: str) -> str:
    return f"c:{relationship_id}:{contact_id}"


def shipment_entry_id(shipment_id: UUID) -> str:
    return f"s:{shipment_id}"


def entry_row(
    entry_id: str,
    kind: str,
    relationship_id: UUID,
    terms: list[str | None],
    *,
    created_position: int,
    position: int,
    shipment_id: UUID | None = None,
    contact_id: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    keys = entry_keys(kind, terms)
    return {
        "entry_id": entry_id,
        "kind": kind,
        "relationship_id": relationship_id,
        "shipment_id": shipment_id,
        "contact_id": contact_id,
        "label": label or terms[0] or "",
        "terms": terms,
        "keys": keys,
        "grams": all_grams(keys),
        "created_position": created_position,
        "position": position,
    }


def _contact_terms(contact: dict[str, Any]) -> list[str | None]:
    """A contact's search terms: an erased field is no term (nobody finds a contact by
    "[erased]", nor by what it was)."""
    return [
        None if is_erased(v) else v
        for v in (contact["name"], contact.get("phone"), contact.get("email"))
    ]


def _contact_entry(
    rid: UUID, contact_id: str, terms: list[str | None], *, created: int, position: int
) -> dict[str, Any] | None:
    """A contact's entry; none once every term of it is erased."""
    if not any(terms):
        return None
    eid = contact_entry_id(rid, contact_id)
    return entry_row(
        eid,
        "contact",
        rid,
        terms,
        created_position=created,
        position=position,
        contact_id=contact_id,
        label=terms[0] or ERASED,
    )


class SearchProjection(BatchProjection):
    name = "search"
    migration = MIGRATION
    tables = ("search_entry", "search_owner")

    def handles(self, topic: str) -> bool:
        return topic in _TOPICS

    def apply_batch(self, conn: Connection, events: Sequence[ProjectedEvent]) -> None:
        owners, entries = self._earlier_rows(conn, events)
        for item in events:
            self._apply(owners, entries, item)
        with conn.cursor() as cur:
            if owners:
                cur.executemany(_UPSERT_OWNER, list(owners.values()))
            written = [row for row in entries.values() if row is not None]
            removed = [eid for eid, row in entries.items() if row is None]
            if removed:
                cur.execute("DELETE FROM search_entry WHERE entry_id = ANY(%s)", (removed,))
            if written:
                cur.executemany(_UPSERT_ENTRY, written)

    @staticmethod
    def _earlier_rows(
        conn: Connection, events: Sequence[ProjectedEvent]
    ) -> tuple[dict[UUID, dict[str, Any]], dict[str, dict[str, Any] | None]]:
        """The rows of earlier batches the events change (read once, before applying)."""
        owner_ids: set[UUID] = set()
        entry_ids: set[str] = set()
        for item in events:
            e = item.event
            if isinstance(e, R.Registered | S.Booked):
                continue
            if isinstance(e, R.Event):
                owner_ids.add(e.originator_id)
                if isinstance(e, R.Renamed):
                    entry_ids.add(relationship_entry_id(e.originator_id))
                elif isinstance(e, R.ContactChanged):
                    entry_ids.add(contact_entry_id(e.originator_id, e.contact["contact_id"]))
                elif is_erasure(e) and (erasure := Erasure.of(e)).contact_fields:
                    entry_ids.add(contact_entry_id(e.originator_id, erasure.ref))
            elif isinstance(e, S.CustodyHandedOver) and e.reference:
                entry_ids.add(shipment_entry_id(e.originator_id))
        owners: dict[UUID, dict[str, Any]] = {}
        entries: dict[str, dict[str, Any] | None] = {}
        with conn.cursor() as cur:
            if owner_ids:
                cur.execute(
                    f"SELECT {', '.join(OWNER_COLUMNS)} FROM search_owner "
                    "WHERE relationship_id = ANY(%s)",
                    (list(owner_ids),),
                )
                for values in cur.fetchall():
                    row = dict(zip(OWNER_COLUMNS, values, strict=True))
                    owners[row["relationship_id"]] = row
            if entry_ids:
                cur.execute(
                    f"SELECT {', '.join(ENTRY_COLUMNS)} FROM search_entry WHERE entry_id = ANY(%s)",
                    (list(entry_ids),),
                )
                for values in cur.fetchall():
                    row = dict(zip(ENTRY_COLUMNS, values, strict=True))
                    entries[row["entry_id"]] = row
        return owners, entries

    @staticmethod
    def _apply(
        owners: dict[UUID, dict[str, Any]],
        entries: dict[str, dict[str, Any] | None],
        item: ProjectedEvent,
    ) -> None:
        e, position = item.event, item.position
        rid = e.originator_id
        if isinstance(e, R.Registered):
            owners[rid] = {
                "relationship_id": rid,
                "name": e.name,
                "kind": str(e.kind),
                "branch": e.branch,
                "position": position,
            }
            entries[relationship_entry_id(rid)] = entry_row(
                relationship_entry_id(rid),
                "relationship",
                rid,
                [e.name],
                created_position=position,
                position=position,
            )
            return
        if isinstance(e, S.Booked):
            entries[shipment_entry_id(rid)] = entry_row(
                shipment_entry_id(rid),
                "shipment",
                e.customer_id,
                [e.reference],
                created_position=position,
                position=position,
                shipment_id=rid,
            )
            return
        if isinstance(e, S.CustodyHandedOver):
            entry = entries.get(shipment_entry_id(rid))
            if entry is None or not e.reference or e.reference in entry["terms"]:
                return
            entries[entry["entry_id"]] = entry_row(
                entry["entry_id"],
                "shipment",
                entry["relationship_id"],
                [*entry["terms"], e.reference],
                created_position=entry["created_position"],
                position=position,
                shipment_id=rid,
            )
            return
        owner = owners.get(rid)
        if owner is None:
            return  # a relationship this index never saw registered
        owner["position"] = position
        if isinstance(e, R.Renamed):
            owner["name"] = e.name
            entry = entries.get(relationship_entry_id(rid))
            entries[relationship_entry_id(rid)] = entry_row(
                relationship_entry_id(rid),
                "relationship",
                rid,
                [e.name],
                created_position=position if entry is None else entry["created_position"],
                position=position,
            )
        elif isinstance(e, R.MovedToBranch):
            owner["branch"] = e.branch
        elif type(e) in _KIND_CHANGES:
            owner["kind"] = str(_KIND_CHANGES[type(e)])
        elif isinstance(e, R.ContactAdded | R.ContactChanged):
            eid = contact_entry_id(rid, e.contact["contact_id"])
            entry = entries.get(eid)
            entries[eid] = _contact_entry(
                rid,
                e.contact["contact_id"],
                _contact_terms(e.contact),
                created=position if entry is None else entry["created_position"],
                position=position,
            )
        elif isinstance(e, R.ContactRemoved):
            entries[contact_entry_id(rid, e.contact_id)] = None
        elif is_erasure(e):
            erasure = Erasure.of(e)
            entry = entries.get(contact_entry_id(rid, erasure.ref))
            if entry is None or not erasure.contact_fields:
                return
            name, phone, email = entry["terms"]
            gone = set(erasure.contact_fields)
            terms = [
                None if "name" in gone else name,
                None if "phone" in gone else phone,
                None if "email" in gone else email,
            ]
            entries[entry["entry_id"]] = _contact_entry(
                rid, erasure.ref, terms, created=entry["created_position"], position=position
            )
