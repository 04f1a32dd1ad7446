"""A customer's audit package: everything an auditor needs to re-check offline.

A zip archive with:

* ``history.jsonl`` — every event of the relationship and of what belongs to it, in log
  order, one JSON object per line: the readable entry (as ``GET …/history`` gives it) and
  the stored entry exactly as chained (``stored``: topic, state in base64, recording time
  in microseconds, ``prev_hash`` and ``chain_hash``);
* ``checkpoint.json`` — the head of the whole log, signed by the service (Ed25519);
* ``verification.json`` — the service's verification of the whole log when packed;
* ``public_key.pem`` — the key that signs checkpoints;
* ``verify_package.py`` and ``README.md`` — the procedure, runnable with Python and the
  ``cryptography`` package only.

Offline, an auditor checks that (1) each entry's chain hash is the SHA-256 of its
``prev_hash`` and its stored content (nothing in it was changed), (2) positions increase,
(3) the checkpoint's signature holds under the published key. Online, presenting the
checkpoint to ``POST /v1/audit/verify`` later proves the log still extends it, and with it
every entry of the package (their chain hashes lie under the signed head).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper
from psycopg.rows import dict_row

from application.database import Database
from application.integrity import public_key_pem, sign_head, verify
from application.jsonable import jsonable
from application.schema import EVENTS_TABLE
from projections.history import history_entry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

VERIFY_SCRIPT = '''"""Re-check a Fullchain audit package offline: python verify_package.py DIR"""

import base64
import hashlib
import json
import struct
import sys
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_public_key


def chain_hash(prev, position, aggregate_id, version, topic, state, micros):
    def prefixed(data):
        return struct.pack(">i", len(data)) + data

    return hashlib.sha256(
        prev
        + struct.pack(">q", position)
        + uuid.UUID(aggregate_id).bytes
        + struct.pack(">q", version)
        + prefixed(topic.encode())
        + prefixed(state)
        + struct.pack(">q", micros)
    ).digest()


def main(folder):
    folder = Path(folder)
    problems = 0
    last = 0
    count = 0
    for line in (folder / "history.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        stored = entry["stored"]
        recomputed = chain_hash(
            bytes.fromhex(stored["prev_hash"]),
            entry["position"],
            entry["aggregate_id"],
            entry["version"],
            stored["topic"],
            base64.b64decode(stored["state"]),
            stored["recorded_at_micros"],
        )
        if recomputed.hex() != stored["chain_hash"]:
            print(f"position {entry['position']}: content does not match its chain hash")
            problems += 1
        if entry["position"] <= last:
            print(f"position {entry['position']}: out of log order")
            problems += 1
        last = entry["position"]
        count += 1
    checkpoint = json.loads((folder / "checkpoint.json").read_text(encoding="utf-8"))
    payload = json.dumps(
        {k: checkpoint[k] for k in ("position", "chain_hash", "signed_at", "key_id")},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    key = load_pem_public_key((folder / "public_key.pem").read_bytes())
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), payload)
    except Exception:
        print("the checkpoint's signature does not hold")
        problems += 1
    if last > checkpoint["position"]:
        print("entries lie beyond the signed head")
        problems += 1
    if problems:
        print(f"{problems} problem(s) found")
        return 1
    print(f"{count} entries intact; checkpoint at position {checkpoint['position']} signed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
'''

README = """# Audit package of {name} ({relationship_id})

Packed {packed_at} by the Fullchain CRM service. {entries} history entries.

Re-check offline (Python 3 with the `cryptography` package):

    unzip audit-package.zip -d package && python package/verify_package.py package

It checks that every entry's chain hash is the SHA-256 of the previous entry's chain hash
and the entry's stored content (position, aggregate id, version, topic, stored state,
recording time), that entries are in log order, and that the checkpoint is signed by the
key in `public_key.pem` (compare it with `GET /v1/audit/public-key`).

Later, online: `POST /v1/audit/verify` with `checkpoint.json` as `checkpoint` confirms the
log still extends this checkpoint, so none of these entries has been rewritten since.

`verification.json` is the service's own verification of the whole log when packing.
"""


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def package_entries(
    database: Database, mapper: Mapper[Any], relationship_id: UUID, *, batch: int = 2000
) -> Iterator[dict[str, Any]]:
    """The relationship's history with each entry's stored, chained form."""
    position = 0
    with database.connect() as conn:
        cursor = conn.cursor(row_factory=dict_row)
        while True:
            rows = cursor.execute(
                "SELECT h.position, h.aggregate_id, h.aggregate_type, h.version, h.recorded_at, "
                "e.topic, e.state, e.prev_hash, e.chain_hash FROM history_index h "
                f"JOIN {EVENTS_TABLE} e ON e.notification_id = h.position "
                "WHERE h.relationship_id = %s AND h.position > %s "
                "ORDER BY h.position LIMIT %s",
                (relationship_id, position, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                entry = jsonable(history_entry(mapper, row))
                entry["stored"] = {
                    "topic": row["topic"],
                    "state": base64.b64encode(bytes(row["state"])).decode(),
                    "recorded_at_micros": _micros(row["recorded_at"]),
                    "prev_hash": bytes(row["prev_hash"]).hex(),
                    "chain_hash": bytes(row["chain_hash"]).hex(),
                }
                yield entry
            position = int(rows[-1]["position"])


def build(
    database: Database,
    mapper: Mapper[Any],
    key: Any,
    relationship_id: UUID,
    *,
    name: str,
) -> bytes:
    """The audit package as a zip archive."""
    checkpoint = sign_head(database, key)
    verification = verify(database)
    buffer = io.BytesIO()
    entries = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("history.jsonl", "w") as history:
            for entry in package_entries(database, mapper, relationship_id):
                if entry["position"] > checkpoint.position:
                    break  # appended after the head was signed: the next package has it
                history.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
                entries += 1
        archive.writestr("checkpoint.json", json.dumps(checkpoint.as_dict(), indent=2))
        archive.writestr(
            "verification.json",
            json.dumps(
                {
                    "intact": verification.intact,
                    "summary": verification.summary(),
                    "intact_up_to": verification.intact_up_to,
                    "head_hash": verification.head_hash,
                    "broken_at": verification.broken_at,
                    "reason": verification.reason,
                },
                indent=2,
            ),
        )
        archive.writestr("public_key.pem", public_key_pem(key))
        archive.writestr("verify_package.py", VERIFY_SCRIPT)
        archive.writestr(
            "README.md",
            README.format(
                name=name,
                relationship_id=relationship_id,
                packed_at=datetime.now(UTC).isoformat(),
                entries=entries,
            ),
        )
    return buffer.getvalue()
