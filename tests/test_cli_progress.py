"""The command line's long walks show their progress on standard error (when it is a
terminal, or with --progress; never with --quiet) and end with one verdict line, while
standard output stays what scripts read."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from application.audit_export import pack
from application.evidence import LocalEvidenceStore, verify_evidence
from application.proofs.checkpoints import log_origin, verifier_of
from application.proofs.note import Note, Signer, TreeHead, open_checkpoint, sign
from application.store.database import DATABASE_URL_VARIABLE, OWNER_DATABASE_URL_VARIABLE
from application.store.integrity import Checkpoint, signing_key
from domain.evidence import EvidenceTarget
from domain.relationship import RelationshipKind
from interface.progress import ProgressBars, showing_progress, wants_progress
from interface.runtime import Services
from tests.conftest import SessionDatabase
from tests.domain.test_shipment import CUSTOMER
from tests.test_integrity import write_history
from tests.test_responsibility import catch_up, register_parties, seed_case

#: A tqdm bar, "stage: 100%|█████| 12/12 [...]", or a counter, "stage: 7 entries [...]".
BAR = re.compile(
    r"(?P<stage>[^\r\n:]+): +"
    r"(?:\d+%\|[^|]*\| (?P<done>\d+)/(?P<total>\d+)|(?P<count>\d+) entries) \["
)


def finals(stderr: str) -> list[tuple[str, int, int | None]]:
    """Each bar's last drawing, in order: its stage, done and total (None: a counter)."""
    drawn: list[tuple[str, int, int | None]] = []
    for match in BAR.finditer(stderr):
        if match["count"] is not None:
            now: tuple[str, int, int | None] = (match["stage"], int(match["count"]), None)
        else:
            now = (match["stage"], int(match["done"]), int(match["total"]))
        if drawn and drawn[-1][0] == now[0] and drawn[-1][1] <= now[1]:
            drawn[-1] = now  # the same bar, drawn further
        else:
            drawn.append(now)
    return drawn


Run = Callable[..., subprocess.CompletedProcess[str]]
Report = tuple[str, int, int | None]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def options(**given: bool) -> argparse.Namespace:
    return argparse.Namespace(**{"progress": False, "quiet": False, **given})


def test_bars_are_drawn_one_a_stage_to_the_end_and_only_when_asked_for() -> None:
    stream = io.StringIO()
    with ProgressBars(stream, mininterval=0) as bars:
        bars("hash chain", 0, 10)
        bars("hash chain", 4, 10)
        bars("hash chain", 12, 10)  # the log grew while it was walked
        bars("tree", 3, None)
        bars("tree", 7, None)
    drawn = stream.getvalue()
    assert "4/10" in drawn  # drawn at every count: no throttle
    assert finals(drawn) == [("hash chain", 12, 12), ("tree", 7, None)]
    assert drawn.endswith("\n")  # the last bar was closed
    assert bars.bar is None

    assert not wants_progress(options(), io.StringIO())
    assert wants_progress(options(progress=True), io.StringIO())
    assert wants_progress(options(), Terminal())
    assert not wants_progress(options(quiet=True), Terminal())
    assert not wants_progress(options(quiet=True, progress=True), Terminal())
    with showing_progress(options(), io.StringIO()) as nothing:
        assert nothing is None
    shown = Terminal()
    with showing_progress(options(), shown) as progress:
        assert progress is not None
        progress("access log", 2, 2)
    assert finals(shown.getvalue()) == [("access log", 2, 2)]


@pytest.fixture
def fullchain(services: Services, session_database: SessionDatabase) -> Run:
    env = {
        **os.environ,
        DATABASE_URL_VARIABLE: services.database.conninfo,
        OWNER_DATABASE_URL_VARIABLE: session_database.owner.conninfo,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "interface.cli", *args], env=env, capture_output=True, text=True
        )

    return run


def test_verify_shows_each_walk_to_its_end_on_standard_error_when_asked(
    fullchain: Run, services: Services, tmp_path: Path
) -> None:
    write_history(services, 2)
    kept = tmp_path / "checkpoint.json"
    kept.write_text(fullchain("checkpoint").stdout)
    signed_at = json.loads(kept.read_text())["position"]
    note = tmp_path / "tree.note"
    note.write_text(fullchain("checkpoint", "--tree").stdout)
    head = write_history(services, 1)  # the tree is behind the log: verify extends it
    ask = ("verify", "--checkpoint", str(kept), "--since", str(note))

    shown = fullchain(*ask, "--progress")
    assert shown.returncode == 0, shown.stderr
    assert finals(shown.stderr) == [
        ("hash chain", head, head),
        ("access log", 0, None),
        ("evidence", 0, None),
        ("hash chain", signed_at, signed_at),
        ("tree", head, head),
    ]
    assert shown.stdout.splitlines()[-1] == "verdict: the log is intact"

    plain = fullchain(*ask)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == ""  # not a terminal: no progress
    assert plain.stdout == shown.stdout
    quiet = fullchain(*ask, "--quiet")
    assert (quiet.stdout, quiet.stderr) == (plain.stdout, "")


