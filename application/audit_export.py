"""A customer's audit package: everything an auditor needs to prove offline that the
customer's history is complete and unaltered.

A zip archive with:

* ``history.jsonl`` — the customer's entries 1..N (its relationship's events and those of
  everything that belongs to it), in log order, one JSON object per line: the readable
  entry (as ``GET …/history`` gives it), the stored entry exactly as logged (``stored``:
  topic, state in base64, recording time in microseconds, the hash chain's ``prev_hash``
  and ``chain_hash``) and its proofs (``proof``: the customer's sequence number and chain
  hash, the Merkle leaf index and the RFC 9162 inclusion proof);
* ``checkpoint.note`` and ``verifier_key.txt`` — the C2SP checkpoint signed when packing
  (``application.proofs.checkpoints``) and the key that verifies it;
* ``customer.json`` — the customer, and the proof of its head in the checkpoint's map;
* ``cosignatures.json`` — each trusted witness's latest countersigned checkpoint up to this
  one (a C2SP cosignature, ``application/proofs/witness.py``), with a consistency proof to
  it, and the witnesses' verifier keys;
* ``checkpoint.json``, ``public_key.pem``, ``verification.json`` — the hash chain's
  checkpoint, its key, and the service's verification of the whole chain;
* ``evidence/<sha256>`` — each file an entry attaches as evidence (``domain/evidence.py``:
  the photos, survey reports and proofs of delivery of its incidents, claims, handovers and
  interactions), as the evidence store holds it; one that is not there is left out (and
  the offline verifier names it);
* ``verify_package.py`` with the modules it runs (``application.proofs``: ``merkle``,
  ``customer_map``, ``entries``, ``note``, copied verbatim) and ``README.md``.

``verify_package.py`` needs Python and ``cryptography`` only: it finds a deleted, inserted,
reordered, edited or re-hashed entry, a package cut short, and a readable field that is
not the stored one, and names the entry.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Mapper
from psycopg.rows import dict_row

from application.evidence import ATTACHING_TOPICS, EvidenceStore
from application.jsonable import jsonable
from application.personal_data import PersonalDataMapper
from application.progress import Progress
from application.proofs import sealed
from application.proofs.checkpoints import log_origin, sign_tree_head, verifier_of
from application.proofs.customer_map import key_of, map_proof
from application.proofs.entries import micros_of
from application.proofs.note import open_checkpoint
from application.proofs.tree import CustomerEntry, LogTree
from application.proofs.witness import latest_cosignatures, trusted_witnesses
from application.store.database import Database
from application.store.integrity import public_key_pem, sign_head, verify
from application.store.schema import EVENTS_TABLE
from domain.ownership import aggregate_type_of
from projections.history.queries import history_entry

PROOFS = Path(__file__).resolve().parent / "proofs"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The modules an auditor runs offline, carried verbatim into every package.
OFFLINE_MODULES = (
    "verify_package.py",
    "merkle.py",
    "customer_map.py",
    "entries.py",
    "note.py",
    "sealed.py",
)

README = """# Audit package of {name} ({relationship_id})

Packed {packed_at} by the Fullchain CRM service: the customer's {entries} entries, from its
first to its last in the log of {size} entries that `checkpoint.note` signs.

Re-check offline (Python 3.11 with the `cryptography` package, nothing else):

    unzip audit-package.zip -d package && python package/verify_package.py package

It proves, or names the entry that fails and why:

