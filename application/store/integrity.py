"""Tamper evidence: a hash chain over the whole log, verification, signed checkpoints.

Every appended row is chained in log order by a trigger, in the transaction of the
append: ``chain_hash = sha256(prev_hash ‖ position ‖ aggregate id ‖ version ‖ topic ‖
state ‖ recorded_at)`` with length prefixes, where ``prev_hash`` is the chain hash of the
row before (32 zero bytes for the first). The library's append locks the events table,
so rows are chained in the order their positions commit. The same trigger gives an entry
that belongs to a customer the customer's sequence number and chain hash
(``application.store.customer_chains``, which replaces the trigger's function).

The table refuses UPDATE, DELETE and TRUNCATE (triggers), so the service cannot rewrite
history; only someone who disables the triggers (the schema owner or a superuser) can, and then
``verify`` finds the first position where the chain breaks and says why. Someone who
also recomputes the chain from there on is caught by a signed checkpoint from before:
the chain hash at the checkpoint's position no longer matches.

The procedure is simple enough to re-check offline (see ``chain_hash``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from application import settings
from application.progress import PROGRESS_EVERY, Progress
from application.store.database import Database
from application.store.schema import EVENTS_TABLE, Migration

GENESIS = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MIGRATION = Migration(
    "0005_tamper_evidence",
    "hash chain over the log; the log refuses UPDATE, DELETE and TRUNCATE; signing key",
    [
        f"ALTER TABLE {EVENTS_TABLE} ADD COLUMN prev_hash bytea, ADD COLUMN chain_hash bytea",
        f"""
        CREATE FUNCTION fullchain_chain_hash(prev bytea, e {EVENTS_TABLE}) RETURNS bytea
        LANGUAGE sql IMMUTABLE AS $$
            SELECT sha256(
                prev
                || int8send(e.notification_id)
                || uuid_send(e.originator_id)
                || int8send(e.originator_version)
                || int4send(octet_length(convert_to(e.topic, 'UTF8')))
                || convert_to(e.topic, 'UTF8')
                || int4send(octet_length(e.state))
                || e.state
                || int8send((extract(epoch FROM e.recorded_at) * 1000000)::bigint)
            )
        $$
        """,
        f"""
        CREATE FUNCTION fullchain_chain_event() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            prev bytea;
        BEGIN
            SELECT chain_hash INTO prev FROM {EVENTS_TABLE}
            WHERE notification_id < NEW.notification_id
            ORDER BY notification_id DESC LIMIT 1;
            NEW.prev_hash := COALESCE(prev, '\\x{GENESIS.hex()}'::bytea);
            NEW.chain_hash := fullchain_chain_hash(NEW.prev_hash, NEW);
            RETURN NEW;
        END
        $$
        """,
        # Chain whatever the log already holds, in log order.
        f"""
        DO $$
        DECLARE
            r {EVENTS_TABLE};
            prev bytea := '\\x{GENESIS.hex()}'::bytea;
        BEGIN
            FOR r IN SELECT * FROM {EVENTS_TABLE} ORDER BY notification_id LOOP
                UPDATE {EVENTS_TABLE}
                SET prev_hash = prev, chain_hash = fullchain_chain_hash(prev, r)
                WHERE notification_id = r.notification_id
                RETURNING chain_hash INTO prev;
            END LOOP;
        END
        $$
        """,
        f"""
        CREATE TRIGGER fullchain_events_chain BEFORE INSERT ON {EVENTS_TABLE}
        FOR EACH ROW EXECUTE FUNCTION fullchain_chain_event()
        """,
        """
        CREATE FUNCTION fullchain_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the event log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """,
        f"""
        CREATE TRIGGER fullchain_events_append_only BEFORE UPDATE OR DELETE ON {EVENTS_TABLE}
        FOR EACH ROW EXECUTE FUNCTION fullchain_refuse_rewrite()
        """,
        f"""
        CREATE TRIGGER fullchain_events_no_truncate BEFORE TRUNCATE ON {EVENTS_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION fullchain_refuse_rewrite()
        """,
        """
        CREATE TABLE signing_key (
            key_id text PRIMARY KEY,
            private_key bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
    ],
)


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def chain_hash(
    prev_hash: bytes,
    *,
    position: int,
    aggregate_id: UUID,
    version: int,
    topic: str,
    state: bytes,
    recorded_at: datetime,
) -> bytes:
    """The chain hash of one log entry, exactly as the database computes it.

    SHA-256 over: the previous entry's chain hash (32 bytes; zeros for the first), the
    position (int64, big-endian), the aggregate id (16 bytes), the version (int64), the
    topic (UTF-8, int32 length first), the stored state (int32 length first) and the
    recording time in microseconds since 1970-01-01 UTC (int64).
    """
    micros = (recorded_at - _EPOCH) // timedelta(microseconds=1)
    return hashlib.sha256(
        prev_hash
        + struct.pack(">q", position)
        + aggregate_id.bytes
        + struct.pack(">q", version)
        + _length_prefixed(topic.encode())
        + _length_prefixed(state)
        + struct.pack(">q", micros)
    ).digest()


