"""A customer's audit package: everything an auditor needs to prove offline that the
customer's history is complete and unaltered.

A zip archive with:

* ``history.jsonl`` — the customer's entries 1..N (its relationship's events and those of
  everything that belongs to it), in log order, one JSON object per line: the readable
  entry (as ``GET …/history`` gives it, except that the fields today's code adds to an
  entry written by an older version of its event are shown apart, in ``derived``), the
  stored entry exactly as logged (``stored``: topic, state in base64, recording time in
  microseconds, the hash chain's ``prev_hash`` and ``chain_hash``) and its proofs
  (``proof``: the customer's sequence number and chain hash, the Merkle leaf index and
  the RFC 9162 inclusion proof);
* ``checkpoint.note`` and ``verifier_key.txt`` — the C2SP checkpoint signed when packing
  (``application.proofs.checkpoints``) and the key that verifies it;
* ``customer.json`` — the customer, and the proof of its head in the checkpoint's map;
* ``cosignatures.json`` — each trusted witness's latest countersigned checkpoint up to this
  one (a C2SP cosignature, ``application/proofs/witness.py``), with a consistency proof to
  it, and the witnesses' verifier keys;
* ``checkpoint.json``, ``public_key.pem``, ``verification.json`` — the hash chain's
  checkpoint, its key, and the service's verification of the whole chain (continued
  from its last: ``integrity.verify_extending``);
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
import functools
import io
import json
import queue
import re
import threading
import zipfile
from binascii import b2a_base64
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import orjson
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Mapper, StoredEvent

from application.evidence import ATTACHING_TOPICS, EvidenceStore
from application.jsonable import jsonable
from application.personal_data import PersonalDataMapper
from application.progress import Progress
from application.proofs.checkpoints import log_origin, signed_tree_head, verifier_of
from application.proofs.customer_map import MapProofError
from application.proofs.note import open_checkpoint
from application.proofs.tree import LogTree
from application.proofs.witness import latest_cosignatures, trusted_witnesses
from application.store.database import Database
from application.store.integrity import (
    Checkpoint,
    Verification,
    public_key_pem,
    sign_head,
    verify_extending,
)
from application.store.schema import EVENTS_TABLE
from domain.ownership import aggregate_type_of
from projections.history.queries import readable_entry

PROOFS = Path(__file__).resolve().parent / "proofs"

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
5. the readable fields of each entry are its stored facts: its data, who recorded it and
   when, and its command's ids; a field shown under `derived` is one today's code adds to
   an entry written by an older version of its event — shown, counted, not proved;
6. each file an entry attaches as evidence is in `evidence/`, named by the SHA-256 of its
   bytes as the entry records it;
7. each witness's countersigned checkpoint in `cosignatures.json` is signed by the log and
   cosigned by the witness (c2sp.org/tlog-cosignature v1: the time of cosigning and the
   whole checkpoint, under the witness's key in `witness_keys` — compare those with what
   the witnesses publish), not dated before the log signed it, and `checkpoint.note`
   extends it: the log showed the witness the history it shows here. A cosignature kept
   from before they were timestamped (a plain note signature) is checked by its own rule
   and shown as such.

Later, online: `GET /v1/audit/proofs/consistency?first={size}` proves today's log extends
this checkpoint (check it with `merkle.verify_consistency`); `checkpoint.json` and
`public_key.pem` are the hash chain's checkpoint, for `POST /v1/audit/verify`.

`verification.json` is the service's own verification of the whole hash chain when packing:
the entries after its last verification (`checked_from`) are checked against the chain
hash that one ended at, and `whole_chain_walked_at` says when the whole chain was last
walked (`fullchain verify` walks it all). It is the service's word; items 1 to 7 are the
proof.
"""


#: One entry of ``history.jsonl`` as its line (without the line's end), in UTF-8. Its data
#: is plain JSON already (``jsonable``); its ids and times are written by orjson as
#: ``jsonable`` writes them (``str(uuid)``, ``datetime.isoformat()``), without making each
#: a string in Python first (what orjson has no form of, ``jsonable`` gives).
line_of = functools.partial(orjson.dumps, default=jsonable)
#: The lines of ``history.jsonl`` handed to the compressing thread at once (about 1.4 MB):
#: the thread takes the interpreter's lock back after each chunk, waiting out the thread
#: making the lines (up to its switch interval), so a chunk is not small; and the last
#: chunk is compressed after the last line is made, while nothing else is left to do, so
#: a chunk is not large either (it takes what has queued up meanwhile: ``_Behind``).
_LINES_PER_WRITE = 500


