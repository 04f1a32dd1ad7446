"""Signed notes and checkpoints in the C2SP formats (c2sp.org/signed-note,
c2sp.org/tlog-checkpoint), so that standard transparency-log tooling reads our checkpoints.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per
signature: ``— <key name> <base64(key id ‖ signature)>``. For Ed25519 the key id is the
first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), and the signature is over
the text (everything before the blank line, its final newline included). A verifier key
is written ``<name>+<key id, 8 hex digits>+<base64(0x01 ‖ public key)>``.

A witness's countersignature is a cosignature (c2sp.org/tlog-cosignature, v1, Ed25519):
a signature line of signature type 0x04 whose key id is the first 4 bytes of
SHA-256(key name ‖ 0x0A ‖ 0x04 ‖ public key) and whose bytes are that key id, the time of
cosigning (seconds since the epoch, 8 bytes big-endian) and the Ed25519 signature of
``cosignature/v1\n`` ‖ ``time <those seconds, decimal>\n`` ‖ the whole note text (every
line of the checkpoint, extension lines included, its final newline too). A witness's
verifier key is written with type 0x04: ``<name>+<key id>+<base64(0x04 ‖ public key)>``.

A checkpoint is the text of a note: the log's origin, its size in decimal, its root hash in
base64, then extension lines; ours carries one, ``time <RFC 3339 UTC>``, when the tree head
was signed.

This module needs only the standard library and ``cryptography``: the offline audit package
carries it verbatim.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
#: The signature type of a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature v1).
COSIGNATURE_V1 = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note or checkpoint that is malformed, or whose signature does not hold."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey, kind: int = ED25519) -> bytes:
    """The 4-byte id of a key of signature type ``kind`` (0x01: a note signature, 0x04: a
    cosignature): SHA-256(name ‖ 0x0A ‖ kind ‖ public key), its first 4 bytes."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + _raw(public)).digest()[:4]


def _decode_key(text: str, kinds: tuple[int, ...]) -> tuple[str, str, int, Ed25519PublicKey]:
    """A verifier key's name, hex key id, signature type and Ed25519 public key."""
    try:
        name, hex_id, blob = text.strip().split("+", 2)
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, binascii.Error) as error:
        raise NoteError(f"not a verifier key: {text!r}") from error
    if len(raw) != 33 or raw[0] not in kinds:
        kind = "an Ed25519 key" if kinds == (ED25519,) else "an Ed25519 cosigner key (0x04)"
        raise NoteError(f"the verifier key is not {kind}")
    return name, hex_id, raw[0], Ed25519PublicKey.from_public_bytes(raw[1:])


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key, as a signed note's verifier key."""

    name: str
    public: Ed25519PublicKey

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise NoteError(f"a key name has no spaces and no '+': {self.name!r}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        blob = base64.b64encode(bytes([ED25519]) + _raw(self.public)).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        name, hex_id, _, public = _decode_key(text, (ED25519,))
        verifier = cls(name, public)
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key())

    def signature_line(self, text: str) -> str:
        signature = self.private.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("a note's text has no blank line")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text has no control characters but newlines")


def sign(text: str, *signers: Signer) -> str:
    """The signed note of ``text`` by each of ``signers``."""
    _check_text(text)
    return text + "\n" + "".join(s.signature_line(text) for s in signers)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    @classmethod
    def parse(cls, note: str) -> Note:
        text, sep, block = note.rpartition("\n\n")
        if not sep:
            raise NoteError("a signed note has a blank line before its signatures")
        text += "\n"
        _check_text(text)
        if not block.endswith("\n"):
            raise NoteError("a signed note ends with a newline")
        signatures = []
        for line in block[:-1].split("\n"):
            if not line.startswith(SIGNATURE_PREFIX):
                raise NoteError(f"not a signature line: {line!r}")
            try:
                name, blob = line[len(SIGNATURE_PREFIX) :].split(" ")
                raw = base64.b64decode(blob, validate=True)
            except (ValueError, binascii.Error) as error:
                raise NoteError(f"not a signature line: {line!r}") from error
            if len(raw) < 5:
                raise NoteError(f"signature of {name} too short")
            signatures.append(Signature(name, raw[:4], raw[4:]))
        if not signatures:
            raise NoteError("a signed note has at least one signature")
        return cls(text, tuple(signatures))

    def verified_by(self, verifier: Verifier) -> bool:
        """Whether a signature of ``verifier``'s name and key id holds over the text (a
        signature of that name and id that does not hold raises ``NoteError``)."""
        for s in self.signatures:
            if s.name == verifier.name and s.key_id == verifier.key_id:
                try:
                    verifier.public.verify(s.signature, self.text.encode())
                except InvalidSignature as error:
                    raise NoteError(f"the signature of {s.name} does not hold") from error
                return True
        return False


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: its header line, the line of its time in seconds since
    the epoch, then the whole text of the note it countersigns."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


class CosignatureMissing(NoteError):
    """A note that carries no cosignature under a witness's name and key id."""


