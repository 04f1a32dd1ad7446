"""The evidence store on its own: content-addressed, written whole, once; the S3 store
against a stand-in of the S3 API (no S3-compatible server runs here)."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from application.evidence import (
    FileState,
    LocalEvidenceStore,
    MediaType,
    S3EvidenceStore,
    check_files,
    contradicts,
    sniff,
)

PNG = b"\x89PNG\r\n\x1a\n...."


def test_files_are_named_by_their_hash_and_stored_once(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path)
    first = store.put(PNG)
    assert (first.sha256, first.size, first.written) == (sha256(PNG).hexdigest(), len(PNG), True)
    assert store.path(first.sha256) == tmp_path / first.sha256[:2] / first.sha256
    modified = store.path(first.sha256).stat().st_mtime_ns
    assert store.put(PNG).written is False
    assert store.path(first.sha256).stat().st_mtime_ns == modified
    assert store.get(first.sha256) == PNG
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first.sha256]
    # An altered copy is replaced by the true bytes when they are stored again.
    store.path(first.sha256).write_bytes(b"altered")
    assert store.check(first.sha256) is FileState.ALTERED
    assert store.put(PNG).written is True
    assert store.check(first.sha256) is FileState.PRESENT
    assert store.get("0" * 64) is None
    with pytest.raises(ValueError, match="SHA-256"):
        store.get("../../etc/passwd")


def test_the_type_is_the_bytes_not_the_name() -> None:
    assert sniff(PNG) is MediaType.PNG
    assert sniff(b"\xff\xd8\xff\xdb") is MediaType.JPEG
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") is MediaType.WEBP
    assert sniff(b"%PDF-1.7") is MediaType.PDF
    assert sniff(b"MM\x00*") is MediaType.TIFF
    assert sniff(b"GIF89a") is None
    assert sniff(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert not contradicts(None, MediaType.PNG)
    assert not contradicts("application/octet-stream", MediaType.PDF)
    assert not contradicts("image/jpg", MediaType.JPEG)
    assert contradicts("image/png", MediaType.PDF)


class FakeS3:
    """The three calls of the S3 API the store makes, on a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.puts = 0

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:  # noqa: N803
        self.objects[Bucket, Key] = Body
        self.puts += 1

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        if (Bucket, Key) not in self.objects:
            error = Exception("NoSuchKey")
            error.response = {"Error": {"Code": "NoSuchKey"}}  # type: ignore[attr-defined]
            raise error
        body = self.objects[Bucket, Key]

        class Body:
            def read(self) -> bytes:
                return body

        return {"Body": Body()}


def test_the_s3_store_keeps_files_under_their_hash_once() -> None:
    client = FakeS3()
    store = S3EvidenceStore(client, "evidence", "fullchain/")
    stored = store.put(PNG)
    assert stored.written
    assert client.objects == {("evidence", f"fullchain/{stored.sha256}"): PNG}
    assert store.put(PNG).written is False
    assert client.puts == 1
    assert store.get(stored.sha256) == PNG
    assert store.check("0" * 64) is FileState.MISSING
    client.objects["evidence", f"fullchain/{stored.sha256}"] = b"altered"
    problems = check_files(store, [(stored.sha256, "claim 1"), ("0" * 64, "claim 2")])
    assert [(p.state, p.attached_to) for p in problems] == [
        (FileState.ALTERED, "claim 1"),
        (FileState.MISSING, "claim 2"),
    ]
