"""Witnesses' cosignatures (c2sp.org/tlog-cosignature v1, Ed25519, signature type 0x04):
ours checked by an independent implementation of the specification written here, the
specification's own example reproduced byte for byte (its signed message and the framing of
its cosignature line; it publishes no key, so its signature itself cannot be checked), a
published 0x04 verifier key read and written back, and every tampering refused and named.
No database."""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from application.proofs.note import (
    CosignatureMissing,
    CosignatureVerifier,
    Cosigner,
    Note,
    NoteError,
    Signer,
    TreeHead,
    Verifier,
    cosignature_message,
    sign,
)

LOG = Signer("fullchain.example/log", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
WITNESS = Cosigner(
    "witness.example/auditor-qian", Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
)
#: The time of the specification's example: 2023-03-20T12:25:47Z.
TIME = 1679315147


def checkpoint(size: int = 11, root: bytes = bytes(range(32))) -> str:
    head = TreeHead(
        origin="fullchain.example/log",
        size=size,
        root=root,
        signed_at=datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC),
        extensions=("customers " + base64.b64encode(bytes(32)).decode(),),
    )
    return sign(head.text(), LOG)


def cosigned(note: str, witness: Cosigner = WITNESS, timestamp: int = TIME) -> str:
    return note + witness.cosignature_line(Note.parse(note).text, timestamp)


# --- an independent implementation of the specification ------------------------------------


def spec_key(vkey: str) -> tuple[str, bytes, bytes]:
    """A cosigner's verifier key (c2sp.org/signed-note vkey, tlog-cosignature §Format):
    ``<name>+<hex key ID>+base64(0x04 || 32-byte Ed25519 public key)``, its key ID
    SHA-256(name || "\\n" || 0x04 || public key)[:4]. Name, key ID, public key."""
    name, hex_id, encoded = vkey.split("+", 2)
    material = base64.b64decode(encoded, validate=True)
    assert len(material) == 1 + 32
    assert material[0] == 0x04
    key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + material[1:]).digest()[:4]
    assert key_id.hex() == hex_id
    return name, key_id, material[1:]


def spec_cosignature(note: str, vkey: str) -> int:
    """The timestamp of the cosigner's cosignature on the signed note ``note``, once it
    verifies: the note text is everything before the last blank line (its final newline
    included); the cosigner's line is the one of its name and key ID; its bytes after the
    key ID are a u64 big-endian timestamp then a 64-byte Ed25519 signature of
    "cosignature/v1\\n" || "time " || decimal timestamp || "\\n" || the note text.
    ``LookupError`` when there is no line of the key, ``InvalidSignature`` when it does
    not verify."""
    name, key_id, public = spec_key(vkey)
    text, signatures = note.rsplit("\n\n", 1)
    body = (text + "\n").encode()
    for line in signatures.splitlines():
        dash, signer, encoded = line.split(" ")
        assert dash == "\u2014"
        blob = base64.b64decode(encoded, validate=True)
        if signer != name or blob[:4] != key_id:
            continue  # another key's: ignored
        assert len(blob) == 4 + 8 + 64
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        assert timestamp < 2**63
        message = b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + body
        Ed25519PublicKey.from_public_bytes(public).verify(blob[12:], message)
        return int(timestamp)
    raise LookupError(f"no signature of {name}")


def with_blob(note: str, name: str, change: bytes) -> str:
    """``note`` with the bytes of ``name``'s signature line replaced by ``change``."""
    lines = note.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(f"\u2014 {name} "):
            lines[i] = f"\u2014 {name} {base64.b64encode(change).decode()}"
    return "\n".join(lines)


def blob_of(note: str, name: str) -> bytes:
    return next(s.key_id + s.signature for s in Note.parse(note).signatures if s.name == name)


# --- what the specification says, checked ---------------------------------------------------