Breakage = Literal["changed", "missing", "reordered", "unchained"]


@dataclass(frozen=True)
class Verification:
    intact: bool
    entries: int
    #: The last position verified intact (0 for an empty log).
    intact_up_to: int
    head_hash: str
    broken_at: int | None = None
    reason: Breakage | None = None
    detail: str | None = None
    #: Where this walk continued an earlier one that found the log intact up to there
    #: (None: it walked the whole chain), and when the whole chain was last walked.
    continued_from: int | None = None
    whole_verified_at: str | None = None

    def summary(self) -> str:
        if self.intact and self.continued_from is not None:
            return (
                f"intact up to position {self.intact_up_to} ({self.entries} entries; "
                f"checked from position {self.continued_from + 1}, the whole chain "
                f"walked at {self.whole_verified_at})"
            )
        if self.intact:
            return f"intact up to position {self.intact_up_to} ({self.entries} entries)"
        return f"broken at position {self.broken_at}: {self.reason} — {self.detail}"


def _rows(database: Database, after: int = 0, batch: int = 5000) -> Iterator[tuple[Any, ...]]:
    with database.connect() as conn, conn.transaction():
        cursor = conn.cursor(name="fullchain_verify")
        cursor.itersize = batch
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at, prev_hash, chain_hash FROM {EVENTS_TABLE} "
            "WHERE notification_id > %s ORDER BY notification_id",
            (after,),
        )
        yield from cursor


def _chained_before(database: Database, chain: bytes, position: int) -> bool:
    """Whether an entry before ``position`` has the chain hash ``chain``."""
    with database.connect() as conn:
        row = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {EVENTS_TABLE} "
            "WHERE chain_hash = %s AND notification_id < %s)",
            (chain, position),
        ).fetchone()
    return bool(row and row[0])


def verify(
    database: Database,
    *,
    up_to: int | None = None,
    progress: Progress | None = None,
    after: Verified | None = None,
) -> Verification:
    """Recompute the chain over the whole log in log order and report the first break.

    Streams the log and keeps only the last hash: its memory does not grow with the log.
    At a break, whether the entry was chained to an earlier entry (reordered) or to one
    that is gone (missing) is asked of the database. ``progress`` is told the position
    reached of the last one (``up_to``, or the log's last when the walk starts).

    ``after``: continue an earlier verification that found the log intact up to its
    position, from the entry after it: the entries up to there are not read again (see
    ``verify_extending``)."""
    expected_prev = GENESIS if after is None else after.chain_hash
    last_position = 0 if after is None else after.up_to
    entries = 0 if after is None else after.entries
    total = None
    if progress is not None:
        total = _last_position(database) if up_to is None else up_to
        progress(VERIFY_STAGE, last_position, total)
    rows = _rows(database, last_position)
    for position, aggregate_id, version, topic, state, recorded_at, prev, stored in rows:
        if up_to is not None and position > up_to:
            break
        if progress is not None and entries % PROGRESS_EVERY == 0:
            progress(VERIFY_STAGE, last_position, total)
        if stored is None:
            return _broken(
                entries,
                last_position,
                expected_prev,
                position,
                "unchained",
                "the entry carries no chain hash",
            )
        prev, stored = bytes(prev), bytes(stored)
        recomputed = chain_hash(
            prev,
            position=position,
            aggregate_id=aggregate_id,
            version=version,
            topic=topic,
            state=bytes(state),
            recorded_at=recorded_at,
        )
        if recomputed != stored:
            return _broken(
                entries,
                last_position,
                expected_prev,
                position,
                "changed",
                "the stored entry no longer matches its chain hash",
            )
        if prev != expected_prev:
            if _chained_before(database, prev, position):
                reason: Breakage = "reordered"
                detail = "the entry follows an entry other than the one before it"
            else:
                reason = "missing"
                detail = "the entry it was chained to is no longer in the log"
            return _broken(entries, last_position, expected_prev, position, reason, detail)
        expected_prev = stored
        last_position = position
        entries += 1
    if progress is not None:
        progress(VERIFY_STAGE, last_position, total)
    return Verification(
        True,
        entries,
        last_position,
        expected_prev.hex(),
        continued_from=None if after is None else after.up_to,
        whole_verified_at=None if after is None else after.whole_at.isoformat(),
    )


