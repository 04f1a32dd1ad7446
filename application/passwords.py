"""Passwords of the console's sign-in, kept as a memory-hard hash only.

scrypt (``hashlib.scrypt``, in Python's standard library through OpenSSL) is memory-hard
like argon2id and needs no dependency of its own: N = 2^15, r = 8, p = 1 take 32 MiB and
some 80 ms a hash, each with a random 16-byte salt. The hash names its parameters
(``scrypt$N$r$p$salt$key``, base64), so they may be raised later while the hashes kept
still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**15, 8, 1
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024

_MAXMEM = 64 * 1024 * 1024


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_BYTES
    )


def hash_password(password: str) -> str:
    """The hash to keep of ``password``: salted, with its parameters."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, N, R, P)
    encoded = [base64.b64encode(part).decode("ascii") for part in (salt, key)]
    return f"scrypt${N}${R}${P}${encoded[0]}${encoded[1]}"


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made of. With no hash (an
    unknown staff member, or one without a password), the same work is done and the answer
    is no, so neither is told apart by the time the answer takes."""
    stored = password_hash or _DECOY
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt" or int(n) > 2**20 or int(r) > 16 or int(p) > 4:
            return False
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        same = hmac.compare_digest(computed, base64.b64decode(key))
    except (ValueError, TypeError):
        return False
    return same and password_hash is not None


def acceptable(password: str) -> str | None:
    """Why ``password`` may not be set (None if it may)."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    if "\x00" in password:
        return "a password must not contain the NUL character"
    return None


#: Verified against when there is nothing to verify against: the same work, no match.
_DECOY = hash_password(secrets.token_urlsafe(16))
