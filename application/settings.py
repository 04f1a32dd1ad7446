"""The service's configuration: one typed object read from the environment.

Every variable the service reads is a field of ``Settings`` (its environment name is
``FULLCHAIN_`` and the field's name in capitals); ``load()`` reads and validates them
all, and a value that cannot work stops the start with a message naming the variable
(``SettingsError``). ``docs/configuration.md`` is generated from this object
(``fullchain config --markdown``) and a test keeps the two equal.

An empty variable counts as unset. Settings with rules of their own beyond a type (the
SLA policy, the signing key, the witnesses' keys) are declared here so they are
documented in one place, and validated by their modules at start
(``interface.runtime.check_configuration``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic.config import JsonDict
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "FULLCHAIN_"


class SettingsError(ValueError):
    """A setting that cannot work; the message names the variable."""


def _field(default: Any, description: str, *, expect: str = "", **rules: Any) -> Any:
    extra: JsonDict | None = {"expect": expect} if expect else None
    return Field(default, description=description, json_schema_extra=extra, **rules)


WHOLE = "a positive whole number"
SECONDS = "a positive number of seconds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        extra="ignore",
        env_ignore_empty=True,
        case_sensitive=False,
        frozen=True,
    )

    # --- the database -------------------------------------------------------------------
    database_url: str | None = _field(
        None,
        "libpq URL of the service's runtime role (e.g. "
        "`postgresql://app@host:5432/db?sslmode=verify-full`); unset: an embedded "
        "PostgreSQL server in the data folder.",
    )
    owner_database_url: str | None = _field(
        None,
        "libpq URL of the schema's owner, used by `fullchain db init` (and `serve`); "
        "unset: the runtime URL serves as both.",
    )
    read_database_url: str | None = _field(
        None,
        "libpq URL of a streaming replica the read models are queried on (tokens, "
        "idempotency and commands stay on the primary); unset: reads go to the primary.",
    )
    data_dir: Path = _field(
        Path(".data"), "Folder of the embedded server, evidence files and local state."
    )
    pool_size: int = _field(4, "Most connections of the write side's pool.", expect=WHOLE, ge=1)
    read_pool_size: int = _field(
        16,
        "Most connections of the read pool: as many as the reads a process serves at once, "
        "or they queue for one.",
        expect=WHOLE,
        ge=1,
    )
    pool_timeout: float = _field(
        5.0,
        "Seconds a caller waits for a free pooled connection before the request is answered 503.",
        expect=SECONDS,
        gt=0,
        allow_inf_nan=False,
    )
    max_waiting_reads: int = _field(
        64, "Reads of one process that may wait for `min_position` at once.", expect=WHOLE, ge=1
    )

    # --- operations ---------------------------------------------------------------------
    ready_timeout: float = _field(
        2.0,
        "Seconds `/ready` waits for the database before it answers 503.",
        expect=SECONDS,
        gt=0,
        allow_inf_nan=False,
    )
    ready_max_lag: int = _field(
        1000,
        "Most log entries a read model may be behind the log's head while `/ready` answers 200.",
        expect="a whole number ≥ 0",
        ge=0,
    )
    metrics_token: str | None = _field(
        None,
        "Bearer token `/metrics` requires; unset: `/metrics` is open (serve it on a "
        "network only the scraper reaches).",
    )
    log_format: Literal["auto", "json", "text"] = _field(
        "auto",
        "`json` (one object a line), `text`, or `auto`: text when stderr is a terminal, "
        "JSON otherwise.",
        expect="one of auto, json, text",
    )

    pg_bin: Path | None = _field(
        None,
        "Folder of the `pg_dump` and `pg_restore` that `fullchain backup` and `restore` "
        "use; unset: those of the server's major version, found by themselves.",
    )

    # --- access -------------------------------------------------------------------------
    admin_token: str | None = _field(
        None, "A bootstrap administrator's bearer token (enrols the first staff members)."
    )

    # --- the log's proofs ---------------------------------------------------------------
    signing_key: str | None = _field(None, "The Ed25519 private key (PEM) that signs checkpoints.")
    signing_key_file: Path | None = _field(None, "A file holding that key (PEM).")

    # --- personal data ------------------------------------------------------------------
    master_key: str | None = _field(
        None,
        "The master key (base64 of 32 random bytes) that wraps the data subjects' keys of "
        "personal data; unset: a key kept in the database (the embedded demo only).",
    )
    master_key_file: Path | None = _field(None, "A file holding that key (base64).")
    log_origin: str = _field(
        "fullchain-crm.local/log", "The origin line of the log's signed checkpoints."
    )
    retired_verifier_keys: str = _field(
        "", "Public keys of retired signing keys, still accepted (space or comma separated)."
    )
    witness_keys: str = _field(
        "",
        "Verifier keys of the witnesses whose cosignatures (c2sp.org/tlog-cosignature v1) "
        "are trusted: `<name>+<key id>+<base64(0x04 ‖ key)>` as `fullchain witness` prints "
        "it, or the same key written with type 0x01 (separated as above).",
    )

    # --- evidence files -----------------------------------------------------------------
    evidence_dir: Path | None = _field(
        None, "Folder of the local evidence store; unset: `<data dir>/evidence`."
    )
    evidence_max_bytes: int = _field(
        20 * 1024 * 1024, "Largest evidence file accepted, in bytes.", expect=WHOLE, ge=1
    )
    evidence_s3_bucket: str | None = _field(
        None, "Keep evidence in this S3-compatible bucket instead of the local folder."
    )
    evidence_s3_endpoint: str | None = _field(None, "The S3 endpoint URL (unset: AWS's).")
    evidence_s3_prefix: str = _field("", "Key prefix of evidence objects in the bucket.")

    # --- business rules -----------------------------------------------------------------
    sla_policy: str | None = _field(
        None, "The service cases' SLA policy (JSON; unset: the built-in policy)."
    )
    time_zone: str = _field(
        "Asia/Shanghai", "IANA time zone of business days (follow-ups' due days)."
    )
    responsibility_answer_days: float | None = _field(
        None,
        "Days a party has to answer a proposed responsibility (unset: 7).",
        expect="a positive number of days",
        gt=0,
        allow_inf_nan=False,
    )
    unassigned_incident_hours: float = _field(
        48.0,
        "Hours after which an unassigned shipment incident is listed as overdue.",
        expect="a positive number",
        gt=0,
        allow_inf_nan=False,
    )
    retention_notes_months: int = _field(
        36,
        "Months visit and call notes are kept after the relationship ended (marked lost).",
        expect=WHOLE,
        ge=1,
    )
    retention_contacts_months: int = _field(
        36,
        "Months a contact's name, title, phone and email are kept after the relationship "
        "ended or the contact was removed.",
        expect=WHOLE,
        ge=1,
    )
    retention_signatures_months: int = _field(
        24,
        "Months handover signers' names are kept after the shipment's claims are time-barred.",
        expect=WHOLE,
        ge=1,
    )
    retention_interval: float = _field(
        86400.0,
        "Seconds between two scheduled retention runs in the process that runs the projection "
        "workers (erasing the personal data whose retention period ended); 0: none.",
        expect="a number of seconds ≥ 0",
        ge=0,
        allow_inf_nan=False,
    )
    snapshot_interval: int = _field(
        100, "Versions between two snapshots of an aggregate.", expect=WHOLE, ge=1
    )


def variable(field_name: str) -> str:
    """The environment variable of a field."""
    return PREFIX + field_name.upper()


def _message(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "?"
        info = Settings.model_fields.get(name)
        extra = info.json_schema_extra if info is not None else None
        expect = extra.get("expect") if isinstance(extra, dict) else None
        reason = f"is not {expect}" if expect else f"is invalid ({item['msg']})"
        problems.append(f"{variable(name)}={item['input']!r} {reason}")
    return "; ".join(problems)


#: Settings already read, by the ``FULLCHAIN_*`` variables they were read from: reading
#: the environment through pydantic-settings takes milliseconds, a look-up microseconds.
_read: dict[tuple[tuple[str, str], ...], Settings] = {}


def load() -> Settings:
    """The settings as the environment gives them now (read again when a ``FULLCHAIN_*``
    variable changes); SettingsError names each variable whose value cannot work."""
    key = tuple(
        sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith(PREFIX))
    )
    found = _read.get(key)
    if found is None:
        try:
            found = Settings()
        except ValidationError as error:
            raise SettingsError(_message(error)) from None
        if len(_read) >= 64:
            _read.clear()
        _read[key] = found
    return found


def markdown() -> str:
    """docs/configuration.md: every variable, its default and what it does."""
    lines = [
        "# Configuration",
        "",
        "Generated from `application/settings.py` (`fullchain config --markdown`); a test keeps",
        "this file equal to it. Every setting is an environment variable; an empty one counts",
        "as unset. A value that cannot work stops the start with a message naming it.",
        "",
        "| Variable | Default | Meaning |",
        "| --- | --- | --- |",
    ]
    for name, info in Settings.model_fields.items():
        default = info.default
        shown = "unset" if default is None or default == "" else f"`{default}`"
        description = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{variable(name)}` | {shown} | {description} |")
    return "\n".join(lines) + "\n"