# --- verification carried forward --------------------------------------------------------

VERIFIED_MIGRATION = Migration(
    "0042_chain_verified",
    "the last verification that found the whole hash chain intact, which later ones extend",
    [
        """
        CREATE TABLE fullchain_chain_verified (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            up_to bigint NOT NULL,
            chain_hash bytea NOT NULL,
            entries bigint NOT NULL,
            whole_at timestamptz NOT NULL,
            verified_at timestamptz NOT NULL
        )
        """,
    ],
)


@dataclass(frozen=True)
class Verified:
    """The log found intact up to ``up_to`` (its chain hash there, its entries): by a walk
    of the whole chain at ``whole_at``, extended by later walks up to ``verified_at``."""

    up_to: int
    chain_hash: bytes
    entries: int
    whole_at: datetime
    verified_at: datetime


def last_verified(database: Database) -> Verified | None:
    """The verification recorded last, if the entry it ends at still has the chain hash
    it had then (else None: the next walk starts from the first entry)."""
    with database.connect() as conn:
        row = conn.execute(
            "SELECT v.up_to, v.chain_hash, v.entries, v.whole_at, v.verified_at "
            f"FROM fullchain_chain_verified v JOIN {EVENTS_TABLE} e "
            "ON e.notification_id = v.up_to AND e.chain_hash = v.chain_hash"
        ).fetchone()
    if row is None:
        return None
    return Verified(int(row[0]), bytes(row[1]), int(row[2]), row[3], row[4])


def record_verified(database: Database, verification: Verification) -> None:
    """Keep an intact verification (a whole walk, or one that extended the last) as the
    one later walks extend; a broken one, or one behind the recorded, is not kept."""
    if not verification.intact or verification.intact_up_to == 0:
        return
    whole = verification.continued_from is None
    with database.connect() as conn, conn.transaction():
        conn.execute(
            "INSERT INTO fullchain_chain_verified AS v "
            "(up_to, chain_hash, entries, whole_at, verified_at) "
            "VALUES (%(up_to)s, %(hash)s, %(entries)s, "
            "COALESCE(%(whole_at)s, now()), now()) "
            "ON CONFLICT (only_row) DO UPDATE SET up_to = EXCLUDED.up_to, "
            "chain_hash = EXCLUDED.chain_hash, entries = EXCLUDED.entries, "
            "verified_at = EXCLUDED.verified_at, "
            "whole_at = CASE WHEN %(whole)s THEN EXCLUDED.whole_at ELSE v.whole_at END "
            "WHERE v.up_to <= EXCLUDED.up_to",
            {
                "up_to": verification.intact_up_to,
                "hash": bytes.fromhex(verification.head_hash),
                "entries": verification.entries,
                "whole_at": verification.whole_verified_at,
                "whole": whole,
            },
        )


def verify_extending(database: Database, *, progress: Progress | None = None) -> Verification:
    """The whole chain's verification at less than the whole chain's cost: the entries
    after the last recorded verification (``record_verified``) are checked against the
    chain hash it ended at, and the result is recorded in turn. A walk of the whole chain
    (``fullchain verify``, ``POST /v1/audit/verify``) is recorded as such; a log whose
    recorded end no longer holds its chain hash is walked whole. What is carried forward
    says from where this walk continued and when the whole chain was last walked."""
    after = last_verified(database)
    verification = verify(database, progress=progress, after=after)
    if after is None or verification.intact_up_to != after.up_to:
        record_verified(database, verification)  # (no new entry checked: nothing to keep)
    return verification


#: What ``verify`` tells its ``progress`` it walks.
VERIFY_STAGE = "hash chain"


def _last_position(database: Database) -> int:
    with database.connect() as conn:
        row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _broken(
    entries: int, last: int, head: bytes, position: int, reason: Breakage, detail: str
) -> Verification:
    return Verification(False, entries, last, head.hex(), position, reason, detail)


# --- signed checkpoints ------------------------------------------------------------------