def test_checkpoint_prints_what_it_did_and_ends_with_its_verdict_on_standard_error(
    fullchain: Run, services: Services
) -> None:
    head = write_history(services, 2)
    for extra in ((), ("--progress",)):
        signed = fullchain("checkpoint", *extra)
        assert signed.returncode == 0, signed.stderr
        # Standard output: the checkpoint's JSON exactly as before.
        checkpoint = Checkpoint(**json.loads(signed.stdout))
        assert checkpoint.position == head
        assert signed.stdout == json.dumps(checkpoint.as_dict(), indent=2) + "\n"
        assert signed.stderr == f"verdict: checkpoint signed at position {head}\n"

    key, origin = signing_key(services.database), log_origin()
    tree = fullchain("checkpoint", "--tree", "--progress")
    assert tree.returncode == 0, tree.stderr
    assert finals(tree.stderr) == [("tree", head, head)]
    assert tree.stderr.splitlines()[-1] == f"verdict: checkpoint signed at size {head}"
    signed_head = open_checkpoint(tree.stdout, verifier_of(key, origin))
    assert signed_head.size == head
    # Standard output: the signed note alone, byte for byte (Ed25519 signs alike).
    assert tree.stdout == sign(signed_head.text(), Signer(origin, key))

    later = write_history(services, 1)
    quiet = fullchain("checkpoint", "--tree")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == f"verdict: checkpoint signed at size {later}\n"
    assert TreeHead.parse(Note.parse(quiet.stdout).text).size == later


def test_an_audit_package_export_shows_its_walks_and_names_what_it_wrote(
    fullchain: Run, services: Services, tmp_path: Path
) -> None:
    app = services.app
    customer = app.relationships.register_relationship(
        app.context("li.wei"),
        name="苏州华芯电子",
        kind=RelationshipKind.PROSPECT,
        industry="electronics",
        region="East China",
        branch="Suzhou",
    ).aggregate_id
    app.relationships.qualify_as_target(app.context("li.wei"), customer, reason="volume")
    head = write_history(services, 2)

    out = tmp_path / "package.zip"
    shown = fullchain("export", str(customer), "--out", str(out), "--progress")
    assert shown.returncode == 0, shown.stderr
    assert finals(shown.stderr) == [
        ("tree", head, head),
        ("hash chain", head, head),
        ("customer's entries", 2, 2),
    ]
    size = out.stat().st_size
    assert shown.stderr.splitlines()[-1] == f"verdict: exported 2 entries to {out} ({size} bytes)"
    assert shown.stdout == ""

    plain = fullchain("export", str(customer), "--out", str(out))
    assert plain.returncode == 0, plain.stderr
    size = out.stat().st_size
    assert plain.stderr == f"verdict: exported 2 entries to {out} ({size} bytes)\n"

    piped = subprocess.run(
        [sys.executable, "-m", "interface.cli", "export", str(customer), "--output", "-"],
        env={**os.environ, DATABASE_URL_VARIABLE: services.database.conninfo},
        capture_output=True,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith(b"PK")  # the zip alone
    assert piped.stderr.decode() == (
        f"verdict: exported 2 entries as {len(piped.stdout)} bytes to standard output\n"
    )


def test_a_rebuild_shows_the_read_model_reaching_the_head_of_the_log(
    fullchain: Run, services: Services
) -> None:
    head = write_history(services, 2)
    shown = fullchain("rebuild", "account_status", "--progress")
    assert shown.returncode == 0, shown.stderr
    assert finals(shown.stderr) == [("account_status", head, head)]
    assert shown.stderr.splitlines()[-1] == "verdict: rebuilt account_status from the log"
    assert shown.stdout == (
        f"account_status: rebuilt from {head} log entries and swapped in at position {head} "
        "(the replaced tables were at 0)\n"
    )
    plain = fullchain("rebuild", "account_status")
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == "verdict: rebuilt account_status from the log\n"
    assert plain.stdout == shown.stdout.replace("were at 0", f"were at {head}")


def test_the_walks_tell_their_progress_to_the_end_and_print_nothing(
    services: Services, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    services.app.evidence = store
    register_parties(services)
    shipment, incident, claim = seed_case(services)
    photo, survey = b"\x89PNG\r\n\x1a\n crushed cartons", b"%PDF-1.4\n survey\n%%EOF\n"
    for target, target_id, data in (
        (EvidenceTarget.INCIDENT, incident, photo),
        (EvidenceTarget.CLAIM, claim, survey),
        (EvidenceTarget.CLAIM, claim, photo),
    ):
        stored = store.put(data)
        services.app.shipments.attach_evidence(
            services.app.context("zhou.min"),
            shipment.id,
            target=target,
            target_id=str(target_id),
            sha256=stored.sha256,
            size=stored.size,
            media_type="image/png" if data is photo else "application/pdf",
            file_name="cartons.png" if data is photo else "survey.pdf",
        )
    catch_up(services)
    with services.database.connect() as conn:
        row = conn.execute("SELECT max(notification_id), count(*) FROM fullchain_events").fetchone()
    assert row is not None
    head, size = int(row[0]), int(row[1])
    told: list[Report] = []

    def progress(stage: str, done: int, total: int | None) -> None:
        told.append((stage, done, total))

    def last_of_each(reports: list[Report]) -> list[Report]:
        ends: list[Report] = []
        for report in reports:
            if ends and ends[-1][0] == report[0]:
                assert report[1] >= ends[-1][1], reports  # never backwards
                ends[-1] = report
            else:
                ends.append(report)
        return ends

    package = pack(
        services.database,
        services.app.mapper,
        services.signing_key(),
        CUSTOMER,
        name="customer",
        now=services.app.clock(),
        key_in_database=True,
        evidence=store,
        progress=progress,
    )
    assert package.size == size
    assert last_of_each(told) == [
        ("tree", size, size),
        ("hash chain", head, head),
        ("customer's entries", package.entries, package.entries),
        ("evidence files", 2, 2),
    ]
    told.clear()
    assert verify_evidence(services.database, services.app.mapper, store, progress=progress).intact
    assert last_of_each(told) == [("evidence", 3, 3)]
    assert capfd.readouterr() == ("", "")  # the walks never print
