"""The evidence store: damage photos, proofs of delivery, survey reports, kept by content.

A file's name is the SHA-256 of its bytes (hex), so the same file is stored once whoever
attaches it and wherever, and the event that attaches it (``Shipment.EvidenceAttached``,
``Relationship.EvidenceAttached``) names the bytes exactly: the log's hash chain covers the
hash, and ``fullchain verify`` checks that each named file is there and hashes to its name.

Where: a local folder, ``$FULLCHAIN_EVIDENCE_DIR`` (default ``evidence`` beside the
embedded database's data, ``$FULLCHAIN_DATA_DIR``, default ``.data``), each file written to a
temporary file and renamed into place, so a reader never sees half a file; or, with
``$FULLCHAIN_EVIDENCE_S3_BUCKET``, an S3-compatible bucket (``$FULLCHAIN_EVIDENCE_S3_ENDPOINT``
for one other than AWS, ``$FULLCHAIN_EVIDENCE_S3_PREFIX``; credentials as boto3 finds them).

What: JPEG, PNG, WEBP, PDF and TIFF, recognised by their first bytes (``sniff``), never by
the name or the type a client declares; at most ``$FULLCHAIN_EVIDENCE_MAX_BYTES`` (default
20 MiB) each.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.persistence import Mapper, StoredEvent

from application import settings
from application.progress import Progress
from application.store.database import Database, data_dir
from application.store.schema import EVENTS_TABLE

EVIDENCE_DIR_VARIABLE = "FULLCHAIN_EVIDENCE_DIR"
S3_BUCKET_VARIABLE = "FULLCHAIN_EVIDENCE_S3_BUCKET"
S3_ENDPOINT_VARIABLE = "FULLCHAIN_EVIDENCE_S3_ENDPOINT"
S3_PREFIX_VARIABLE = "FULLCHAIN_EVIDENCE_S3_PREFIX"
MAX_BYTES_VARIABLE = "FULLCHAIN_EVIDENCE_MAX_BYTES"

#: The default largest file: a phone's photo or a scanned multi-page POD fits.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class MediaType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    PDF = "application/pdf"
    TIFF = "image/tiff"


def sniff(data: bytes) -> MediaType | None:
    """The type the file's first bytes say it is; None: none the store accepts."""
    if data.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return MediaType.WEBP
    if data.startswith(b"%PDF-"):
        return MediaType.PDF
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return MediaType.TIFF
    return None


#: Types a client may declare for each recognised type (besides "no type" and
#: application/octet-stream, which say nothing).
_ALIASES = {
    MediaType.JPEG: {"image/jpeg", "image/jpg", "image/pjpeg"},
    MediaType.PNG: {"image/png"},
    MediaType.WEBP: {"image/webp"},
    MediaType.PDF: {"application/pdf", "application/x-pdf"},
    MediaType.TIFF: {"image/tiff", "image/tif"},
}


def contradicts(declared: str | None, actual: MediaType) -> bool:
    """Whether the type a client declared is another than the bytes are."""
    kind = (declared or "").split(";")[0].strip().lower()
    if kind in ("", "application/octet-stream"):
        return False
    return kind not in _ALIASES[actual]


def max_bytes() -> int:
    """The largest file accepted, as configured."""
    return settings.load().evidence_max_bytes


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    #: False: the same bytes were stored before, nothing was written.
    written: bool


