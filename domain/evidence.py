"""Evidence attached to a record: a file named by the SHA-256 of its bytes.

The event that attaches it records what it is attached to, the hash, the size, the media
type and the file's name as the client gave it, and (as every event) who attached it and
when: the log's hash chain then covers the evidence itself. The bytes are kept outside the
log, in the evidence store (``application/evidence.py``), under that hash.

Attaching the same file to the same record again is recorded again (who attached it once
more, and when) and changes nothing else: reads list a file once per record.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from domain.base import require
from domain.values import required_text

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: The media types evidence may have (what ``application.evidence.sniff`` recognises).
MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", "image/tiff"})


class EvidenceTarget(StrEnum):
    """What a file is attached to: a shipment's incident, claim or handover (numbered by
    the link it passed custody to, one past the last link for the delivery to the
    consignee), or a relationship's interaction."""

    INCIDENT = "incident"
    CLAIM = "claim"
    HANDOVER = "handover"
    INTERACTION = "interaction"


def evidence_fields(*, sha256: str, size: int, media_type: str, file_name: str) -> dict[str, Any]:
    """The file's fields as an event records them, or InvalidValue (422) naming the field."""
    require(
        bool(_SHA256.match(sha256)),
        "evidence.sha256",
        "sha256 must be 64 hex digits",
        field="sha256",
    )
    require(size > 0, "evidence.empty", "the file is empty", field="file")
    require(
        media_type in MEDIA_TYPES,
        "evidence.media_type",
        f"{media_type!r} is not a type evidence may have",
        field="media_type",
    )
    name = required_text(file_name.replace("\x00", ""), "file_name", max_length=255)
    return {"sha256": sha256, "size": size, "media_type": media_type, "file_name": name}
