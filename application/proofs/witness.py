"""Witnesses: anyone — an auditor, a customer, a partner — who countersigns a checkpoint of
the log after checking that it extends the last one they countersigned. A log that showed
one history to a witness and another to someone else (a split view) cannot get both
countersigned by a witness that keeps its last checkpoint.

A cosigned checkpoint is the log's signed note with the witness's signature line added
(c2sp.org/signed-note: a note may carry several signatures, each over the same text).
The service keeps the cosigned checkpoints it is given (``fullchain_cosignature``) when
the witness's key is one it is told to trust (``FULLCHAIN_WITNESS_KEYS``); an audit package
carries the latest of each witness with a consistency proof to its own checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.proofs.checkpoints import configured_verifiers, open_by_any
from application.proofs.merkle import ProofError, verify_consistency
from application.proofs.note import Note, NoteError, Signer, TreeHead, Verifier
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
    witness: Signer,
    *,
    last: str | None,
    proof: Sequence[bytes],
) -> str:
    """The checkpoint ``note`` countersigned by ``witness``, once its log signature holds
    and, given the ``last`` checkpoint the witness countersigned, ``proof`` shows the new
    tree extends it; ``WitnessRefusal`` otherwise."""
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
    return note + witness.signature_line(text)


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


def trusted_witnesses() -> list[Verifier]:
    """The witnesses whose cosignatures the service keeps (``FULLCHAIN_WITNESS_KEYS``:
    C2SP verifier keys separated by spaces, commas or new lines)."""
    return configured_verifiers(WITNESS_KEYS_VARIABLE)


def keep_cosignature(
    database: Database, note: str, log: Sequence[Verifier], witnesses: Sequence[Verifier]
) -> list[str]:
    """Keep a cosigned checkpoint: the log's signature must hold and at least one trusted
    witness's; the names of the witnesses whose cosignatures were kept."""
    try:
        head = open_by_any(note, list(log))
        parsed = Note.parse(note)
        signed = [w for w in witnesses if parsed.verified_by(w)]
    except NoteError as error:
        raise WitnessRefusal(str(error)) from None
    if not signed:
        raise WitnessRefusal("the checkpoint carries no cosignature of a trusted witness")
    with database.connect(purpose="witness") as conn:
        for w in signed:
            conn.execute(
                "INSERT INTO fullchain_cosignature (witness, size, note) VALUES (%s, %s, %s) "
                "ON CONFLICT (witness, size) DO NOTHING",
                (w.name, head.size, note),
            )
        conn.commit()
    return [w.name for w in signed]


def latest_cosignatures(database: Database, size: int) -> list[tuple[str, int, str]]:
    """Each witness's latest cosigned checkpoint of a tree no larger than ``size``:
    witness, size, note."""
    with database.connect(purpose="witness") as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (witness) witness, size, note FROM fullchain_cosignature "
            "WHERE size <= %s ORDER BY witness, size DESC",
            (size,),
        ).fetchall()
    return [(str(w), int(n), str(note)) for w, n, note in rows]