@dataclass(frozen=True)
class Cosignature:
    """A witness's countersignature that holds on a note: the witness, and the time it gave
    (``None`` for a plain note signature of the older form, which has none)."""

    witness: str
    timestamp: int | None

    @property
    def cosigned_at(self) -> datetime | None:
        return None if self.timestamp is None else datetime.fromtimestamp(self.timestamp, UTC)

    def describe(self) -> str:
        if self.cosigned_at is None:
            return "a plain note signature of the older form, without a time"
        return f"cosignature/v1 of {self.cosigned_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _holds(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's Ed25519 key as a cosigner (signature type 0x04): checks its cosignatures.

    Read from a verifier key of type 0x04, or of type 0x01 (a witness's key written before
    cosignatures were timestamped: the same name and key, its cosignatures checked under the
    0x04 key id all the same); written with type 0x04."""

    name: str
    public: Ed25519PublicKey

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise NoteError(f"a key name has no spaces and no '+': {self.name!r}")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public, COSIGNATURE_V1)

    @property
    def note_key_id(self) -> bytes:
        """The key id of this key's plain note signatures (type 0x01)."""
        return key_id(self.name, self.public, ED25519)

    def encode(self) -> str:
        blob = base64.b64encode(bytes([COSIGNATURE_V1]) + _raw(self.public)).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def decode(cls, text: str) -> CosignatureVerifier:
        name, hex_id, kind, public = _decode_key(text, (COSIGNATURE_V1, ED25519))
        if key_id(name, public, kind).hex() != hex_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, public)

    def verify(self, note: Note, *, older_form: bool = False) -> Cosignature:
        """This witness's cosignature on ``note``, once it holds. ``CosignatureMissing``
        when the note carries none under this name and key id (a line of this name under
        another key id is another key's, and is named); ``NoteError`` when the cosignature
        does not hold: the checkpoint or its time altered, or a plain note signature passed
        off as a cosignature. With ``older_form``, a plain note signature of this key
        (type 0x01) is taken, as a ``Cosignature`` without a time, when there is no
        cosignature."""
        named = [s for s in note.signatures if s.name == self.name]
        for s in named:
            if s.key_id == self.key_id:
                return self._check(note.text, s.signature)
        plain = [s for s in named if s.key_id == self.note_key_id]
        if plain and older_form:
            if not _holds(self.public, plain[0].signature, note.text.encode()):
                raise NoteError(
                    f"the note signature of {self.name} does not hold: the checkpoint was altered"
                )
            return Cosignature(self.name, None)
        if plain:
            raise NoteError(
                f"{self.name} signed with a plain note signature (type 0x01, without a time), "
                "not a cosignature/v1 (type 0x04, c2sp.org/tlog-cosignature)"
            )
        if named:
            ids = ", ".join(s.key_id.hex() for s in named)
            raise CosignatureMissing(
                f"the signature of {self.name} is of another key (key id {ids}, not "
                f"{self.key_id.hex()}): wrong key"
            )
        raise CosignatureMissing(f"the checkpoint carries no cosignature of {self.name}")

    def _check(self, text: str, blob: bytes) -> Cosignature:
        if len(blob) == 64:
            raise NoteError(
                f"the cosignature of {self.name} is 64 bytes, a plain note signature without "
                "a time passed off as a cosignature/v1"
            )
        if len(blob) != 72:
            raise NoteError(
                f"the cosignature of {self.name} is {len(blob)} bytes, not 8 of time and 64 "
                "of signature"
            )
        timestamp = int.from_bytes(blob[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            raise NoteError(f"the cosignature of {self.name} has a time beyond 2^63 - 1")
        signature = blob[8:]
        if _holds(self.public, signature, cosignature_message(text, timestamp)):
            return Cosignature(self.name, timestamp)
        if _holds(self.public, signature, text.encode()):
            raise NoteError(
                f"the cosignature of {self.name} signs the checkpoint alone, a plain note "
                "signature passed off as a cosignature/v1"
            )
        raise NoteError(
            f"the cosignature of {self.name} does not hold: the checkpoint or its time "
            f"({timestamp}) was altered"
        )


@dataclass(frozen=True)
class Cosigner:
    """A witness's Ed25519 private key, which makes cosignatures (c2sp.org/tlog-cosignature)."""

    name: str
    private: Ed25519PrivateKey

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.private.public_key())

    def cosignature_line(self, text: str, timestamp: int) -> str:
        """The signature line of this witness's cosignature of the note text ``text``, made
        at ``timestamp`` (seconds since the epoch)."""
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise NoteError(f"a cosignature's time is within 0 .. 2^63 - 1: {timestamp}")
        _check_text(text)
        signature = self.private.sign(cosignature_message(text, timestamp))
        blob = self.verifier.key_id + timestamp.to_bytes(8, "big") + signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class TreeHead:
    """A checkpoint's content: the log's origin, size and root hash, and when it was signed."""

    origin: str
    size: int
    root: bytes
    signed_at: datetime
    extensions: tuple[str, ...] = field(default=())

    def text(self) -> str:
        when = self.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            f"time {when}",
            *self.extensions,
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> TreeHead:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a size and a root hash, each a line")
        origin, size, root, *rest = lines[:-1]
        if not origin or not re.fullmatch(r"0|[1-9][0-9]*", size):
            raise NoteError("a checkpoint's size is a decimal number without leading zeros")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error as error:
            raise NoteError("a checkpoint's root hash is base64") from error
        if len(root_hash) != 32:
            raise NoteError("a checkpoint's root hash is 32 bytes")
        times = [line[5:] for line in rest if line.startswith("time ")]
        if len(times) != 1:
            raise NoteError("our checkpoints carry the time they were signed, once")
        signed_at = datetime.strptime(times[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        others = tuple(line for line in rest if not line.startswith("time "))
        return cls(origin, int(size), root_hash, signed_at, others)


def open_checkpoint(note: str, verifier: Verifier, *, origin: str | None = None) -> TreeHead:
    """The tree head of a signed checkpoint, once ``verifier``'s signature on it holds (and
    its origin is ``origin``, when given); raises ``NoteError`` otherwise."""
    parsed = Note.parse(note)
    if not parsed.verified_by(verifier):
        raise NoteError(f"the checkpoint carries no signature of {verifier.name}")
    head = TreeHead.parse(parsed.text)
    if origin is not None and head.origin != origin:
        raise NoteError(f"the checkpoint is of the log {head.origin!r}, not {origin!r}")
    return head
