"""The evidence of the demo's incidents and claims: a photo of the damage on each incident
and a survey report on each claim, small files made here, deterministically, from the
shipment's own data (the same demo, the same bytes, the same hashes).

Each file is put in the evidence store when its step is issued, then attached by the
command of that step, as an upload would be."""

from __future__ import annotations

import struct
import zlib
from hashlib import sha256
from uuid import UUID

from application.commands import CommandResult
from application.evidence import sniff
from application.service import Fullchain
from domain.base import CommandContext
from domain.evidence import EvidenceTarget


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def photo(seed: str, *, size: int = 16) -> bytes:
    """A small RGB PNG, its pattern drawn from ``seed``: a stand-in for a damage photo."""
    colours = sha256(seed.encode()).digest()
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # no filter
        for x in range(size):
            i = (x // 4 + y // 4) % 10 * 3
            rows += colours[i : i + 3]
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def report(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with ``title`` and ``lines`` (ASCII): a stand-in for a survey report."""

    def text(value: str) -> str:
        safe = value.encode("ascii", "replace").decode()
        return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    body = ["BT /F1 14 Tf 50 780 Td (" + text(title) + ") Tj ET"]
    for n, line in enumerate(lines):
        body.append(f"BT /F1 10 Tf 50 {750 - 16 * n} Td (" + text(line) + ") Tj ET")
    stream = "\n".join(body).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, content in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + content + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def attach(
    ctx: CommandContext,
    *,
    sid: UUID,
    app: Fullchain,
    target: EvidenceTarget,
    target_id: UUID,
    data: bytes,
    file_name: str,
) -> CommandResult:
    """Store the file and attach it, as an upload does."""
    kind = sniff(data)
    assert kind is not None
    stored = app.evidence.put(data)
    return app.shipments.attach_evidence(
        ctx,
        sid,
        target=target,
        target_id=str(target_id),
        sha256=stored.sha256,
        size=stored.size,
        media_type=kind.value,
        file_name=file_name,
    )