def test_a_cosignature_verifies_by_the_specification_written_here() -> None:
    note = checkpoint()
    signed = cosigned(note)
    assert spec_cosignature(signed, WITNESS.verifier.encode()) == TIME
    line = signed.rsplit("\n", 2)[-2]
    assert line.startswith("\u2014 witness.example/auditor-qian ")
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == spec_key(WITNESS.verifier.encode())[1]
    assert blob[4:12] == TIME.to_bytes(8, "big")
    assert len(blob) == 76
    # The log's signature is untouched: the note is the log's, one line longer.
    assert signed.startswith(note)
    assert Note.parse(signed).verified_by(LOG.verifier)
    found = WITNESS.verifier.verify(Note.parse(signed))
    assert (found.witness, found.timestamp) == (WITNESS.name, TIME)
    assert found.cosigned_at == datetime(2023, 3, 20, 12, 25, 47, tzinfo=UTC)


def test_the_specifications_signed_message_and_cosignature_line_byte_for_byte() -> None:
    """c2sp.org/tlog-cosignature: its example checkpoint, the message a cosignature of it
    at 1679315147 signs, and its example cosignature line (key ID 8d66cf3f)."""
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(body, 1679315147) == (
        b"cosignature/v1\n"
        b"time 1679315147\n"
        b"example.com/behind-the-sofa\n"
        b"20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    example = (
        body
        + "\n"
        + "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe"
        "4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        + "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZC"
        "B9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    )
    parsed = Note.parse(example)
    assert parsed.text == body
    witness = parsed.signatures[1]
    assert witness.name == "witness.example.com/w1"
    assert witness.key_id.hex() == "8d66cf3f"
    assert len(witness.signature) == 8 + 64
    assert int.from_bytes(witness.signature[:8], "big") == 1679315147
    # Written back from its parts, the line is the specification's, byte for byte.
    line = base64.b64encode(witness.key_id + witness.signature).decode()
    assert f"\u2014 {witness.name} {line}\n" in example
    # Another key of that name: its line is another key's, ignored and named.
    stranger = CosignatureVerifier(witness.name, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CosignatureMissing, match=r"another key .*8d66cf3f"):
        stranger.verify(parsed)


def test_a_published_cosigner_key_is_read_and_written_back() -> None:
    """Verifier keys of transparency-dev/formats' tests (note/note_cosigv1_test.go), used
    as data: a native 0x04 cosigner key, and a 0x01 key read as the same cosigner's."""
    native = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    assert CosignatureVerifier.decode(native).encode() == native
    assert spec_key(native)[0] == "remora.n621.de"
    older = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    converted = CosignatureVerifier.decode(older)
    assert converted.public.public_bytes_raw() == Verifier.decode(older).public.public_bytes_raw()
    assert converted.note_key_id.hex() == "7997405c"
    assert spec_key(converted.encode())[1] == converted.key_id
    # A log's key is a note signer (0x01): a cosigner's key is not one.
    with pytest.raises(NoteError, match="not an Ed25519 key"):
        Verifier.decode(native)
    with pytest.raises(NoteError, match="does not match"):
        CosignatureVerifier.decode(native.replace("da77ade7", "da77ade8"))
    with pytest.raises(NoteError, match="not an Ed25519 cosigner key"):
        CosignatureVerifier.decode("x+00000000+" + base64.b64encode(b"\x02" + bytes(32)).decode())


def test_an_altered_timestamp_is_refused() -> None:
    signed = cosigned(checkpoint())
    blob = blob_of(signed, WITNESS.name)
    later = blob[:4] + (TIME + 1).to_bytes(8, "big") + blob[12:]
    altered = with_blob(signed, WITNESS.name, later)
    with pytest.raises(InvalidSignature):
        spec_cosignature(altered, WITNESS.verifier.encode())
    with pytest.raises(NoteError, match=r"checkpoint or its time \(1679315148\) was altered"):
        WITNESS.verifier.verify(Note.parse(altered))
    beyond = blob[:4] + (2**63).to_bytes(8, "big") + blob[12:]
    with pytest.raises(NoteError, match="beyond"):
        WITNESS.verifier.verify(Note.parse(with_blob(signed, WITNESS.name, beyond)))


def test_an_altered_checkpoint_is_refused_its_extension_lines_too() -> None:
    signed = cosigned(checkpoint())
    line = signed.rsplit("\n", 2)[-2] + "\n"
    # The witness's line moved onto another checkpoint of the same log, signed by it.
    other = checkpoint(size=12)
    with pytest.raises(InvalidSignature):
        spec_cosignature(other + line, WITNESS.verifier.encode())
    with pytest.raises(NoteError, match=r"checkpoint or its time .* was altered"):
        WITNESS.verifier.verify(Note.parse(other + line))
    # An extension line changed: the cosignature covers the whole checkpoint.
    text = Note.parse(signed).text.replace("customers AAAA", "customers BAAA")
    moved = sign(text, LOG) + line
    assert Note.parse(moved).verified_by(LOG.verifier)
    with pytest.raises(NoteError, match="was altered"):
        WITNESS.verifier.verify(Note.parse(moved))


def test_a_cosignature_under_another_key_or_key_id_is_not_the_witness() -> None:
    signed = cosigned(checkpoint())
    blob = blob_of(signed, WITNESS.name)
    renamed = with_blob(signed, WITNESS.name, bytes([blob[0] ^ 1]) + blob[1:])
    with pytest.raises(LookupError):
        spec_cosignature(renamed, WITNESS.verifier.encode())
    with pytest.raises(CosignatureMissing, match=r"another key .*wrong key"):
        WITNESS.verifier.verify(Note.parse(renamed))
    impostor = Cosigner(WITNESS.name, Ed25519PrivateKey.generate())
    with pytest.raises(CosignatureMissing, match="wrong key"):
        WITNESS.verifier.verify(Note.parse(cosigned(checkpoint(), impostor)))
    with pytest.raises(CosignatureMissing, match="carries no cosignature"):
        WITNESS.verifier.verify(Note.parse(checkpoint()))


def test_a_plain_note_signature_is_no_cosignature() -> None:
    note = checkpoint()
    text = Note.parse(note).text
    plain = WITNESS.private.sign(text.encode())
    key_id = WITNESS.verifier.key_id
    # Under the cosignature's key id: 64 bytes without a time, or a time before them.
    passed_off = note + Signer(WITNESS.name, WITNESS.private).signature_line(text)
    passed_off = with_blob(passed_off, WITNESS.name, key_id + plain)
    with pytest.raises(NoteError, match=r"64 bytes, a plain note signature .* passed off"):
        WITNESS.verifier.verify(Note.parse(passed_off))
    timed = with_blob(passed_off, WITNESS.name, key_id + TIME.to_bytes(8, "big") + plain)
    with pytest.raises(InvalidSignature):
        spec_cosignature(timed, WITNESS.verifier.encode())
    with pytest.raises(NoteError, match=r"signs the checkpoint alone, .* passed off"):
        WITNESS.verifier.verify(Note.parse(timed))
    # Under its own key id (type 0x01): the older form, refused unless asked for.
    older = note + Signer(WITNESS.name, WITNESS.private).signature_line(text)
    with pytest.raises(LookupError):
        spec_cosignature(older, WITNESS.verifier.encode())
    with pytest.raises(NoteError, match=r"plain note signature \(type 0x01"):
        WITNESS.verifier.verify(Note.parse(older))
    kept = WITNESS.verifier.verify(Note.parse(older), older_form=True)
    assert (kept.timestamp, kept.describe()) == (
        None,
        "a plain note signature of the older form, without a time",
    )
    altered = sign(text.replace("\n11\n", "\n12\n"), LOG) + older.rsplit("\n", 2)[-2] + "\n"
    with pytest.raises(NoteError, match="checkpoint was altered"):
        WITNESS.verifier.verify(Note.parse(altered), older_form=True)


def test_a_cosignature_has_a_time_in_range() -> None:
    text = Note.parse(checkpoint()).text
    for timestamp in (-1, 2**63):
        with pytest.raises(NoteError, match=r"0 \.\. 2\^63 - 1"):
            WITNESS.cosignature_line(text, timestamp)
    assert spec_cosignature(cosigned(checkpoint(), timestamp=0), WITNESS.verifier.encode()) == 0
