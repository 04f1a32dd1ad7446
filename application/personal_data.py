"""Personal data sealed per data subject: envelope encryption of the fields that identify a
person, and erasure by destroying keys.

Every field an event declares personal (``domain.personal``) is stored as
``sealed:1:<base64url(key id ‖ nonce ‖ AES-256-GCM ciphertext)>``, under a data key of its
subject and kind of data. The associated data binds the ciphertext to its place (the
event's aggregate and the field's path), so a sealed value copied elsewhere does not open.
Data keys are random, kept wrapped (AES-GCM) by the master key — ``FULLCHAIN_MASTER_KEY``
or the file named by ``FULLCHAIN_MASTER_KEY_FILE``; without either (the embedded demo), a
master key generated and kept in the database, which protects nothing against whoever reads
the database and is for the demo only.

The log's rows hold ciphertext, so the hash chain, the Merkle tree and the customers'
chains cover the ciphertext and stay valid when a key is destroyed. Destroying a key is
final: every read of a field sealed under it — read models rebuilt, history, state at any
version, audit packages, exports — finds ``domain.personal.ERASED``.

Each process keeps the keys it used in memory while it hears the erasure channel (the
position watch's listening connection); an erasure announces its subject there, in the
transaction that destroys its keys, and every process forgets them. A process that cannot
hear (no listener, or the connection lost) keeps no key and asks the database each time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import resolve_topic
from psycopg.rows import dict_row

from application import settings
from application.proofs import sealed
from application.store.command_log import TABLE as COMMAND_TABLE
from application.store.database import Database
from application.store.schema import Migration
from application.store.snapshots import SNAPSHOTS_TABLE
from domain.personal import ERASED, DataKind, PersonalField, Subject

log = logging.getLogger(__name__)

#: The channel an erasure is announced on (its payload: the subject's id).
CHANNEL = "fullchain_erasure"
MASTER_KEY_VARIABLE = "FULLCHAIN_MASTER_KEY"
MASTER_KEY_FILE_VARIABLE = "FULLCHAIN_MASTER_KEY_FILE"
SEALED = sealed.PREFIX
_NONCE = 12

MIGRATION = Migration(
    "0040_personal_data",
    "data subjects and their data keys (wrapped), for personal fields sealed in the log",
    [
        """
        CREATE TABLE fullchain_data_subject (
            subject_id uuid PRIMARY KEY,
            kind text NOT NULL,
            aggregate_id uuid NOT NULL,
            ref text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """,
        "CREATE INDEX fullchain_data_subject_aggregate_idx "
        "ON fullchain_data_subject (aggregate_id)",
        """
        CREATE TABLE fullchain_data_key (
            key_id uuid PRIMARY KEY,
            subject_id uuid NOT NULL REFERENCES fullchain_data_subject,
            data_kind text NOT NULL,
            master_key_id text NOT NULL,
            wrapped bytea,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            destroyed_at timestamptz,
            CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
        )
        """,
        "CREATE UNIQUE INDEX fullchain_data_key_current_idx ON fullchain_data_key "
        "(subject_id, data_kind) WHERE destroyed_at IS NULL",
        """
        CREATE TABLE fullchain_master_key (
            key_id text PRIMARY KEY,
            secret bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """,
    ],
)


# --- the master key ----------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKey:
    """The key that wraps data keys. ``key_id``: the first 16 hex digits of its SHA-256,
    stored with every wrapped key, so a rotated master key knows what it can unwrap."""

    secret: bytes
    #: True for the demo's key kept in the database beside what it protects.
    in_database: bool = False

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()[:16]

    def wrap(self, key_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + AESGCM(self.secret).encrypt(nonce, data_key, key_id.bytes)

    def unwrap(self, key_id: UUID, wrapped: bytes) -> bytes:
        return AESGCM(self.secret).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], key_id.bytes)


def _decode_master(text: str, source: str) -> bytes:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise ValueError(f"{source} is not base64") from None
    if len(secret) != 32:
        raise ValueError(f"{source} must be 32 bytes (base64 of 256 bits), not {len(secret)}")
    return secret


def configured_master_key() -> MasterKey | None:
    """The key in ``FULLCHAIN_MASTER_KEY`` (base64 of 32 bytes), else in the file named by
    ``FULLCHAIN_MASTER_KEY_FILE``; None if neither is set; ValueError if it is unusable."""
    current = settings.load()
    if current.master_key:
        return MasterKey(_decode_master(current.master_key, MASTER_KEY_VARIABLE))
    path = current.master_key_file
    if path is None:
        return None
    source = f"{MASTER_KEY_FILE_VARIABLE} ({path})"
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{source} cannot be read: {error}") from None
    return MasterKey(_decode_master(text, source))


def new_master_key() -> str:
    """A new master key, as ``FULLCHAIN_MASTER_KEY`` takes it."""
    return base64.b64encode(os.urandom(32)).decode()


def _database_master_key(conn: Any) -> MasterKey:
    first = "SELECT secret FROM fullchain_master_key ORDER BY created_at LIMIT 1"
    row = conn.execute(first).fetchone()
    if row is None:
        secret = os.urandom(32)
        conn.execute(
            "INSERT INTO fullchain_master_key (key_id, secret) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            (MasterKey(secret).key_id, secret),
        )
        row = conn.execute(first).fetchone()
    secret = bytes(row["secret"] if isinstance(row, Mapping) else row[0])
    return MasterKey(secret, in_database=True)


# --- data keys ---------------------------------------------------------------------------


#: The current keys of subjects' kinds of data, made where there is none, in one
#: statement: the subjects registered, a key made for each kind that has none, and the
#: current keys read (the new ones, or those already there). A key made by another process
#: since the statement began is not seen by its reading part: no row, and the caller asks
#: again.
#: Made keys commit without waiting for their flush to disk (``synchronous_commit`` off for
#: this statement's transaction alone): no event can name a key before it commits, and the
#: commit of an event flushes the log's WAL up to itself, which holds the key's commit before
#: it. A crash before any event names the key loses only a key nothing uses.
_WRITING_KEYS = """
WITH wanted AS (
    SELECT *, set_config('synchronous_commit', 'off', true) AS commit_mode FROM unnest(
        %(subjects)s::uuid[], %(kinds)s::text[], %(aggregates)s::uuid[], %(refs)s::text[],
        %(keys)s::uuid[], %(data_kinds)s::text[], %(wrapped)s::bytea[]
    ) AS w (subject_id, kind, aggregate_id, ref, key_id, data_kind, wrapped)
), subject AS (
    INSERT INTO fullchain_data_subject (subject_id, kind, aggregate_id, ref)
    SELECT DISTINCT subject_id, kind, aggregate_id, ref FROM wanted
    ON CONFLICT DO NOTHING
), made AS (
    INSERT INTO fullchain_data_key (key_id, subject_id, data_kind, master_key_id, wrapped)
    SELECT key_id, subject_id, data_kind, %(master)s, wrapped FROM wanted
    ON CONFLICT DO NOTHING
    RETURNING key_id, subject_id, data_kind, wrapped
)
SELECT key_id, subject_id, data_kind, wrapped FROM made
UNION ALL
SELECT k.key_id, k.subject_id, k.data_kind, k.wrapped
FROM fullchain_data_key k JOIN wanted w USING (subject_id, data_kind)
WHERE k.destroyed_at IS NULL
"""


class KeyRing:
    """The data keys of data subjects: made on first use, unwrapped on demand, kept while
    this process hears erasures, destroyed by an erasure."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connect: Any = None
        self._lock = threading.Lock()
        self._master: MasterKey | None = None
        #: Keys by id; None: destroyed (final, kept even when not listening).
        self._keys: dict[UUID, AESGCM | None] = {}
        #: The same, by the 16 bytes of the key's id (as a sealed value holds it).
        self._by_bytes: dict[bytes, AESGCM | None] = {}
        #: The current key of a subject's kind of data.
        self._current: dict[tuple[UUID, str], tuple[UUID, AESGCM]] = {}
        #: The subject of each key kept, to forget them by subject.
        self._subject_of: dict[UUID, UUID] = {}
        self._live = False
        #: Counts what may have made a value opened earlier unreadable now: each erasure
        #: heard, each start or end of listening (``opened_since``).
        self._generation = 0

    def bind(self, connect: Any) -> None:
        """``connect()``: a context manager giving an autocommit connection with dict
        rows (the application's pool)."""
        self._connect = connect

    def _connection(self) -> Any:
        if self._connect is not None:
            return self._connect()
        return self.database.connect(row_factory=dict_row, autocommit=True)

    def master(self, conn: Any | None = None) -> MasterKey:
        if self._master is None:
            configured = configured_master_key()
            if configured is not None:
                self._master = configured
            elif conn is not None:
                self._master = _database_master_key(conn)
            else:
                with self._connection() as own:
                    self._master = _database_master_key(own)
        return self._master

    # -- listening -------------------------------------------------------------------

    def forget(self, subject: str) -> None:
        """An erasure of ``subject`` was heard: its keys are no longer kept."""
        try:
            subject_id = UUID(subject)
        except ValueError:
            return
        with self._lock:
            self._forget(subject_id)

    @property
    def generation(self) -> int | None:
        """A mark of what this ring knows of erasures: a value opened under one mark still
        reads the same while the mark is unchanged. None: erasures are not heard, so no
        opened value may be kept."""
        return self._generation if self._live else None

    def _forget(self, subject_id: UUID) -> None:
        for key_id in [k for k, s in self._subject_of.items() if s == subject_id]:
            self._keys.pop(key_id, None)
            self._by_bytes.pop(key_id.bytes, None)
            del self._subject_of[key_id]
        for current in [c for c in self._current if c[0] == subject_id]:
            del self._current[current]
        self._generation += 1  # after the keys are gone: a later mark opens without them

    def listening(self, live: bool) -> None:
        """Erasures are heard from now on (True), or may be missed (False): keep no key."""
        with self._lock:
            self._live = live
            self._current.clear()
            for key_id in list(self._subject_of):
                self._keys.pop(key_id, None)
                self._by_bytes.pop(key_id.bytes, None)
            self._subject_of.clear()
            self._generation += 1

    def _keep(self, subject_id: UUID, key_id: UUID, aead: AESGCM, kind: str | None) -> None:
        with self._lock:
            if not self._live:
                return
            self._keys[key_id] = aead
            self._by_bytes[key_id.bytes] = aead
            self._subject_of[key_id] = subject_id
            if kind is not None:
                self._current[(subject_id, kind)] = (key_id, aead)

    # -- keys ------------------------------------------------------------------------

    def writing_key(self, subject: Subject, kind: DataKind) -> tuple[UUID, AESGCM]:
        """The current key of ``subject``'s ``kind`` of data, made if it has none."""
        return self.writing_keys([(subject, kind)])[(subject.subject_id, kind.value)]

    def writing_keys(
        self, wanted: Sequence[tuple[Subject, DataKind]]
    ) -> dict[tuple[UUID, str], tuple[UUID, AESGCM]]:
        """The current keys of these subjects' kinds of data, by (subject id, kind), those
        not kept made or read in one round trip."""
        found: dict[tuple[UUID, str], tuple[UUID, AESGCM]] = {}
        missing: dict[tuple[UUID, str], Subject] = {}
        for subject, kind in wanted:
            at = (subject.subject_id, kind.value)
            kept = self._current.get(at)
            if kept is not None:
                found[at] = kept
            else:
                missing[at] = subject
        while missing:
            made = {at: (uuid4(), AESGCM.generate_key(256)) for at in missing}
            with self._connection() as conn:
                master = self.master(conn)
                rows = conn.execute(
                    _WRITING_KEYS,
                    {
                        "subjects": [sid for sid, _ in missing],
                        "kinds": [s.kind.value for s in missing.values()],
                        "aggregates": [s.aggregate_id for s in missing.values()],
                        "refs": [s.ref for s in missing.values()],
                        "keys": [made[at][0] for at in missing],
                        "data_kinds": [kind for _, kind in missing],
                        "wrapped": [master.wrap(*made[at]) for at in missing],
                        "master": master.key_id,
                    },
                ).fetchall()
            for row in rows:
                at = (row["subject_id"], row["data_kind"])
                if at not in missing:
                    continue
                key_id = row["key_id"]
                if key_id == made[at][0]:
                    data_key = made[at][1]
                else:  # the subject's kind had a key: that one
                    data_key = master.unwrap(key_id, bytes(row["wrapped"]))
                aead = AESGCM(data_key)
                self._keep(at[0], key_id, aead, at[1])
                found[at] = (key_id, aead)
                del missing[at]
            # What is still missing was made elsewhere since the statement began: asked again.
        return found

    def reading_keys(self, key_ids: Iterable[UUID]) -> dict[UUID, AESGCM | None]:
        """The keys of ``key_ids`` (None: destroyed, or never known), in one query for
        those not kept."""
        wanted = set(key_ids)
        found = {k: self._keys[k] for k in wanted if k in self._keys}
        missing = wanted - found.keys()
        if not missing:
            return found
        with self._connection() as conn:
            master = self.master(conn)
            rows = conn.execute(
                "SELECT key_id, subject_id, wrapped FROM fullchain_data_key WHERE key_id = ANY(%s)",
                (list(missing),),
            ).fetchall()
        for row in rows:
            key_id = row["key_id"]
            if row["wrapped"] is None:
                found[key_id] = None
                with self._lock:
                    self._keys[key_id] = None
                    self._by_bytes[key_id.bytes] = None
                continue
            aead = AESGCM(master.unwrap(key_id, bytes(row["wrapped"])))
            found[key_id] = aead
            self._keep(row["subject_id"], key_id, aead, None)
        for key_id in missing - found.keys():
            found[key_id] = None
        return found

    def raw_keys(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes]:
        """The live data keys of ``key_ids`` as bytes (those destroyed are not there): what
        an audit package carries to prove the personal fields it shows."""
        wanted = list(set(key_ids))
        if not wanted:
            return {}
        with self._connection() as conn:
            master = self.master(conn)
            rows = conn.execute(
                "SELECT key_id, wrapped FROM fullchain_data_key "
                "WHERE key_id = ANY(%s) AND wrapped IS NOT NULL",
                (wanted,),
            ).fetchall()
        return {r["key_id"]: master.unwrap(r["key_id"], bytes(r["wrapped"])) for r in rows}

    def kept(self, key_id: UUID) -> AESGCM | bool | None:
        """The key kept for ``key_id`` (None: destroyed), or False if none is kept."""
        return self._by_bytes.get(key_id.bytes, False)

    def kept_by_bytes(self, key_id: bytes) -> AESGCM | bool | None:
        """``kept`` by the 16 bytes of the key's id."""
        return self._by_bytes.get(key_id, False)

    def forget_destroyed(self, subject_id: UUID) -> None:
        """This process destroyed ``subject_id``'s keys: forget them now (others hear)."""
        with self._lock:
            self._forget(subject_id)


def erasure_side_effects(aggregate_id: UUID, erased: Any) -> list[tuple[str, Any]]:
    """What commits with an erasure event: its subject's keys of its kinds destroyed, the
    aggregate's snapshots (which hold its state in clear text) dropped, the responses
    kept for retries of the aggregate's commands (which may echo a personal field)
    forgotten — a retry is then answered as the command log records it (aggregate,
    version, position) —, and the erasure announced to every process."""
    return [
        *destroy_statements(erased.subject_id, [DataKind(k) for k in erased.kinds]),
        (f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_id = %s", (aggregate_id,)),
        (
            f"UPDATE {COMMAND_TABLE} SET response_status = NULL, response_body = NULL, "
            "response_headers = NULL WHERE aggregate_id = %s AND response_status IS NOT NULL",
            (aggregate_id,),
        ),
    ]


def destroy_statements(subject_id: UUID, kinds: Sequence[DataKind]) -> list[tuple[str, Any]]:
    """The statements that destroy ``subject_id``'s keys of ``kinds`` and announce it, to
    run in the transaction that records the erasure."""
    return [
        (
            "UPDATE fullchain_data_key SET wrapped = NULL, destroyed_at = clock_timestamp() "
            "WHERE subject_id = %s AND data_kind = ANY(%s) AND destroyed_at IS NULL",
            (subject_id, [k.value for k in kinds]),
        ),
        ("SELECT pg_notify(%s, %s)", (CHANNEL, str(subject_id))),
    ]


# --- sealing -----------------------------------------------------------------------------


def is_sealed(value: object) -> bool:
    """Whether a stored value is sealed (not a text that merely begins like one)."""
    return sealed.raw_of(value) is not None


#: A sealed value in an encoded state: its first 22 characters hold the key id's 16 bytes.
_SEALED_IN_STATE = re.compile(rb'"sealed:1:([A-Za-z0-9_-]{22})')


def sealed_key_ids(states: Iterable[bytes]) -> set[bytes]:
    """The ids (16 bytes each) of the keys sealed values in these encoded states are
    sealed under, found without decoding the states (a hint for fetching them at once: a
    value missed here is still opened, its key asked for then)."""
    found: set[bytes] = set()
    marker = SEALED.encode()
    for state in states:
        if marker in state:
            found.update(_SEALED_IN_STATE.findall(state))
    return {base64.urlsafe_b64decode(head + b"==")[:16] for head in found}


def _aad(aggregate_id: object, path: str) -> bytes:
    return f"{aggregate_id}/{path}".encode()


def seal(key_id: UUID, aead: AESGCM, aggregate_id: object, path: str, value: str) -> str:
    nonce = os.urandom(_NONCE)
    body = aead.encrypt(nonce, value.encode(), _aad(aggregate_id, path))
    return SEALED + base64.urlsafe_b64encode(key_id.bytes + nonce + body).decode().rstrip("=")


@functools.cache
def _split_path(path: str) -> tuple[tuple[str, ...], str]:
    *parents, last = path.split(".")
    return tuple(parents), last


def personal_fields(cls: type) -> tuple[PersonalField, ...]:
    return tuple(getattr(cls, "PERSONAL", ()))


class PersonalDataMapper(Mapper[UUID]):
    """The library's mapper, sealing each event's personal fields on the way to the log
    and opening them (or finding them erased) on the way back."""

    def __init__(self, transcoder: Transcoder, *, keys: KeyRing) -> None:
        super().__init__(transcoder)
        self.keys = keys
        #: The keys fetched for the batch being decoded in this thread (``prefetched``).
        self._batch = threading.local()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        fields = personal_fields(type(domain_event))
        if not fields:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        aggregate_id = state["originator_id"]
        clear: list[tuple[PersonalField, Subject, str]] = []
        for f in fields:
            value = f.get(state)
            # Every text is sealed, one that looks sealed included: what a person typed is
            # never taken for a value already sealed (it would be kept in clear and
            # outlive its person's erasure).
            if not isinstance(value, str) or value == ERASED:
                continue
            clear.append((f, f.subject(state, aggregate_id), value))
        if clear:  # the keys of all the event's fields at once: one round trip at most
            keys = self.keys.writing_keys([(subject, f.kind) for f, subject, _ in clear])
            for f, subject, value in clear:
                key_id, aead = keys[(subject.subject_id, f.kind.value)]
                f.set(state, seal(key_id, aead, aggregate_id, f.path, value))
        sealed = object.__new__(type(domain_event))
        object.__setattr__(sealed, "__dict__", state)
        return super().to_stored_event(sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        fields = personal_fields(type(event))
        if fields:
            self.open(event, fields)
        return event

    def to_sealed_domain_event(self, stored_event: StoredEvent) -> Any:
        """The domain event with its personal fields left sealed, for a reader that reads
        none of them (``BatchProjection.reads_personal_data``)."""
        return super().to_domain_event(stored_event)

    def open(self, event: Any, fields: Sequence[PersonalField]) -> None:
        """Open the sealed fields of an event just decoded (its state is its own: the
        fields are set in place)."""
        state = vars(event)
        found: list[tuple[dict[str, Any], str, str, bytes]] = []
        for f in fields:
            parents, last = _split_path(f.path)
            node: Any = state
            for name in parents:
                node = node.get(name) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                continue
            raw = sealed.raw_of(node.get(last))
            if raw is not None:
                found.append((node, last, f.path, raw))
        if not found:
            return
        opening: set[bytes] | None = getattr(self._batch, "opening", None)
        if opening is not None:
            for one in found:
                opening.add(one[3][:16])
        keys: dict[bytes, AESGCM | None] = {}
        missing: list[UUID] = []
        fetched: dict[bytes, AESGCM | None] | None = getattr(self._batch, "keys", None)
        for *_, raw in found:
            key_id = raw[:16]
            kept = self.keys.kept_by_bytes(key_id)
            if kept is False and fetched is not None:
                kept = fetched.get(key_id, False)
            if kept is False:
                missing.append(UUID(bytes=key_id))
            else:
                keys[key_id] = kept  # type: ignore[assignment]
        if missing:
            keys.update((k.bytes, aead) for k, aead in self.keys.reading_keys(missing).items())
        place = f"{state['originator_id']}/"
        for node, last, path, raw in found:
            aead = keys[raw[:16]]
            if aead is None:
                node[last] = ERASED
                continue
            try:
                opened = aead.decrypt(
                    raw[16 : 16 + _NONCE], raw[16 + _NONCE :], (place + path).encode()
                )
            except InvalidTag:  # moved from where it was sealed, or altered
                node[last] = ERASED
            else:
                node[last] = opened.decode()

    @contextmanager
    def prefetched(self, states: Iterable[bytes]) -> Iterator[None]:
        """Within the block, the keys of the sealed values in ``states`` (encoded stored
        events, a batch about to be decoded) are at hand, fetched in one query rather
        than event by event."""
        wanted = sealed_key_ids(states)
        missing = [UUID(bytes=k) for k in wanted if self.keys.kept_by_bytes(k) is False]
        fetched = self.keys.reading_keys(missing) if missing else {}
        outer = getattr(self._batch, "keys", None)
        self._batch.keys = {**(outer or {}), **{k.bytes: aead for k, aead in fetched.items()}}
        try:
            yield
        finally:
            self._batch.keys = outer

    @contextmanager
    def opening(self) -> Iterator[set[bytes]]:
        """The ids (16 bytes each) of the keys the personal fields of the events decoded
        in this thread within the block are sealed under, erased ones included: the keys
        a reader of those events' stored forms needs, and no other."""
        outer = getattr(self._batch, "opening", None)
        self._batch.opening = ids = set[bytes]()
        try:
            yield ids
        finally:
            self._batch.opening = outer
            if outer is not None:
                outer |= ids

    def sealed_subjects(self, stored_event: StoredEvent) -> list[UUID]:
        """The ids of the keys this stored event's personal fields are sealed under."""
        cls = resolve_topic(stored_event.topic)
        fields = personal_fields(cls)
        if not fields:
            return []
        state = self.transcoder.decode(stored_event.state)
        return [UUID(bytes=raw[:16]) for f in fields if (raw := sealed.raw_of(f.get(state)))]