class _Behind:
    """Writes to ``target`` in a thread of its own, in the order written: a zip member's
    compression (zlib lets other threads run meanwhile) goes on while the next lines are
    made; the chunks that queued up while it wrote are written at once, in one call.
    Closing waits for every write, and raises what a write raised."""

    def __init__(self, target: IO[bytes]) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)

    def _run(self, target: IO[bytes]) -> None:
        ended = False
        while not ended:
            chunks = [self._chunks.get()]  # one at least, then those queued meanwhile
            while chunks[-1] is not None and not self._chunks.empty():
                chunks.append(self._chunks.get_nowait())
            ended = chunks[-1] is None  # the last: nothing is written after it
            data = b"".join(chunk for chunk in chunks if chunk is not None)
            if data and self._failed is None:
                try:
                    target.write(data)
                except BaseException as error:  # raised where the writing began
                    self._failed = error

    def write(self, chunk: bytes) -> None:
        if self._failed is not None:
            raise self._failed
        self._chunks.put(chunk)

    def __enter__(self) -> _Behind:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._failed is not None and exc[0] is None:
            raise self._failed


def _entry(
    mapper: Mapper[Any],
    row: tuple[Any, ...],
    path: list[bytes],
    path_text: dict[bytes, str],
) -> dict[str, Any]:
    """One line of ``history.jsonl``: the readable entry (``history_entry``'s, its ids and
    times left for ``line_of``), its stored form and its proofs. ``row``: as
    ``_CUSTOMER_BATCH`` reads it. ``path_text``: the base64 of the audit paths' nodes,
    shared by the paths of a batch (most of their nodes are)."""
    (seq, leaf_index, customer_chain, _, position, aggregate_id, version, topic, state,
     recorded_at, micros, prev_hash, chain) = row  # fmt: skip
    state = bytes(state)
    event: Any = mapper.to_domain_event(StoredEvent(aggregate_id, version, topic, state))
    try:
        inclusion = list(map(path_text.__getitem__, path))
    except KeyError:  # a node no path before held
        for node in path:
            if node not in path_text:
                path_text[node] = b2a_base64(node, newline=False).decode()
        inclusion = list(map(path_text.__getitem__, path))
    readable = readable_entry(
        event,
        position=position,
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type_of(topic),
        version=version,
        topic=topic,
        recorded_at=recorded_at,
    )
    line = readable  # ids and times as they are: written by ``line_of``
    line["stored"] = {
        "topic": topic,
        "state": b2a_base64(state, newline=False).decode(),
        "recorded_at_micros": micros,
        "prev_hash": bytes(prev_hash).hex(),
        "chain_hash": bytes(chain).hex(),
    }
    line["proof"] = {
        "seq": seq,
        "leaf_index": leaf_index,
        "customer_chain": customer_chain.hex(),
        "inclusion": inclusion,
    }
    data = line["data"]
    version_now = getattr(type(event), "class_version", 1)
    if (
        version_now > 1
        and not state.endswith(_written_by(version_now))
        and _stored_version(state) < version_now
    ):
        # Upcast when read: the fields today's code adds to an older entry are not in the
        # stored entry, so they are shown apart, as derived, and not as its facts.
        stored_names = json.loads(state).keys()
        derived = {name: data.pop(name) for name in list(data) if name not in stored_names}
        if derived:
            line["derived"] = derived
    return line


#: Where a stored state says which version of its event's class wrote it (the
#: transcoder writes it last: the state is searched from its end).
_CLASS_VERSION = b'"class_version":'
_DIGITS = re.compile(rb"\s*(\d+)")


@functools.cache
def _written_by(version: int) -> bytes:
    """How a state written by ``version`` of its event's class ends, as the transcoder
    writes it (most do: the version named last, no space)."""
    return b"%s%d}" % (_CLASS_VERSION, version)


