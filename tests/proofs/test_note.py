"""Signed notes and checkpoints: the published reference note of golang.org/x/mod/sumdb/note
(its documentation's example, used as data) reproduced byte for byte, and our checkpoints
read by an independent parser written here from the C2SP specifications. No database."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from application.proofs.merkle import leaf_hash, root_of
from application.proofs.note import (
    Note,
    NoteError,
    Signer,
    TreeHead,
    Verifier,
    open_checkpoint,
    sign,
)

REFERENCE_SIGNER_KEY = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
REFERENCE_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
REFERENCE_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
REFERENCE_NOTE = (
    REFERENCE_TEXT
    + "\n"
    + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    + "ngotpRZb6KE6RyyBwJnAM=\n"
)


def reference_signer() -> Signer:
    seed = base64.b64decode(REFERENCE_SIGNER_KEY.split("+", 4)[4])
    assert seed[0] == 1
    return Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def test_the_reference_note_is_reproduced_byte_for_byte() -> None:
    signer = reference_signer()
    assert signer.verifier.encode() == REFERENCE_VERIFIER_KEY
    assert sign(REFERENCE_TEXT, signer) == REFERENCE_NOTE


def test_the_reference_note_opens_under_its_published_verifier_key_only() -> None:
    verifier = Verifier.decode(REFERENCE_VERIFIER_KEY)
    note = Note.parse(REFERENCE_NOTE)
    assert note.text == REFERENCE_TEXT
    assert note.verified_by(verifier)
    other = Verifier("PeterNeumann", Ed25519PrivateKey.generate().public_key())
    assert not note.verified_by(other)  # another key: not its signature
    with pytest.raises(NoteError, match="does not hold"):
        Note.parse(REFERENCE_NOTE.replace("cryptography", "cryptographY")).verified_by(verifier)


def test_a_verifier_key_whose_base64_holds_a_plus_is_read() -> None:
    """The key of transparency-dev/formats' tests (note/note_cosigv1_test.go), used as
    data: its base64 contains a '+', which is no separator there."""
    key = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    assert Verifier.decode(key).encode() == key


@pytest.mark.parametrize(
    "mangled",
    [
        REFERENCE_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"),  # wrong key id
        REFERENCE_VERIFIER_KEY.replace("PeterNeumann", "PaulNeumann"),  # id of another name
        REFERENCE_VERIFIER_KEY[:-4],  # cut short
        "PeterNeumann+c74f20a3",
    ],
)
def test_a_mangled_verifier_key_is_refused(mangled: str) -> None:
    with pytest.raises(NoteError):
        Verifier.decode(mangled)


@pytest.mark.parametrize(
    ("note", "why"),
    [
        (REFERENCE_TEXT, "blank line"),
        (REFERENCE_TEXT + "\n", "newline|signature"),
        (REFERENCE_TEXT + "\n- PeterNeumann abc=\n", "not a signature line"),
        (REFERENCE_NOTE[:-1], "ends with a newline"),
    ],
)
def test_a_malformed_note_is_refused(note: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        Note.parse(note)


# --- an independent reading of a checkpoint, from the specifications ----------------------


def independent_open(note: str, vkey: str) -> tuple[str, int, bytes, list[str]]:
    """c2sp.org/signed-note and c2sp.org/tlog-checkpoint, read straight from the text:
    split off the signature lines after the last blank line, find the line of the key's
    name and id, check the Ed25519 signature over the text, then read origin, size, root
    hash and extension lines."""
    name, hex_id, key = vkey.split("+", 2)
    raw = base64.b64decode(key)
    assert raw[0] == 0x01
    assert len(raw) == 33
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == hex_id
    text, signatures = note.rsplit("\n\n", 1)
    text += "\n"
    for line in signatures.splitlines():
        dash, signer, blob = line.split(" ")
        assert dash == "\u2014"
        decoded = base64.b64decode(blob)
        if signer == name and decoded[:4].hex() == hex_id:
            Ed25519PublicKey.from_public_bytes(raw[1:]).verify(decoded[4:], text.encode())
            break
    else:
        raise AssertionError("no signature of the key")
    origin, size, root, *extensions = text[:-1].split("\n")
    return origin, int(size), base64.b64decode(root), extensions


def test_a_checkpoint_reads_the_same_to_an_independent_parser() -> None:
    signer = Signer("fullchain.example/log", Ed25519PrivateKey.generate())
    leaves = [leaf_hash(str(i).encode()) for i in range(11)]
    head = TreeHead(
        origin="fullchain.example/log",
        size=11,
        root=root_of(leaves),
        signed_at=datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC),
    )
    note = sign(head.text(), signer)
    assert note.splitlines()[:4] == [
        "fullchain.example/log",
        "11",
        base64.b64encode(root_of(leaves)).decode(),
        "time 2026-11-30T23:59:58.123456Z",
    ]
    assert independent_open(note, signer.verifier.encode()) == (
        "fullchain.example/log",
        11,
        root_of(leaves),
        ["time 2026-11-30T23:59:58.123456Z"],
    )
    assert open_checkpoint(note, signer.verifier, origin="fullchain.example/log") == head


def test_a_checkpoint_of_another_log_or_key_or_altered_is_refused() -> None:
    signer = Signer("fullchain.example/log", Ed25519PrivateKey.generate())
    head = TreeHead("fullchain.example/log", 3, bytes(32), datetime(2026, 1, 1, tzinfo=UTC))
    note = sign(head.text(), signer)
    with pytest.raises(NoteError, match=r"not 'other\.example/log'"):
        open_checkpoint(note, signer.verifier, origin="other.example/log")
    stranger = Verifier("fullchain.example/log", Ed25519PrivateKey.generate().public_key())
    with pytest.raises(NoteError, match="no signature"):
        open_checkpoint(note, stranger)
    with pytest.raises(NoteError, match="does not hold"):
        open_checkpoint(note.replace("\n3\n", "\n4\n", 1), signer.verifier)
