"""Signed tree heads: the log's Merkle tree at a size, signed as a C2SP checkpoint, with
the root of the map of customers' heads at that size (``application.proofs.customer_map``)
in an extension line ``customers <base64>``.

The note's key name is the log's origin (``FULLCHAIN_LOG_ORIGIN``, default
``fullchain-crm.local/log``), as transparency logs name theirs, and the key is the service's
Ed25519 signing key (``application.store.integrity.signing_key``). A checkpoint signed with
a key kept in the log's own database (the embedded demo's) says so in an extension line:
whoever can rewrite that database can re-sign it, so it proves nothing to an outsider.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application import settings
from application.progress import Progress
from application.proofs.customer_map import key_of
from application.proofs.heads_map import kept_map
from application.proofs.merkle import ProofError, verify_consistency
from application.proofs.note import NoteError, Signer, TreeHead, Verifier, open_checkpoint, sign
from application.proofs.tree import LogTree
from application.store.access_log import access_head

ORIGIN_VARIABLE = "FULLCHAIN_LOG_ORIGIN"
DEFAULT_ORIGIN = "fullchain-crm.local/log"
#: The extension line of a checkpoint signed with the key kept in the log's database.
DATABASE_KEY_LINE = "key kept in the log's database: for demonstration only"
#: The extension line that carries the root of the map of customers' heads.
CUSTOMERS = "customers"
#: The extension line that carries the head of the access log: its last entry and hash.
ACCESS = "access"
_ORIGIN = re.compile(r"^[\x21-\x2a\x2c-\x7e]{1,200}$")  # printable ASCII, no space, no '+'


RETIRED_KEYS_VARIABLE = "FULLCHAIN_RETIRED_VERIFIER_KEYS"

K = TypeVar("K")


def configured_verifiers(variable: str) -> list[Verifier]:
    """The C2SP verifier keys in the setting ``variable``, separated by spaces, commas or
    new lines; ValueError naming the setting for one that is not a verifier key."""
    return configured_keys(variable, Verifier.decode)


def configured_keys(variable: str, decode: Callable[[str], K]) -> list[K]:
    """The keys in the setting ``variable``, separated by spaces, commas or new lines, each
    read by ``decode``; ValueError naming the setting for one it refuses."""
    value = getattr(settings.load(), variable.removeprefix(settings.PREFIX).lower())
    keys = [k for k in re.split(r"[\s,]+", value or "") if k]
    try:
        return [decode(k) for k in keys]
    except NoteError as error:
        raise ValueError(f"{variable}: {error}") from None


def retired_verifiers() -> list[Verifier]:
    """The verifier keys of keys that signed earlier checkpoints and sign no more
    (``FULLCHAIN_RETIRED_VERIFIER_KEYS``), so that checkpoints they signed stay verifiable
    after a rotation."""
    return configured_verifiers(RETIRED_KEYS_VARIABLE)


def log_origin() -> str:
    origin = settings.load().log_origin or DEFAULT_ORIGIN
    if not _ORIGIN.match(origin):
        raise ValueError(
            f"{ORIGIN_VARIABLE} is a log's name, printable ASCII without spaces or '+' "
            f"(e.g. crm.example.com/log): {origin!r}"
        )
    return origin


def verifier_of(key: Ed25519PrivateKey, origin: str) -> Verifier:
    return Verifier(origin, key.public_key())


def sign_tree_head(
    tree: LogTree,
    key: Ed25519PrivateKey,
    *,
    origin: str,
    now: datetime,
    key_in_database: bool,
    progress: Progress | None = None,
) -> str:
    """The tree brought up to the log (telling ``progress``, see ``LogTree.extend``), its
    head signed as a checkpoint."""
    note, _ = signed_tree_head(
        tree, key, origin=origin, now=now, key_in_database=key_in_database, progress=progress
    )
    return note


def signed_tree_head(
    tree: LogTree,
    key: Ed25519PrivateKey,
    *,
    origin: str,
    now: datetime,
    key_in_database: bool,
    progress: Progress | None = None,
    conn: psycopg.Connection[Any] | None = None,
    customer: UUID | None = None,
) -> tuple[str, list[bytes] | None]:
    """``sign_tree_head``'s checkpoint, with the proof of ``customer``'s head in its map
    (None: no customer asked, or one with no entry in the tree); read on ``conn``
    (autocommit: the tree is extended a transaction at a time), or on connections of their
    own. The map is the one kept for the database (``heads_map.kept_map``), brought to the
    tree's size."""
    size = tree.extend(progress=progress, conn=conn)
    with tree.database.connected(conn, purpose="tree") as on:
        root = tree.root(size, on)
        kept = kept_map(tree.database.conninfo)
        with kept.lock:
            heads = kept.bring_to(tree, on, size, root)
            customers = heads.root()
            wanted = None if customer is None else key_of(customer)
            proof = heads.proof(wanted) if wanted is not None and heads.holds(wanted) else None
        access_seq, access_hash = access_head(tree.database, on)
    head = TreeHead(
        origin=origin,
        size=size,
        root=root,
        signed_at=now,
        extensions=(
            f"{CUSTOMERS} {base64.b64encode(customers).decode()}",
            f"{ACCESS} {access_seq} {base64.b64encode(access_hash).decode()}",
            *((DATABASE_KEY_LINE,) if key_in_database else ()),
        ),
    )
    return sign(head.text(), Signer(origin, key)), proof