class FileState(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    ALTERED = "altered"


class EvidenceStore(Protocol):
    """Files by the SHA-256 of their bytes."""

    def put(self, data: bytes) -> StoredFile: ...

    def get(self, sha256: str) -> bytes | None: ...

    def check(self, sha256: str) -> FileState: ...

    def describe(self) -> str: ...


def _state(sha256: str, data: bytes | None) -> FileState:
    if data is None:
        return FileState.MISSING
    return FileState.PRESENT if sha256_hex(data) == sha256 else FileState.ALTERED


class LocalEvidenceStore:
    """A folder: ``<root>/<first two hex digits>/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not SHA256_HEX.match(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 in hex")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> StoredFile:
        digest = sha256_hex(data)
        target = self.path(digest)
        if self.check(digest) is FileState.PRESENT:
            return StoredFile(digest, len(data), written=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)  # atomic: a reader sees no file or the whole file
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return StoredFile(digest, len(data), written=True)

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def check(self, sha256: str) -> FileState:
        return _state(sha256, self.get(sha256))

    def describe(self) -> str:
        return str(self.root)


class S3EvidenceStore:
    """An S3-compatible bucket: object ``<prefix><sha256>``. Objects are whole when
    written (S3's PUT is atomic), and a file already there is not sent again."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, sha256: str) -> str:
        if not SHA256_HEX.match(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 in hex")
        return f"{self.prefix}{sha256}"

    def put(self, data: bytes) -> StoredFile:
        digest = sha256_hex(data)
        if self.check(digest) is FileState.PRESENT:
            return StoredFile(digest, len(data), written=False)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(digest),
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
        return StoredFile(digest, len(data), written=True)

    def get(self, sha256: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except Exception as error:  # botocore's ClientError: NoSuchKey, 404
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def check(self, sha256: str) -> FileState:
        return _state(sha256, self.get(sha256))

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def default_dir() -> Path:
    return Path(settings.load().evidence_dir or data_dir() / "evidence").resolve()


def configured_store() -> EvidenceStore:
    """The store the environment configures: S3 when a bucket is named, else the folder."""
    current = settings.load()
    bucket = (current.evidence_s3_bucket or "").strip()
    if not bucket:
        return LocalEvidenceStore(default_dir())
    import boto3  # only where S3 is configured

    endpoint = (current.evidence_s3_endpoint or "").strip() or None
    client = boto3.client("s3", endpoint_url=endpoint)
    return S3EvidenceStore(client, bucket, current.evidence_s3_prefix)


@dataclass(frozen=True)
class FileProblem:
    """An attached file that is not as its attachment names it."""

    sha256: str
    state: FileState
    #: Where the log attaches it: "Shipment <id> incident <id>", …
    attached_to: str


def check_files(
    store: EvidenceStore,
    attached: Iterable[tuple[str, str]],
    *,
    progress: Progress | None = None,
    total: int | None = None,
) -> list[FileProblem]:
    """Each file of ``attached`` (its SHA-256, what it is attached to) that is missing or
    whose bytes hash to another name; each file is read once. ``progress`` is told each
    attachment checked, of ``total``."""
    seen: dict[str, FileState] = {}
    problems: list[FileProblem] = []
    for done, (sha256, where) in enumerate(attached, start=1):
        state = seen.get(sha256)
        if state is None:
            state = seen[sha256] = store.check(sha256)
        if state is not FileState.PRESENT:
            problems.append(FileProblem(sha256, state, where))
        if progress is not None:
            progress(EVIDENCE_STAGE, done, total)
    return problems


#: What ``check_files`` tells its ``progress`` it walks.
EVIDENCE_STAGE = "evidence"


#: The stored names of the events that attach a file.
ATTACHING_TOPICS = ("Shipment.EvidenceAttached", "Relationship.EvidenceAttached")


def attached_in_log(database: Database, mapper: Mapper[Any]) -> Iterator[tuple[str, str]]:
    """Every file the log attaches, in log order: its SHA-256 and where it is attached
    (``Shipment <id> incident <id> at position <n>``)."""
    with database.connect() as conn, conn.transaction():
        cursor = conn.cursor(name="fullchain_evidence")
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {EVENTS_TABLE} WHERE topic = ANY(%s) ORDER BY notification_id",
            (list(ATTACHING_TOPICS),),
        )
        for position, aggregate_id, version, topic, state in cursor:
            event: Any = mapper.to_domain_event(
                StoredEvent(aggregate_id, version, topic, bytes(state))
            )
            aggregate = topic.split(".")[0]
            yield (
                event.sha256,
                f"{aggregate} {aggregate_id} {event.target} {event.target_id} "
                f"at position {position}",
            )


@dataclass(frozen=True)
class EvidenceCheck:
    """What ``fullchain verify`` found of the attached files."""

    attachments: int
    problems: list[FileProblem]

    @property
    def intact(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = (
            f"evidence: intact, {self.attachments} attachments"
            if self.intact
            else f"evidence: {len(self.problems)} of {self.attachments} attachments not intact"
        )
        return [head] + [
            f"evidence {p.sha256}: {p.state.value} (attached to {p.attached_to})"
            for p in self.problems
        ]


def verify_evidence(
    database: Database,
    mapper: Mapper[Any],
    store: EvidenceStore,
    *,
    progress: Progress | None = None,
) -> EvidenceCheck:
    """Each file the log attaches, present in ``store`` and hashing to its name?
    ``progress`` is told each attachment checked, of all the log's."""
    attached = list(attached_in_log(database, mapper))
    if progress is not None:
        progress(EVIDENCE_STAGE, 0, len(attached))
    problems = check_files(store, attached, progress=progress, total=len(attached))
    return EvidenceCheck(len(attached), problems)
