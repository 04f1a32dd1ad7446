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
from typing import Any
from uuid import UUID

PREFIX = "sealed:1:"
ERASED = "[erased]"
_NONCE = 12


def key_id_of(value: str) -> UUID:
    return UUID(bytes=base64.urlsafe_b64decode(value[len(PREFIX) :] + "==")[:16])


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
        elif isinstance(item, str) and item.startswith(PREFIX):
            found.add(key_id_of(item))
    return found


def open_sealed(
    value: Any, keys: dict[UUID, bytes], aggregate_id: UUID, path: str, problems: list[str]
) -> Any:
    """``value`` with each sealed field opened with its key, or ``[erased]`` where the key
    is not given; a field its key does not open is named in ``problems``."""
    if isinstance(value, dict):
        return {
            k: open_sealed(v, keys, aggregate_id, f"{path}.{k}" if path else k, problems)
            if isinstance(v, dict) or (isinstance(v, str) and v.startswith(PREFIX))
            else v  # nothing sealed in it
            for k, v in value.items()
        }
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return value
    raw = base64.urlsafe_b64decode(value[len(PREFIX) :] + "==")
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