def customers_root(head: TreeHead) -> bytes:
    """The root of the map of customers' heads a checkpoint commits to."""
    for line in head.extensions:
        name, _, value = line.partition(" ")
        if name == CUSTOMERS:
            return base64.b64decode(value, validate=True)
    raise NoteError("the checkpoint commits to no map of customers' heads")


@dataclass(frozen=True)
class Extension:
    """Whether today's log extends a checkpoint kept from earlier."""

    extends: bool
    detail: str
    checkpoint_size: int | None = None
    size: int | None = None


def open_by_any(note: str, verifiers: list[Verifier]) -> TreeHead:
    """The tree head of a checkpoint signed by one of ``verifiers`` (today's key, or one it
    replaced); ``NoteError`` when none of their signatures is on it, or one does not hold."""
    for verifier in verifiers:
        try:
            return open_checkpoint(note, verifier)
        except NoteError as error:
            if "carries no signature" not in str(error):
                raise
    names = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers)
    raise NoteError(f"the checkpoint carries no signature of the log's keys ({names})")


def check_since(
    tree: LogTree,
    note: str,
    verifier: Verifier | list[Verifier],
    *,
    progress: Progress | None = None,
) -> Extension:
    """Does today's log extend the log the checkpoint ``note`` signed? The checkpoint's
    signature (by today's key or one it replaced), then a consistency proof from its tree
    to today's, checked against the root it signed: a log rewritten anywhere before the
    checkpoint's size fails. The tree is brought up to the log first, telling
    ``progress``."""
    verifiers = verifier if isinstance(verifier, list) else [verifier]
    try:
        head = open_by_any(note, verifiers)
    except NoteError as error:
        return Extension(False, f"the checkpoint does not hold: {error}")
    size = tree.extend(progress=progress)
    if head.size > size:
        return Extension(
            False,
            f"the log holds {size} entries, fewer than the {head.size} the checkpoint signed: "
            "entries were removed",
            head.size,
            size,
        )
    proof = tree.consistency(head.size, size)
    try:
        verify_consistency(head.size, size, head.root, proof.second_root, proof.proof)
    except ProofError:
        return Extension(
            False,
            f"the log was rewritten: its first {head.size} entries are not those the "
            f"checkpoint signed at {head.signed_at.isoformat()}",
            head.size,
            size,
        )
    return Extension(
        True,
        f"today's log of {size} entries extends the checkpoint of {head.size} entries "
        f"signed at {head.signed_at.isoformat()}",
        head.size,
        size,
    )


def access_committed(head: TreeHead) -> tuple[int, bytes]:
    """The head of the access log a checkpoint commits to: last entry, its hash."""
    for line in head.extensions:
        name, _, value = line.partition(" ")
        if name == ACCESS:
            seq, _, hashed = value.partition(" ")
            return int(seq), base64.b64decode(hashed, validate=True)
    raise NoteError("the checkpoint commits to no access log head")