def _stored_version(state: bytes) -> int:
    """The version of the event class that wrote a stored state (1 when it names none)."""
    at = state.rfind(_CLASS_VERSION)
    found = _DIGITS.match(state, at + len(_CLASS_VERSION)) if at >= 0 else None
    return int(found.group(1)) if found else 1


#: The customer's entries numbered from %s to %s (a customer's numbers run 1..N without a
#: gap: a range of them is a batch, read from the primary key however long the customer's
#: history), each with its customer proof (sequence number, leaf index, customer chain,
#: leaf hash) and its stored entry (position, aggregate id, version, topic, state,
#: recording time, and in µs since 1970, previous and chain hash); in no order (sorted by
#: the reader: the database would sort the states too).
_CUSTOMER_BATCH = f"""
    SELECT c.seq, c.leaf_index, c.chain, l.hash, e.notification_id, e.originator_id,
        e.originator_version, e.topic, e.state, e.recorded_at,
        (extract(epoch FROM e.recorded_at) * 1000000)::bigint, e.prev_hash, e.chain_hash
    FROM fullchain_customer_entry c
    JOIN fullchain_tree_leaf l ON l.idx = c.leaf_index
    JOIN {EVENTS_TABLE} e ON e.notification_id = l.position
    WHERE c.customer_id = %s AND c.seq BETWEEN %s AND %s AND c.leaf_index < %s
"""


