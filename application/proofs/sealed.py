"""Personal fields sealed in stored entries, opened offline with the keys a package carries.

A personal field is stored as ``sealed:1:<base64url(key id ‖ nonce ‖ AES-256-GCM
ciphertext)>``, its associated data ``<aggregate id>/<field path>``
(``application.personal_data``). The audit package carries the data keys of the fields it
shows in clear (``personal_keys.json``), so the auditor checks that each shown value is
the one sealed in the stored entry; a field whose key was destroyed (its person erased)
is shown as ``[erased]`` and its key is not there. Needs ``cryptography`` (as the
checkpoint's signature does); the offline audit package carries this module verbatim.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from uuid import UUID

PREFIX = "sealed:1:"
ERASED = "[erased]"
_NONCE = 12


#: The least a sealed value holds: key id, nonce and the cipher's tag (an empty text).
_LEAST = 16 + _NONCE + 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def raw_of(value: object) -> bytes | None:
    """Key id ‖ nonce ‖ ciphertext of a sealed value; None for any other value, a text
    that merely begins like one included (``sealed:1:`` then anything but the unpadded
    base64url of at least a key id, a nonce and a tag)."""
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return None
    body = value[len(PREFIX) :]
    if len(body) % 4 == 1 or not _BASE64URL.fullmatch(body):
        return None
    raw = base64.urlsafe_b64decode(body + "==")
    return raw if len(raw) >= _LEAST else None


def key_id_of(value: str) -> UUID | None:
    """The key a sealed value is sealed under (None: not a sealed value)."""
    raw = raw_of(value)
    return None if raw is None else UUID(bytes=raw[:16])


def key_ids(value: Any) -> set[UUID]:
    """The keys of the sealed fields anywhere in a stored state (decoded JSON)."""
    found: set[UUID] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif (key_id := key_id_of(item)) is not None:
            found.add(key_id)
    return found


def open_sealed(
    value: Any,
    keys: dict[UUID, bytes],
    aggregate_id: UUID,
    path: str,
    problems: list[str],
    shown: Any = None,
) -> Any:
    """``value`` with each sealed field opened with its key, or ``[erased]`` where the key
    is not given; a field its key does not open is named in ``problems``. ``shown``: what
    the package shows for ``value``. A sealed-looking text shown verbatim is taken as
    shown: it is what is stored (a text typed to look sealed, in a field that is not
    personal, is shown so), and it shows nothing it should not."""
    if isinstance(value, dict):
        seen = shown if isinstance(shown, dict) else {}
        return {
            k: open_sealed(
                v, keys, aggregate_id, f"{path}.{k}" if path else k, problems, seen.get(k)
            )
            if isinstance(v, dict) or (isinstance(v, str) and v.startswith(PREFIX))
            else v  # nothing sealed in it
            for k, v in value.items()
        }
    raw = raw_of(value)
    if raw is None or shown == value:  # not sealed, or shown as stored
        return value
    key = keys.get(UUID(bytes=raw[:16]))
    if key is None:
        return ERASED
    from cryptography.exceptions import InvalidTag

    try:
        opened = _cipher(key).decrypt(
            raw[16 : 16 + _NONCE], raw[16 + _NONCE :], f"{aggregate_id}/{path}".encode()
        )
    except InvalidTag:
        problems.append(f"{path} does not open with its key")
        return value
    return opened.decode()


#: The cipher of each data key used, made once.
_CIPHERS: dict[bytes, Any] = {}


def _cipher(key: bytes) -> Any:
    cipher = _CIPHERS.get(key)
    if cipher is None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        cipher = _CIPHERS[key] = AESGCM(key)
    return cipher
