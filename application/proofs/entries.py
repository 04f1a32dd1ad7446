"""A log entry as its Merkle leaf hashes it, and the stored state as plain values.

This module needs nothing but the standard library: the offline audit package carries it
verbatim.

The leaf of an entry is ``SHA-256(0x00 ‖ entry)`` with the entry's bytes::

    position (int8) ‖ aggregate id (16 bytes) ‖ version (int8) ‖ len(topic) (int4) ‖
    topic (UTF-8) ‖ len(state) (int4) ‖ state ‖ recorded_at (int8, µs since 1970 UTC)

(all integers big-endian): the bytes the hash chain covers, without the previous hash.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

#: orjson's reader where it is installed (much faster than the standard library's).
_fast: Callable[[bytes | str], Any] | None
try:
    import orjson

    _fast = orjson.loads
except ImportError:  # pragma: no cover - where only the standard library is
    _fast = None

#: A run of digits as long as the shortest integer beyond 64 bits (-9223372036854775809):
#: orjson reads such an integer as a float, the standard library exactly.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")


def loads(text: bytes | str) -> Any:
    """JSON read as the standard library reads it: by orjson where it is installed and
    gives the same values, else by the standard library. orjson does not for a text with a
    run of 19 digits (an integer beyond 64 bits, which it makes a float), and refuses what
    the standard library reads (a number beyond a float's range, read as infinity; a lone
    surrogate): those the standard library reads, as it raises for what is not JSON."""
    if _fast is not None:
        if isinstance(text, str):
            long = _LONG_DIGITS.search(text) is not None
        else:
            long = _LONG_DIGITS_BYTES.search(text) is not None
        if not long:
            try:
                return _fast(text)
            except ValueError:  # orjson.JSONDecodeError
                pass
    return json.loads(text)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: What every stored event carries besides its business facts.
METADATA = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "command_id",
        "correlation_id",
        "causation_id",
        "occurred_at",
        "class_version",
    }
)


def micros_of(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def entry_bytes(
    *,
    position: int,
    aggregate_id: UUID,
    version: int,
    topic: str,
    state: bytes,
    recorded_at: datetime | int,
) -> bytes:
    """The bytes of a log entry that its leaf hashes (``recorded_at`` as a time or in µs
    since 1970)."""
    micros = recorded_at if isinstance(recorded_at, int) else micros_of(recorded_at)
    encoded = topic.encode()
    return (
        struct.pack(">q", position)
        + aggregate_id.bytes
        + struct.pack(">q", version)
        + struct.pack(">i", len(encoded))
        + encoded
        + struct.pack(">i", len(state))
        + state
        + struct.pack(">q", micros)
    )


def plain(value: Any) -> Any:
    """A stored state's value without the transcoder's type tags
    (``{"_type_": …, "_data_": …}``)."""
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return plain(value["_data_"])
        return {k: v if type(v) in _SCALARS else plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else plain(v) for v in value]
    return value


#: What JSON decodes to that holds no other value.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def stored_state(state: bytes) -> dict[str, Any]:
    """A stored event's whole state, metadata included, without the type tags."""
    decoded = plain(loads(state))
    if not isinstance(decoded, dict):
        raise ValueError("a stored state is a JSON object")
    return decoded


def stored_facts(state: bytes) -> dict[str, Any]:
    """The business facts of a stored event: its state without the metadata."""
    return {k: v for k, v in stored_state(state).items() if k not in METADATA}


def same(stored: Any, shown: Any) -> bool:
    """Whether a value shown in a readable entry is the stored one, read the way each
    type is written (a UUID with or without dashes, 40000 or 40000.00, times in any
    offset)."""
    if stored == shown:  # equal values are the same, whatever they hold
        return True
    if isinstance(stored, dict) and isinstance(shown, dict):
        return all(k in shown and same(v, shown[k]) for k, v in stored.items())
    if isinstance(stored, list) and isinstance(shown, list):
        return len(stored) == len(shown) and all(map(same, stored, shown))
    if isinstance(stored, str) and isinstance(shown, str):
        for read in (UUID, Decimal, datetime.fromisoformat):
            try:
                if read(stored) == read(shown):  # type: ignore[operator]
                    return True
            except (ValueError, InvalidOperation, TypeError):
                continue
    if isinstance(stored, int | float) and isinstance(shown, str | int | float):
        try:
            return Decimal(str(stored)) == Decimal(str(shown))
        except InvalidOperation:
            return False
    return False