def package_entries(
    database: Database,
    mapper: Mapper[Any],
    tree: LogTree,
    relationship_id: UUID,
    size: int,
    *,
    batch: int = 500,
    progress: Progress | None = None,
    conn: psycopg.Connection[Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """The customer's entries in the tree of ``size`` leaves, each with its stored form and
    its proofs, a batch at a time (small, and each entry given as it is made: what a
    package holds at once stays young, so the collector of cyclic garbage rarely walks
    the whole process's objects while packing): a batch's entries and their customer
    proofs read in one query (sent while the batch before is decoded) and their audit
    paths from the tree at once, the keys of their sealed fields fetched at once;
    ``progress`` is told the entries given, of all. On ``conn`` (the package's own, used
    by nothing else meanwhile), or a connection of its own."""
    prefetched = getattr(mapper, "prefetched", None)
    path_text: dict[bytes, str] = {}
    with database.connected(conn, purpose="audit package") as conn:
        total = tree.customer_entry_count(relationship_id, size, conn)
        if progress is not None:
            progress(ENTRIES_STAGE, 0, total)
        known: dict[tuple[int, int], bytes] = {}
        with conn.pipeline():
            # Each batch's query is sent before the batch before it is decoded, and its
            # rows read after: the database runs it meanwhile, on the other core, and no
            # thread of ours waits for it or competes for the interpreter's lock.
            coming = _send_batch(conn, relationship_id, 0, batch, size) if total else None
            for after in range(0, total, batch):
                assert coming is not None
                rows = coming.fetchall()
                rows.sort(key=itemgetter(0))
                leaves = {int(row[1]): row[3] for row in rows}
                paths = tree.inclusion_proofs(list(leaves), size, conn, leaves=leaves, known=known)
                coming = (
                    _send_batch(conn, relationship_id, after + batch, batch, size)
                    if after + batch < total
                    else None
                )
                fetching = (
                    prefetched(row[8] for row in rows) if prefetched is not None else nullcontext()
                )
                with fetching:  # each entry given as it is made: none outlives its line
                    for row, path in zip(rows, paths, strict=True):
                        yield _entry(mapper, row, path, path_text)
                if progress is not None and rows:
                    progress(ENTRIES_STAGE, int(rows[-1][0]), total)
                if len(path_text) > 4 * batch:  # the texts of the few upper nodes are made again
                    path_text.clear()


def _send_batch(
    conn: psycopg.Connection[Any], relationship_id: UUID, after: int, batch: int, size: int
) -> psycopg.Cursor[Any]:
    """The query of the customer's entries numbered after ``after``, sent on ``conn`` (in
    pipeline mode) and not waited for: its cursor's rows are read when wanted. The server
    is asked to send its answer as it is ready (a flush), not only at the next sync."""
    cursor = conn.cursor(binary=True)  # the states, times and hashes as they are
    cursor.execute(_CUSTOMER_BATCH, (relationship_id, after + 1, after + batch, size))
    conn.pgconn.send_flush_request()
    conn.pgconn.flush()
    return cursor


#: What ``package_entries`` tells its ``progress`` it walks.
ENTRIES_STAGE = "customer's entries"
#: What ``pack`` tells its ``progress`` as it copies the evidence files in.
FILES_STAGE = "evidence files"


def _in_map(proof: list[bytes] | None) -> list[bytes]:
    """The proof of the head of a customer with entries, which the map holds."""
    if proof is None:
        raise MapProofError("the customer is not in the map")
    return proof


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
    # The hash chain's checkpoint and verification on connections of their own, in a
    # thread of its own, while the tree head is signed and the entries packed; after the
    # tree and before the entries when the walks are shown (one at a time).
    chain_side = ThreadPoolExecutor(1, "package-chain")

    def chain_work() -> tuple[Future[Checkpoint], Future[Verification]]:
        return (
            chain_side.submit(sign_head, database, key),
            chain_side.submit(verify_extending, database, progress=progress),
        )

    shown = progress is not None
    started = None if shown else chain_work()
    # The package's own reads on one connection (autocommit: the tree is extended a
    # transaction at a time).
    with database.connect(purpose="audit package", autocommit=True) as conn:
        tree = LogTree(database, mapper)
        origin = log_origin()
        signed, customer_proof = signed_tree_head(
            tree,
            key,
            origin=origin,
            now=now,
            key_in_database=key_in_database,
            progress=progress,
            conn=conn,
            customer=relationship_id,
        )
        head = open_checkpoint(signed, verifier_of(key, origin))
        chain_checkpoint, verifying = started or chain_work()
        chain_side.shutdown(wait=shown)
        buffer = io.BytesIO()
        entries = 0
        attached: list[str] = []
        # The keys the entries' personal fields are sealed under, as they are opened.
        opening: AbstractContextManager[set[bytes]] = (
            mapper.opening() if isinstance(mapper, PersonalDataMapper) else nullcontext(set())
        )
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with (
                archive.open("history.jsonl", "w") as member,
                _Behind(member) as history,
                opening as sealed_under,
            ):
                lines: list[bytes] = []
                for entry in package_entries(
                    database, mapper, tree, relationship_id, head.size, progress=progress, conn=conn
                ):
                    lines.append(line_of(entry))
                    entries += 1
                    if entry["stored"]["topic"] in ATTACHING_TOPICS:
                        attached.append(entry["data"]["sha256"])
                    if len(lines) == _LINES_PER_WRITE:
                        history.write(b"\n".join(lines) + b"\n")
                        lines.clear()
                if lines:
                    history.write(b"\n".join(lines) + b"\n")
            files = list(dict.fromkeys(attached))
            for done, sha256 in enumerate(files, start=1):
                data = evidence.get(sha256)
                if data is not None:
                    archive.writestr(f"evidence/{sha256}", data)
                if progress is not None:
                    progress(FILES_STAGE, done, len(files))
            archive.writestr("checkpoint.note", signed)
            if isinstance(mapper, PersonalDataMapper):
                opened = mapper.keys.raw_keys({UUID(bytes=k) for k in sealed_under})
                archive.writestr(
                    "personal_keys.json",
                    json.dumps(
                        {
                            "about": "The data keys of the personal fields this package shows; "
                            "the keys of erased people are destroyed and not here.",
                            "keys": {
                                str(k): base64.b64encode(v).decode() for k, v in opened.items()
                            },
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
                            for witness, size, note in latest_cosignatures(
                                database, head.size, conn
                            )
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
                        "map_proof": [base64.b64encode(p).decode() for p in _in_map(customer_proof)]
                        if entries
                        else [],
                    },
                    indent=2,
                    ensure_ascii=False,
                ),
            )
            archive.writestr(
                "checkpoint.json", json.dumps(chain_checkpoint.result().as_dict(), indent=2)
            )
            verification = verifying.result()
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
                        "checked_from": None
                        if verification.continued_from is None
                        else verification.continued_from + 1,
                        "whole_chain_walked_at": verification.whole_verified_at,
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