1. `checkpoint.note` (a C2SP signed checkpoint: the log's origin, size, Merkle root, the
   root of the map of every customer's head, the time of signing) is signed by the key in
   `verifier_key.txt` — compare that key with `GET /v1/audit/verifier-key` and with the
   one you keep;
2. every entry of `history.jsonl`, recomputed from its stored form, is in that log (its
   RFC 9162 inclusion proof);
3. the entries are the customer's entries 1..N in log order, each chained to the one
   before (customer sequence and chain hash, in `proof`);
4. the customer's head in the signed map (`customer.json`: its proof) is entry N: nothing
   is missing before, between or after the entries here;
5. the readable fields of each entry are its stored facts;
6. each file an entry attaches as evidence is in `evidence/`, named by the SHA-256 of its
   bytes as the entry records it;
7. each witness's countersigned checkpoint in `cosignatures.json` is signed by the log and
   cosigned by the witness (c2sp.org/tlog-cosignature v1: the time of cosigning and the
   whole checkpoint, under the witness's key in `witness_keys` — compare those with what
   the witnesses publish), and `checkpoint.note` extends it: the log showed the witness the
   history it shows here. A cosignature kept from before they were timestamped (a plain
   note signature) is checked by its own rule and shown as such.

Later, online: `GET /v1/audit/proofs/consistency?first={size}` proves today's log extends
this checkpoint (check it with `merkle.verify_consistency`); `checkpoint.json` and
`public_key.pem` are the hash chain's checkpoint, for `POST /v1/audit/verify`.

`verification.json` is the service's own verification of the whole hash chain when packing.
"""


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _entry(
    mapper: Mapper[Any], row: Mapping[str, Any], found: CustomerEntry, path: list[bytes]
) -> dict[str, Any]:
    readable: dict[str, Any] = jsonable(
        history_entry(mapper, {**row, "aggregate_type": aggregate_type_of(row["topic"])})
    )
    readable["stored"] = {
        "topic": row["topic"],
        "state": base64.b64encode(bytes(row["state"])).decode(),
        "recorded_at_micros": micros_of(row["recorded_at"]),
        "prev_hash": bytes(row["prev_hash"]).hex(),
        "chain_hash": bytes(row["chain_hash"]).hex(),
    }
    readable["proof"] = {
        "seq": found.seq,
        "leaf_index": found.leaf_index,
        "customer_chain": found.chain.hex(),
        "inclusion": [base64.b64encode(p).decode() for p in path],
    }
    return readable


def package_entries(
    database: Database,
    mapper: Mapper[Any],
    tree: LogTree,
    relationship_id: UUID,
    size: int,
    *,
    batch: int = 2000,
    progress: Progress | None = None,
) -> Iterator[dict[str, Any]]:
    """The customer's entries in the tree of ``size`` leaves, each with its stored form and
    its proofs, a batch at a time; ``progress`` is told the entries given, of all."""
    found = tree.customer_entries(relationship_id, size)
    if progress is not None:
        progress(ENTRIES_STAGE, 0, len(found))
    with database.connect() as conn:
        for start in range(0, len(found), batch):
            part = found[start : start + batch]
            paths = tree.inclusion_proofs([e.leaf_index for e in part], size)
            rows = {
                int(r["position"]): r
                for r in conn.cursor(row_factory=dict_row).execute(
                    "SELECT notification_id AS position, originator_id AS aggregate_id, "
                    "originator_version AS version, topic, state, recorded_at, prev_hash, "
                    f"chain_hash FROM {EVENTS_TABLE} WHERE notification_id = ANY(%s)",
                    ([e.position for e in part],),
                )
            }
            for e, path in zip(part, paths, strict=True):
                yield _entry(mapper, rows[e.position], e, path)
            if progress is not None:
                progress(ENTRIES_STAGE, start + len(part), len(found))


#: What ``package_entries`` tells its ``progress`` it walks.
ENTRIES_STAGE = "customer's entries"
#: What ``pack`` tells its ``progress`` as it copies the evidence files in.
FILES_STAGE = "evidence files"


@dataclass(frozen=True)
class AuditPackage:
    """A packed audit package: the zip archive, the customer's entries in it, the size of
    the tree whose signed head it carries."""

    content: bytes
    entries: int
    size: int


def build(
    database: Database,
    mapper: Mapper[Any],
    key: Ed25519PrivateKey,
    relationship_id: UUID,
    *,
    name: str,
    now: datetime,
    key_in_database: bool,
    evidence: EvidenceStore,
) -> bytes:
    """The audit package as a zip archive: the customer's entries as the tree head signed
    now holds them, with every proof an auditor needs offline."""
    return pack(
        database,
        mapper,
        key,
        relationship_id,
        name=name,
        now=now,
        key_in_database=key_in_database,
        evidence=evidence,
    ).content


def pack(
    database: Database,
    mapper: Mapper[Any],
    key: Ed25519PrivateKey,
    relationship_id: UUID,
    *,
    name: str,
    now: datetime,
    key_in_database: bool,
    evidence: EvidenceStore,
    progress: Progress | None = None,
) -> AuditPackage:
    """``build``'s package, with what it holds; ``progress`` is told each long walk: the
    tree brought up to the log, the hash chain verified, the customer's entries packed,
    the evidence files they attach copied in (none: nothing told)."""
    tree = LogTree(database, mapper)
    origin = log_origin()
    signed = sign_tree_head(
        tree, key, origin=origin, now=now, key_in_database=key_in_database, progress=progress
    )
    head = open_checkpoint(signed, verifier_of(key, origin))
    heads = tree.customer_heads(head.size)
    customer_key = key_of(relationship_id)
    chain_checkpoint = sign_head(database, key)
    verification = verify(database, progress=progress)
    buffer = io.BytesIO()
    entries = 0
    attached: list[str] = []
    sealed_under: set[UUID] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("history.jsonl", "w") as history:
            for entry in package_entries(
                database, mapper, tree, relationship_id, head.size, progress=progress
            ):
                history.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
                stored_state = json.loads(base64.b64decode(entry["stored"]["state"]))
                sealed_under |= sealed.key_ids(stored_state)
                entries += 1
                if entry["stored"]["topic"] in ATTACHING_TOPICS:
                    attached.append(entry["data"]["sha256"])
        files = list(dict.fromkeys(attached))
        for done, sha256 in enumerate(files, start=1):
            data = evidence.get(sha256)
            if data is not None:
                archive.writestr(f"evidence/{sha256}", data)
            if progress is not None:
                progress(FILES_STAGE, done, len(files))
        archive.writestr("checkpoint.note", signed)
        if isinstance(mapper, PersonalDataMapper):
            opened = mapper.keys.raw_keys(sealed_under)
            archive.writestr(
                "personal_keys.json",
                json.dumps(
                    {
                        "about": "The data keys of the personal fields this package shows; "
                        "the keys of erased people are destroyed and not here.",
                        "keys": {str(k): base64.b64encode(v).decode() for k, v in opened.items()},
                    },
                    indent=2,
                ),
            )
        archive.writestr(
            "cosignatures.json",
            json.dumps(
                {
                    "witness_keys": [w.encode() for w in trusted_witnesses()],
                    "cosignatures": [
                        {
                            "witness": witness,
                            "size": size,
                            "checkpoint": note,
                            "consistency": [
                                base64.b64encode(p).decode()
                                for p in tree.consistency(size, head.size).proof
                            ],
                        }
                        for witness, size, note in latest_cosignatures(database, head.size)
                    ],
                },
                indent=2,
            ),
        )
        archive.writestr("verifier_key.txt", verifier_of(key, origin).encode() + "\n")
        archive.writestr(
            "customer.json",
            json.dumps(
                {
                    "relationship_id": str(relationship_id),
                    "name": name,
                    "entries": entries,
                    "map_proof": [
                        base64.b64encode(p).decode() for p in map_proof(heads, customer_key)
                    ]
                    if entries
                    else [],
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        archive.writestr("checkpoint.json", json.dumps(chain_checkpoint.as_dict(), indent=2))
        archive.writestr(
            "verification.json",
            json.dumps(
                {
                    "intact": verification.intact,
                    "summary": verification.summary(),
                    "intact_up_to": verification.intact_up_to,
                    "head_hash": verification.head_hash,
                    "broken_at": verification.broken_at,
                    "reason": verification.reason,
                },
                indent=2,
            ),
        )
        archive.writestr("public_key.pem", public_key_pem(key))
        for module in OFFLINE_MODULES:
            archive.writestr(module, (PROOFS / module).read_text(encoding="utf-8"))
        archive.writestr(
            "README.md",
            README.format(
                name=name,
                relationship_id=relationship_id,
                packed_at=now.isoformat(),
                entries=entries,
                size=head.size,
            ),
        )
    return AuditPackage(buffer.getvalue(), entries, head.size)