SIGNING_KEY_VARIABLE = "FULLCHAIN_SIGNING_KEY"
SIGNING_KEY_FILE_VARIABLE = "FULLCHAIN_SIGNING_KEY_FILE"


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain at a position, signed by the service."""

    position: int
    chain_hash: str
    signed_at: str
    key_id: str
    signature: str

    def payload(self) -> bytes:
        return signed_payload(self.position, self.chain_hash, self.signed_at, self.key_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def signed_payload(position: int, chain_hash_hex: str, signed_at: str, key_id: str) -> bytes:
    """The bytes a checkpoint's signature covers: canonical JSON, keys sorted."""
    return json.dumps(
        {
            "position": position,
            "chain_hash": chain_hash_hex,
            "signed_at": signed_at,
            "key_id": key_id,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def configured_signing_key() -> Ed25519PrivateKey | None:
    """The key in ``FULLCHAIN_SIGNING_KEY`` (PEM, PKCS#8), else in the file named by
    ``FULLCHAIN_SIGNING_KEY_FILE``, if either is set; ValueError if it cannot be read or is
    not an Ed25519 private key."""
    current = settings.load()
    configured = current.signing_key
    source = SIGNING_KEY_VARIABLE
    if not configured:
        path = current.signing_key_file
        if not path:
            return None
        source = f"{SIGNING_KEY_FILE_VARIABLE} ({path})"
        try:
            configured = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{source} cannot be read: {error}") from None
    try:
        key = serialization.load_pem_private_key(configured.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"{source} is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{source} is not an Ed25519 private key")
    return key


def new_signing_key_pem() -> str:
    """A new Ed25519 private key, PEM (PKCS#8): what ``FULLCHAIN_SIGNING_KEY`` takes."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def signing_key(database: Database) -> Ed25519PrivateKey:
    """The service's Ed25519 key: from ``FULLCHAIN_SIGNING_KEY`` if set, else the one
    generated on first use and kept in the database."""
    configured = configured_signing_key()
    if configured is not None:
        return configured
    with database.connect() as conn:
        row = conn.execute(
            "SELECT private_key FROM signing_key ORDER BY created_at LIMIT 1"
        ).fetchone()
        if row is not None:
            return Ed25519PrivateKey.from_private_bytes(bytes(row[0]))
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        conn.execute(
            "INSERT INTO signing_key (key_id, private_key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (key_id_of(key.public_key()), raw),
        )
        conn.commit()
    return signing_key(database)  # the first key stored wins, also against a racing process


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_head(database: Database, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the current head of the chain."""
    with database.connect() as conn:
        row = conn.execute(
            f"SELECT notification_id, chain_hash FROM {EVENTS_TABLE} "
            "ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
    position, head = (int(row[0]), bytes(row[1]).hex()) if row else (0, GENESIS.hex())
    signed_at = datetime.now(UTC).isoformat()
    key_id = key_id_of(key.public_key())
    signature = key.sign(signed_payload(position, head, signed_at, key_id))
    return Checkpoint(position, head, signed_at, key_id, base64.b64encode(signature).decode())


@dataclass(frozen=True)
class CheckpointCheck:
    signature_valid: bool
    extends: bool
    detail: str


def check_checkpoint(
    database: Database,
    checkpoint: Checkpoint,
    public_key: Ed25519PublicKey,
    *,
    progress: Progress | None = None,
) -> CheckpointCheck:
    """Does today's log extend the log the checkpoint signed, without rewriting it? The
    chain up to it is verified again, telling ``progress`` (see ``verify``)."""
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint.payload())
    except (InvalidSignature, ValueError):
        return CheckpointCheck(False, False, "the signature does not match the checkpoint")
    if checkpoint.position == 0:
        return CheckpointCheck(True, True, "an empty log is extended by any log")
    with database.connect() as conn:
        row = conn.execute(
            f"SELECT chain_hash FROM {EVENTS_TABLE} WHERE notification_id = %s",
            (checkpoint.position,),
        ).fetchone()
    if row is None:
        return CheckpointCheck(
            True, False, f"position {checkpoint.position} is no longer in the log"
        )
    if bytes(row[0]).hex() != checkpoint.chain_hash:
        return CheckpointCheck(
            True,
            False,
            f"the log was rewritten: the chain hash at position {checkpoint.position} "
            "differs from the signed one",
        )
    verified = verify(database, up_to=checkpoint.position, progress=progress)
    if not verified.intact:
        return CheckpointCheck(True, False, verified.summary())
    return CheckpointCheck(
        True, True, f"today's log extends the checkpoint at position {checkpoint.position}"
    )
