"""Witnesses: anyone — an auditor, a customer, a partner — who countersigns a checkpoint of
the log after checking that it extends the last one they countersigned. A log that showed
one history to a witness and another to someone else (a split view) cannot get both
countersigned by a witness that keeps its last checkpoint.

A cosigned checkpoint is the log's signed note with the witness's cosignature line added: a
C2SP cosignature (c2sp.org/tlog-cosignature v1, signature type 0x04: the time of cosigning
and the Ed25519 signature of ``cosignature/v1``, that time and the whole checkpoint;
``application.proofs.note``). The service keeps the cosigned checkpoints it is given
(``fullchain_cosignature``) when the witness's key is one it is told to trust
(``FULLCHAIN_WITNESS_KEYS``: verifier keys of type 0x04, or 0x01 for the same key written
the older way); an audit package carries the latest of each witness with a consistency
proof to its own checkpoint.

Cosignatures of the older form — a plain signed-note signature (type 0x01, no time) of the
witness's key over the checkpoint — are no longer taken: ``keep_cosignature`` refuses them
and says so. Those kept before stay in ``fullchain_cosignature`` as they are (a signature
cannot be upgraded without the witness's key): ``latest_cosignatures`` still reads them,
audit packages still carry them, and the offline verifier checks them by the older rule
(the plain signature over the checkpoint text) and shows them as such, without a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from application.proofs.checkpoints import configured_keys, open_by_any
from application.proofs.merkle import ProofError, verify_consistency
from application.proofs.note import (
    CosignatureMissing,
    CosignatureVerifier,
    Cosigner,
    Note,
    NoteError,
    TreeHead,
    Verifier,
)
from application.store.database import Database
from application.store.schema import Migration

WITNESS_KEYS_VARIABLE = "FULLCHAIN_WITNESS_KEYS"

MIGRATION = Migration(
    "0027_cosignatures",
    "checkpoints countersigned by witnesses",
    [
        """
        CREATE TABLE fullchain_cosignature (
            witness text NOT NULL,
            size bigint NOT NULL,
            note text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (witness, size)
        )
        """,
    ],
)


class WitnessRefusal(ValueError):
    """A checkpoint a witness does not countersign, or a cosignature not taken."""


def cosign(
    note: str,
    log: Sequence[Verifier],
    witness: Cosigner,
    *,
    last: str | None,
    proof: Sequence[bytes],
    now: datetime,
) -> str:
    """The checkpoint ``note`` with ``witness``'s cosignature made at ``now`` (whole
    seconds) added, once its log signature holds and, given the ``last`` checkpoint the
    witness countersigned, ``proof`` shows the new tree extends it; ``WitnessRefusal``
    otherwise."""
    try:
        head = open_by_any(note, list(log))
    except NoteError as error:
        raise WitnessRefusal(f"not the log's checkpoint: {error}") from None
    if last is not None:
        try:
            before = open_by_any(last, list(log))
        except NoteError as error:
            raise WitnessRefusal(f"the last checkpoint does not hold: {error}") from None
        _extends(before, head, proof)
    text = Note.parse(note).text
    try:
        return note + witness.cosignature_line(text, int(now.timestamp()))
    except NoteError as error:
        raise WitnessRefusal(str(error)) from None


def _extends(before: TreeHead, head: TreeHead, proof: Sequence[bytes]) -> None:
    if before.origin != head.origin:
        raise WitnessRefusal(f"a checkpoint of {head.origin!r}, not of {before.origin!r}")
    if head.size < before.size:
        raise WitnessRefusal(
            f"the log shrank from {before.size} to {head.size} entries: not countersigned"
        )
    try:
        verify_consistency(before.size, head.size, before.root, head.root, proof)
    except ProofError as error:
        raise WitnessRefusal(
            f"the tree of {head.size} does not extend the one of {before.size} countersigned "
            f"before: {error}"
        ) from None


def trusted_witnesses() -> list[CosignatureVerifier]:
    """The witnesses whose cosignatures the service keeps (``FULLCHAIN_WITNESS_KEYS``:
    C2SP verifier keys of type 0x04, or 0x01, separated by spaces, commas or new lines)."""
    return configured_keys(WITNESS_KEYS_VARIABLE, CosignatureVerifier.decode)


def keep_cosignature(
    database: Database,
    note: str,
    log: Sequence[Verifier],
    witnesses: Sequence[CosignatureVerifier],
) -> list[str]:
    """Keep a cosigned checkpoint: the log's signature must hold and at least one trusted
    witness's cosignature/v1, and every trusted witness's that it carries; the names of the
    witnesses whose cosignatures were kept. A plain note signature of a witness (the older
    form) is refused.

    A cosignature's time is checked as well: not before the log signed the checkpoint (a
    witness cannot have seen it earlier), and in the order of the witness's others, by
    size — a witness never countersigns a smaller tree after a larger one, so a larger
    tree cosigned at an earlier time than a smaller one (or the reverse) is a witness
    whose clock or state went back, and is refused."""
    try:
        head = open_by_any(note, list(log))
        parsed = Note.parse(note)
        signed: list[tuple[CosignatureVerifier, int | None]] = []
        for w in witnesses:
            try:
                cosigned = w.verify(parsed)
            except CosignatureMissing:
                continue
            signed.append((w, cosigned.timestamp))
    except NoteError as error:
        raise WitnessRefusal(str(error)) from None
    if not signed:
        raise WitnessRefusal("the checkpoint carries no cosignature of a trusted witness")
    signed_at = int(head.signed_at.timestamp())
    for w, timestamp in signed:
        if timestamp is not None and timestamp < signed_at:
            raise WitnessRefusal(
                f"the cosignature of {w.name} is dated {_moment(timestamp)}, before the log "
                f"signed the checkpoint ({_moment(signed_at)})"
            )
    with database.connect(purpose="witness") as conn, conn.transaction():
        for w, timestamp in signed:
            # One cosignature of a witness at a time: the order is checked against what
            # is kept, and kept in the same transaction.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"fullchain_cosignature {w.name}",),
            )
            if timestamp is not None:
                _in_order(conn, w, head.size, timestamp)
            conn.execute(
                "INSERT INTO fullchain_cosignature (witness, size, note) VALUES (%s, %s, %s) "
                "ON CONFLICT (witness, size) DO NOTHING",
                (w.name, head.size, note),
            )
    return [w.name for w, _ in signed]


def _in_order(conn: Any, witness: CosignatureVerifier, size: int, timestamp: int) -> None:
    """Refuse a cosignature whose time is out of order with the witness's kept cosignatures
    of the nearest smaller and larger trees (the kept ones being in order, those two
    suffice)."""
    rows = conn.execute(
        "(SELECT size, note FROM fullchain_cosignature WHERE witness = %(w)s "
        "AND size < %(n)s ORDER BY size DESC LIMIT 1) UNION ALL "
        "(SELECT size, note FROM fullchain_cosignature WHERE witness = %(w)s "
        "AND size > %(n)s ORDER BY size LIMIT 1)",
        {"w": witness.name, "n": size},
    ).fetchall()
    for other_size, other_note in rows:
        try:
            other = witness.verify(Note.parse(other_note), older_form=True).timestamp
        except NoteError:
            continue  # kept under a key the witness no longer has
        if other is None:
            continue  # the older form, without a time
        if (other_size < size and other > timestamp) or (other_size > size and other < timestamp):
            raise WitnessRefusal(
                f"the cosignature of {witness.name} of the tree of {size} entries is dated "
                f"{_moment(timestamp)}, out of order with its cosignature of the tree of "
                f"{other_size} entries dated {_moment(other)}: a witness's clock or state "
                "went back"
            )


def _moment(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_cosignatures(
    database: Database, size: int, conn: psycopg.Connection[Any] | None = None
) -> list[tuple[str, int, str]]:
    """Each witness's latest cosigned checkpoint of a tree no larger than ``size``:
    witness, size, note (a cosignature/v1, or a plain note signature kept before those);
    read on ``conn``, or a connection of its own."""
    with database.connected(conn, purpose="witness") as on:
        rows = on.execute(
            "SELECT DISTINCT ON (witness) witness, size, note FROM fullchain_cosignature "
            "WHERE size <= %s ORDER BY witness, size DESC",
            (size,),
        ).fetchall()
    return [(str(w), int(n), str(note)) for w, n, note in rows]
