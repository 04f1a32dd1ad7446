"""``fullchain``: the operators' command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any
from uuid import UUID

from application import console_sessions, settings
from application.commands import AlreadyExists, NotFound
from application.store.database import (
    OWNER_DATABASE_URL_VARIABLE,
    Database,
    check_database_settings,
    configured_database,
)
from application.store.schema import SchemaNotReady, configured_owner_database, missing_migrations
from domain.personal import DataKind
from domain.staff import Role
from interface import heap
from interface.progress import add_progress_options, showing_progress, verdict
from interface.runtime import (
    ConfigurationError,
    Services,
    all_migrations,
    check_configuration,
    init_database,
    projection_names,
)

log = logging.getLogger("fullchain")


def _init_schema(runtime: Database) -> list[str]:
    """``db init``: as the schema owner, for the runtime role."""
    owner = configured_owner_database()
    current = settings.load()
    if current.database_url and not current.owner_database_url:
        log.info(
            "%s is not set: db init runs as the service's own role %s",
            OWNER_DATABASE_URL_VARIABLE,
            runtime.role,
        )
    applied = init_database(owner, runtime_role=runtime.role)
    if applied:
        log.info("schema: applied %s", ", ".join(applied))
    return applied


def _services(*, init: bool) -> Services:
    check_configuration()
    database = configured_database()
    if init:
        _init_schema(database)
    else:
        missing = missing_migrations(database, all_migrations())
        if missing:
            raise SchemaNotReady(missing)
    return Services.open(database)


def cmd_db_init(_: argparse.Namespace) -> int:
    problems = check_database_settings()
    if problems:
        raise ConfigurationError("; ".join(problems))
    applied = _init_schema(configured_database())
    print("schema up to date" + (f" (applied {', '.join(applied)})" if applied else ""))
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    stop.wait()


def cmd_project(args: argparse.Namespace) -> int:
    services = _services(init=False)
    services.start_workers(batch_size=args.batch_size, tree=True, webhooks=True, retention=True)
    heap.settle()
    log.info("projection worker running for: %s", ", ".join(p.name for p in services.projections))
    try:
        _wait_for_signal()
    finally:
        services.close()
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Rebuild beside the live read model, then swap (``projections.rebuild``): the
    service keeps answering and its worker keeps running. Exit 3 when another rebuild of
    the read model runs, 4 when the swap's locks cannot be taken within --lock-timeout."""
    from projections.rebuild import LockTimeoutError, RebuildRefusedError, rebuild_online

    services = _services(init=False)
    try:
        names = [p.name for p in services.projections]
        chosen = [p for p in services.projections if args.name in (None, p.name)]
        if not chosen:
            print(f"no read model named {args.name!r}; there are: {', '.join(names)}")
            verdict("nothing rebuilt")
            return 2
        owner = configured_owner_database()
        rebuilt: list[str] = []
        for projection in chosen:
            try:
                with showing_progress(args) as progress:
                    result = rebuild_online(
                        owner,
                        projection,
                        services.app.mapper,
                        runtime_role=services.database.role,
                        batch_size=args.batch_size,
                        lock_timeout=args.lock_timeout,
                        progress=progress,
                    )
            except RebuildRefusedError as refused:
                print(f"refused: {refused}", file=sys.stderr)
                verdict(_not_rebuilt(projection.name, rebuilt))
                return 3
            except LockTimeoutError as timeout:
                print(f"{projection.name}: not rebuilt: {timeout}", file=sys.stderr)
                verdict(_not_rebuilt(projection.name, rebuilt))
                return 4
            print(
                f"{projection.name}: rebuilt from {result.entries} log entries and swapped in "
                f"at position {result.position} (the replaced tables were at "
                f"{result.previous_position})"
            )
            rebuilt.append(projection.name)
    finally:
        services.close()
    verdict(f"rebuilt {_read_models(rebuilt)} from the log")
    return 0


def _read_models(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{len(names)} read models"


def _not_rebuilt(name: str, rebuilt: Sequence[str]) -> str:
    before = f"; rebuilt before it: {_read_models(rebuilt)}" if rebuilt else ""
    return f"{name} not rebuilt{before}"


def cmd_retention(args: argparse.Namespace) -> int:
    """Erase the personal data whose retention period ended as of ``--as-of`` (default
    now), except what a legal hold or an open claim keeps; ``--dry-run``: only list it."""
    import json
    from datetime import datetime

    as_of: datetime | None = None
    if args.as_of is not None:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            as_of = None
        if as_of is None or as_of.tzinfo is None:
            print(
                "fullchain retention: --as-of is an ISO 8601 moment with a time zone",
                file=sys.stderr,
            )
            return 2
    services = _services(init=False)
    try:
        report = services.retention().run(as_of or services.app.clock(), dry_run=args.dry_run)
    finally:
        services.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0
    verb = "would erase" if report.dry_run else "erased"
    for item in report.erased:
        print(f"{verb} {item.policy.kind.value} of {item.facts.subject_id}: {item.reason}")
    for item in report.held:
        why = "; ".join(f"{h.kind.value} {h.ref} ({h.reason})" for h in item.holds)
        print(f"held {item.policy.kind.value} of {item.facts.subject_id}: {why}")
    print(f"as of {report.as_of.isoformat()}: {verb} {len(report.erased)}, held {len(report.held)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    from application.evidence import verify_evidence
    from application.store.access_log import verify_access_log
    from application.store.integrity import (
        Checkpoint,
        check_checkpoint,
        record_verified,
        signing_key,
        verify,
    )

    database = configured_database()
    with showing_progress(args) as progress:
        result = verify(database, progress=progress)
        record_verified(database, result)
    print(result.summary())
    ok = result.intact
    with showing_progress(args) as progress:
        looked = verify_access_log(database, progress=progress)
    print(
        f"access log: intact, {looked.entries} entries"
        if looked.intact
        else f"access log: broken at entry {looked.broken_at}"
    )
    ok = ok and looked.intact
    services = _services(init=False)
    try:
        with showing_progress(args) as progress:
            files = verify_evidence(
                database, services.app.mapper, services.app.evidence, progress=progress
            )
    finally:
        services.close()
    for line in files.lines():
        print(line)
    ok = ok and files.intact
    if args.checkpoint:
        with open(args.checkpoint, encoding="utf-8") as f:
            checkpoint = Checkpoint(**json.load(f))
        with showing_progress(args) as progress:
            check = check_checkpoint(
                database, checkpoint, signing_key(database).public_key(), progress=progress
            )
        print(f"checkpoint at position {checkpoint.position}: {check.detail}")
        ok = ok and check.signature_valid and check.extends
    if args.since:
        from application.proofs.checkpoints import (
            check_since,
            log_origin,
            retired_verifiers,
            verifier_of,
        )
        from application.proofs.tree import LogTree

        services = _services(init=False)
        try:
            with open(args.since, encoding="utf-8") as f:
                note = f.read()
            with showing_progress(args) as progress:
                since = check_since(
                    LogTree(database, services.app.mapper),
                    note,
                    [verifier_of(signing_key(database), log_origin()), *retired_verifiers()],
                    progress=progress,
                )
        finally:
            services.close()
        print(f"since {args.since}: {since.detail}")
        ok = ok and since.extends
    print("verdict: the log is intact" if ok else "verdict: the log is NOT intact")
    return 0 if ok else 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    import json

    from application.store.integrity import configured_signing_key, sign_head, signing_key

    database = configured_database()
    if not args.tree:
        signed = sign_head(database, signing_key(database))
        print(json.dumps(signed.as_dict(), indent=2))
        sys.stdout.flush()
        verdict(f"checkpoint signed at position {signed.position}")
        return 0
    from application.proofs.checkpoints import log_origin, sign_tree_head
    from application.proofs.note import Note, TreeHead
    from application.proofs.tree import LogTree

    services = _services(init=False)
    try:
        with showing_progress(args) as progress:
            note = sign_tree_head(
                LogTree(database, services.app.mapper),
                signing_key(database),
                origin=log_origin(),
                now=services.app.clock(),
                key_in_database=configured_signing_key() is None,
                progress=progress,
            )
    finally:
        services.close()
    sys.stdout.write(note)
    sys.stdout.flush()
    verdict(f"checkpoint signed at size {TreeHead.parse(Note.parse(note).text).size}")
    return 0


#: The console's sign-in page; a one-time link carries its secret in the fragment, which
#: the browser never sends to a server (nor keeps in a log).
SIGN_IN_PATH = "/console/sign-in"


def _read_password(staff_id: str) -> str | None:
    """The new password: asked twice at a terminal (not echoed), else the first line of
    standard input. None if the two differ."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(f"new password for {staff_id}: ")
        again = getpass.getpass("again: ")
        return first if first == again else None
    return sys.stdin.readline().rstrip("\r\n")


def cmd_staff(args: argparse.Namespace) -> int:
    """Operators manage staff from the shell; every change is a Staff event."""
    import getpass

    from domain.base import DomainError

    services = _services(init=False)
    app = services.app
    ctx = app.context(f"operator:{getpass.getuser()}"[:64])
    try:
        if args.staff_command == "add" and args.partner is not None:
            # A partner user: of the partner, not of a branch, with the partner role only.
            roles = [Role(role) for role in args.role or [Role.PARTNER.value]]
            app.staff.register_staff(
                ctx,
                staff_id=args.staff_id,
                name=args.name,
                branch="",
                roles=roles,
                partner_id=args.partner,
            )
            listed = ", ".join(role.value for role in roles)
            print(f"registered {args.staff_id} for partner {args.partner}: {listed}")
        elif args.staff_command == "add" and args.customer is not None:
            # A customer user: of the customer, not of a branch, with the customer role only.
            roles = [Role(role) for role in args.role or [Role.CUSTOMER.value]]
            app.staff.register_staff(
                ctx,
                staff_id=args.staff_id,
                name=args.name,
                branch="",
                roles=roles,
                customer_id=args.customer,
            )
            listed = ", ".join(role.value for role in roles)
            print(f"registered {args.staff_id} for customer {args.customer}: {listed}")
        elif args.staff_command == "add":
            app.staff.register_staff(
                ctx,
                staff_id=args.staff_id,
                name=args.name,
                branch=args.branch,
                roles=[Role(role) for role in args.role or []],
            )
            print(f"registered {args.staff_id} in {args.branch}: {', '.join(args.role or [])}")
        elif args.staff_command == "grant":
            app.staff.grant_role(ctx, args.staff_id, role=Role(args.role))
            print(f"granted {args.role} to {args.staff_id}")
        elif args.staff_command == "revoke":
            app.staff.revoke_role(ctx, args.staff_id, role=Role(args.role))
            print(f"revoked {args.role} from {args.staff_id}")
        elif args.staff_command == "token":
            _, token_id, token = app.staff.issue_staff_token(ctx, args.staff_id, label=args.label)
            print(f"token {token_id} for {args.staff_id} (shown once):\n{token}")
        elif args.staff_command == "revoke-token":
            app.staff.revoke_staff_token(ctx, args.staff_id, token_id=UUID(args.token_id))
            print(f"revoked token {args.token_id} of {args.staff_id}")
        elif args.staff_command == "password":
            password = _read_password(args.staff_id)
            if password is None:
                print("fullchain: the two passwords differ; nothing set", file=sys.stderr)
                return 1
            app.staff.set_password(ctx, args.staff_id, password=password)
            print(f"password set for {args.staff_id} (their console sessions ended)")
        elif args.staff_command == "sign-in-link":
            with services.reads.connection() as conn:
                secret, expires = console_sessions.issue_link(
                    conn, args.staff_id, app.clock(), issued_by=ctx.actor
                )
            print(
                f"one-time sign-in link for {args.staff_id} (until {expires:%H:%M} UTC, "
                f"once):\n{args.url.rstrip('/')}{SIGN_IN_PATH}#link={secret}"
            )
    except console_sessions.UnknownStaff as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    except (DomainError, NotFound, AlreadyExists) as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def cmd_branch(args: argparse.Namespace) -> int:
    """Operators keep the branch registry from the shell; every change is a Branch event."""
    import getpass

    from domain.base import DomainError

    services = _services(init=False)
    app = services.app
    ctx = app.context(f"operator:{getpass.getuser()}"[:64])
    try:
        if args.branch_command == "add":
            app.branches.register_branch(
                ctx,
                code=args.code,
                name_zh=args.name_zh,
                name_en=args.name_en,
                region=args.region,
                time_zone=args.time_zone,
                currency=args.currency,
            )
            print(f"registered branch {args.code}")
        elif args.branch_command == "change":
            app.branches.change_branch(
                ctx,
                args.code,
                name_zh=args.name_zh,
                name_en=args.name_en,
                region=args.region,
                time_zone=args.time_zone,
                currency=args.currency,
            )
            print(f"changed branch {args.code}")
        elif args.branch_command == "close":
            app.branches.close_branch(ctx, args.code, reason=args.reason)
            print(f"closed branch {args.code}")
        elif args.branch_command == "reopen":
            app.branches.reopen_branch(ctx, args.code)
            print(f"reopened branch {args.code}")
    except (DomainError, NotFound, AlreadyExists) as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def cmd_people(args: argparse.Namespace) -> int:
    """A data subject (the kinds of its data held and erased), its data exported (access
    and portability), and its erasure (PIPL Art. 47, GDPR Art. 17) as a staff member of
    headquarters or an administrator: the erasure is theirs in the log, as over HTTP."""
    import json

    from application.privacy import ALL_KINDS, UnknownSubject
    from domain.base import DomainError

    if args.people_command == "export":
        return _people_export(args)
    services = _services(init=False)
    app = services.app
    try:
        if args.people_command == "show":
            print(json.dumps(app.privacy.subject(args.subject_id).as_dict(), indent=2))
        elif args.people_command == "erase":
            actor = app.staff.get_staff(args.actor)
            if not actor.active or not actor.roles & ERASERS:
                print(
                    f"fullchain: {args.actor} may not erase personal data "
                    "(headquarters and administrators may)",
                    file=sys.stderr,
                )
                return 1
            kinds = tuple(DataKind(k) for k in args.kind) if args.kind else ALL_KINDS
            result = app.privacy.erase(
                app.context(args.actor),
                args.subject_id,
                reason=args.reason,
                request_ref=args.request,
                kinds=kinds,
            )
            erased = app.privacy.subject(args.subject_id)
            print(
                f"erased {', '.join(k.value for k in kinds)} of {args.subject_id} "
                f"(version {result.version} of {result.aggregate_id}, position "
                f"{result.position}); held now: {', '.join(erased.held) or 'nothing'}"
            )
    except UnknownSubject as error:
        print(f"fullchain: {error.message}", file=sys.stderr)
        return 1
    except NotFound as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    except DomainError as error:
        print(f"fullchain: {error.message}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


#: Who may erase a data subject's personal data: as over HTTP (``ERASURE``).
ERASERS = frozenset({Role.HQ, Role.ADMIN})


def _subject_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a data subject id") from None


def cmd_replay(args: argparse.Namespace) -> int:
    """A customer's history as a readable timeline, oldest first."""
    relationship_id = UUID(args.relationship)
    services = _services(init=False)
    try:
        _operator_looked(services, "replay", "Relationship", relationship_id)
        return _replay(args, services, relationship_id)
    except BrokenPipeError:
        # The reader went away (`| head`): what it did not read is not an error. Output to
        # it is dropped quietly from here on, so nothing is reported at exit either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        services.close()


def _operator_looked(
    services: Services, what: str, aggregate_type: str, aggregate_id: UUID
) -> None:
    """The command line's reads go into the access log too, as the operator's."""
    import getpass

    from application.store.access_log import record_access

    record_access(
        services.database,
        staff_id=f"operator:{getpass.getuser()}"[:64],
        what=what,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
    )


def _replay(args: argparse.Namespace, services: Services, relationship_id: UUID) -> int:
    import json

    from application.jsonable import jsonable
    from projections.history.queries import HistoryFilter, history_length, history_page

    with services.reads.connection() as conn:
        total = history_length(conn, relationship_id)
        if total == 0:
            print(f"no history for {relationship_id}", file=sys.stderr)
            return 1
        cursor: str | None = None
        shown = 0
        with showing_progress(args) as progress:
            while True:
                entries, cursor = history_page(
                    conn,
                    services.app.mapper,
                    relationship_id,
                    HistoryFilter(),
                    limit=1000,
                    cursor=cursor,
                )
                for e in entries:
                    data = json.dumps(jsonable(e["data"]), ensure_ascii=False)
                    if not args.full and len(data) > 120:
                        data = data[:117] + "..."
                    print(
                        f"{e['position']:>8}  {e['occurred_at']:%Y-%m-%d %H:%M}  "
                        f"{e['event_name']:<40} v{e['version']:<4} "
                        f"by {e['actor']:<14} {data}"
                    )
                shown += len(entries)
                if progress is not None and total >= 1000:  # a short one prints at once
                    progress("history", shown, total)
                if cursor is None:
                    break
    sys.stdout.flush()  # here, where a reader gone away is caught, not at exit
    return 0


def _people_export(args: argparse.Namespace) -> int:
    """A data subject's personal data as JSON (access and portability), on standard
    output; the read goes into the access log, as the operator's."""
    import getpass
    import json
    from uuid import UUID

    from application.data_access import DataAccess
    from application.privacy import UnknownSubject

    try:
        subject_id = UUID(args.subject_id)
    except ValueError:
        print(f"fullchain people export: {args.subject_id!r} is not an id", file=sys.stderr)
        return 2
    services = _services(init=False)
    try:
        reader = f"operator:{getpass.getuser()}"[:64]
        try:
            export = DataAccess(services.app, services.database).read(reader, subject_id, "export")
        except UnknownSubject as unknown:
            print(f"fullchain people export: {unknown.message}", file=sys.stderr)
            return 1
        json.dump(export, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return 0
    finally:
        services.close()


def cmd_export(args: argparse.Namespace) -> int:
    """A customer's audit package (zip), or a shipment's custody as EPCIS 2.0 JSON-LD."""
    import json
    from pathlib import Path
    from uuid import UUID

    services = _services(init=False)
    try:
        if args.epcis:
            from application.epcis import custody_document

            document = custody_document(services.app.shipments.get_shipment(UUID(args.epcis)))
            content = json.dumps(document, indent=2, ensure_ascii=False).encode()
            _operator_looked(services, "export", "Shipment", UUID(args.epcis))
            default = f"custody-{args.epcis}.jsonld"
            what = f"{len(document['epcisBody']['eventList'])} custody events"
        elif args.relationship:
            from application.audit_export import pack
            from application.store.integrity import configured_signing_key

            rid = UUID(args.relationship)
            name = services.app.relationships.get_relationship(rid).name
            with showing_progress(args) as progress:
                package = pack(
                    services.database,
                    services.app.mapper,
                    services.signing_key(),
                    rid,
                    name=name,
                    now=services.app.clock(),
                    key_in_database=configured_signing_key() is None,
                    evidence=services.app.evidence,
                    progress=progress,
                )
            content = package.content
            _operator_looked(services, "export", "Relationship", rid)
            default = f"audit-package-{rid}.zip"
            what = f"{package.entries} entries"
        else:
            print("fullchain export: name a relationship, or --epcis SHIPMENT", file=sys.stderr)
            return 2
        if args.out == "-" or (args.out is None and not sys.stdout.isatty()):
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
            verdict(f"exported {what} as {len(content)} bytes to standard output")
        else:
            out = Path(args.out or default)
            out.write_bytes(content)
            verdict(f"exported {what} to {out} ({len(content)} bytes)")
    except NotFound as error:
        print(f"fullchain: {error}", file=sys.stderr)
        verdict("nothing exported")
        return 1
    finally:
        services.close()
    return 0


def cmd_export_warehouse(args: argparse.Namespace) -> int:
    """The data-warehouse feed: the log and every read model as Parquet in DIR, what is new
    since the last export (``application.warehouse``); with ``--verify``, only check the
    files against the manifest (no database needed). Exits 1 if the folder's files do not
    match the manifest, 2 if the folder cannot be exported into."""
    from pathlib import Path

    from application.warehouse import ReadModelTables, Warehouse, WarehouseError, verify

    directory = Path(args.directory)
    try:
        if args.verify:
            result = verify(directory)
            for problem in result.problems:
                print(f"{directory}: {problem}", file=sys.stderr)
            print(
                f"{directory}: {result.files} files, {result.rows} rows"
                + (", intact" if result.intact else f", {len(result.problems)} problems")
            )
            return 0 if result.intact else 1
        services = _services(init=False)
        try:
            # Every read model the service runs, with its tables: a read model added to
            # the composition root is exported without a word here.
            read_models = [ReadModelTables(p.name, tuple(p.tables)) for p in services.projections]
            warehouse = Warehouse(services.database, services.app.mapper, read_models, directory)
            exported = warehouse.export(services.app.clock(), wait=args.wait)
        finally:
            services.close()
    except WarehouseError as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 2
    for path in exported.removed:
        print(f"removed {path} (left by an interrupted export)", file=sys.stderr)
    for name, position in sorted(exported.behind.items()):
        print(
            f"{name}: exported as of position {position}, behind the log's {exported.log_to}",
            file=sys.stderr,
        )
    if exported.export is None:
        print(f"{directory}: nothing new since position {exported.log_to}")
    else:
        print(
            f"{directory}: export {exported.export}, log positions {exported.log_from}.."
            f"{exported.log_to} ({exported.events} entries), {len(exported.files)} files"
        )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Imports relationships and contacts from a CSV or XLSX file as the operator (every
    branch): the rows as ``POST /v1/imports/relationships`` takes them. Prints the report
    as JSON; exits 1 if a row is invalid (then nothing is written), 2 if the file cannot
    be read."""
    import getpass
    import json
    from pathlib import Path

    from application.imports import FileFormat, Importer, TooManyRows, UnreadableFile, report_json

    path = Path(args.file)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in {f.value for f in FileFormat}:
        print(f"fullchain: {path}: a .csv or an .xlsx file", file=sys.stderr)
        return 2
    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"fullchain: {path}: {error.strerror}", file=sys.stderr)
        return 2
    services = _services(init=False)
    try:
        ctx = services.app.context(f"operator:{getpass.getuser()}"[:64])
        report = Importer(services.app.commands).run(
            ctx, data, FileFormat(suffix), dry_run=args.dry_run
        )
    except (UnreadableFile, TooManyRows) as error:
        print(f"fullchain: {path}: {error}", file=sys.stderr)
        return 2
    finally:
        services.close()
    print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    return 1 if any(row.outcome == "invalid" for row in report.rows) else 0


def cmd_demo(_: argparse.Namespace) -> int:
    from interface.demo import load_demo

    services = _services(init=True)
    try:
        summary = load_demo(services, now=services.app.clock())  # a year up to the present
        print(summary)
    finally:
        services.close()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from application.store.backup import BackupError, dump

    try:
        tools = dump(configured_owner_database(), Path(args.file))
    except BackupError as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    print(f"backed up to {args.file} (pg_dump {tools.major}, {tools.folder})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a dump into an empty database, give the runtime role its privileges, then
    verify the restored log as ``fullchain verify`` does (exit 1 if it is not intact)."""
    from pathlib import Path

    from application.store.backup import BackupError, restore

    try:
        tools = restore(configured_owner_database(), Path(args.file))
    except BackupError as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    print(f"restored {args.file} (pg_restore {tools.major}, {tools.folder})")
    _init_schema(configured_database())  # the runtime role's privileges; newer migrations
    return cmd_verify(argparse.Namespace(checkpoint=None, since=args.since))


def cmd_serve(args: argparse.Namespace) -> int:

    from application.proofs.checkpoints import log_origin, retired_verifiers
    from application.proofs.witness import trusted_witnesses
    from application.store.integrity import (
        SIGNING_KEY_FILE_VARIABLE,
        SIGNING_KEY_VARIABLE,
        configured_signing_key,
    )
    from interface.demo import demo_sign_in, demo_token, has_data, load_demo
    from interface.http.app import create_app

    try:  # settings read on requests: refused here, never answered with a 500
        log_origin()
        retired_verifiers()
        trusted_witnesses()
        configured_signing_key()
    except ValueError as error:
        print(f"fullchain serve: {error}", file=sys.stderr)
        return 2
    if settings.load().database_url:
        try:
            key = configured_signing_key()
        except ValueError as error:
            print(f"fullchain serve: {error}", file=sys.stderr)
            return 2
        if key is None:
            print(
                f"fullchain serve: a server database needs the key that signs its "
                f"checkpoints from {SIGNING_KEY_VARIABLE} or {SIGNING_KEY_FILE_VARIABLE} "
                "(an Ed25519 private key, PEM): a key kept in the database it vouches for "
                "is for the embedded demo only. `fullchain keygen` writes one.",
                file=sys.stderr,
            )
            return 2
    services = _services(init=True)
    demo = args.demo if args.demo is not None else services.database.embedded
    try:
        if demo and not has_data(services):
            print("loading demo data …", flush=True)
            print(load_demo(services, now=services.app.clock()), flush=True)
        run_workers = args.workers if args.workers is not None else services.database.embedded
        if run_workers:
            services.start_workers(tree=True, webhooks=True, retention=True)
        url = f"http://{args.host}:{args.port}"
        print(f"\nFullchain CRM at {url}  (API documentation: {url}/docs)")
        print(f"Console: {url}/")
        if demo:
            name, token = demo_token(services)
            staff_id, password, secret = demo_sign_in(services)
            print(f"Bearer token for {name} — paste it into Authorize on /docs:\n  {token}")
            print(f"Console: sign in as {staff_id} with the password {password}, or once")
            print(f"within 15 minutes with the link: {url}{SIGN_IN_PATH}#link={secret}\n")
        _run_http(args, create_app(services) if args.processes == 1 else None)
    finally:
        services.close()
    return 0


def _run_http(args: argparse.Namespace, app: Any) -> None:
    """Serve ``app`` in this process; with ``--processes N`` (``app`` None), serve from N
    worker processes instead, each opening its own service with ``interface.asgi:create``
    (the projection workers stay in this one)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from interface import logs

    served: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "log_config": logs.UVICORN_LOG_CONFIG,  # through the service's own handler
        "access_log": False,  # the service logs each request itself, with its id
    }
    if app is not None:
        heap.settle()
        uvicorn.run(app, **served)
        return
    config = uvicorn.Config("interface.asgi:create", factory=True, workers=args.processes, **served)
    # uvicorn binds the workers' socket with protocol 0, so asyncio leaves Nagle's
    # algorithm on for every connection accepted on it (uvicorn issue #3149): each answer
    # on a kept-alive connection would wait ~40 ms for the client's delayed ACK. The same
    # socket, marked as TCP, gets TCP_NODELAY on every connection as one process does.
    bound = config.bind_socket()
    listening = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, bound.detach())
    listening.set_inheritable(True)
    Multiprocess(config, sockets=[listening]).run()


def cmd_status(args: argparse.Namespace) -> int:
    """What ``/ready`` and ``/metrics`` tell, for an operator: the schema, the log's head,
    every read model's position, lag and last error."""
    import json

    from application.store.schema import applied_migrations
    from projections import status

    check_configuration()
    database = configured_database()
    migrations = [m.migration_id for m in all_migrations()]
    with database.connect(autocommit=True, purpose="status") as conn:
        applied = applied_migrations(conn)
        missing = [m for m in migrations if m not in applied]
        latest = [m for m in migrations if m in applied]
        names = projection_names()
        state = status.snapshot(conn, names) if not missing else None
    report: dict[str, Any] = {
        "schema": {
            "version": latest[-1] if latest else None,
            "applied": len(latest),
            "known": len(migrations),
            "missing": missing,
        },
        "log_head": state.head if state else None,
        "read_models": [
            {
                "name": m.name,
                "position": m.position,
                "lag_events": m.lag_events,
                "lag_seconds": round(m.lag_seconds, 3),
                "last_error": m.last_error,
                "last_error_at": m.last_error_at,
            }
            for m in (state.read_models if state else [])
        ],
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0 if not missing else 1
    schema = report["schema"]
    print(f"schema      {schema['version']} ({schema['applied']}/{schema['known']} migrations)")
    if missing:
        print(f"            missing: {', '.join(missing)} — run `fullchain db init`")
        return 1
    print(f"log head    {report['log_head']}")
    print()
    print(f"{'read model':<24} {'position':>10} {'lag':>8} {'lag s':>9}  last error")
    for m in state.read_models if state else []:
        error = f"{m.last_error_at} {m.last_error}" if m.last_error else "-"
        print(f"{m.name:<24} {m.position:>10} {m.lag_events:>8} {m.lag_seconds:>9.1f}  {error}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Every setting: its variable, default and meaning (``--markdown``: the document
    docs/configuration.md holds); otherwise the values in effect now, secrets hidden."""
    if args.markdown:
        print(settings.markdown(), end="")
        return 0
    try:
        current = settings.load()
    except settings.SettingsError as error:
        print(f"fullchain config: {error}", file=sys.stderr)
        return 2
    secret = {"database_url", "owner_database_url", "metrics_token", "admin_token", "signing_key"}
    for name in settings.Settings.model_fields:
        value = getattr(current, name)
        if value is not None and name in secret:
            value = "(set)"
        print(f"{settings.variable(name)}={'' if value is None else value}")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    """A new signing key (Ed25519, PEM), written to a file only its owner can read."""
    from pathlib import Path

    from application.store.integrity import new_signing_key_pem

    out = Path(args.out)
    if out.exists():
        print(f"fullchain keygen: {out} exists; not overwritten", file=sys.stderr)
        return 1
    out.touch(mode=0o600)
    out.write_text(new_signing_key_pem(), encoding="utf-8")
    print(f"wrote {out}: set FULLCHAIN_SIGNING_KEY_FILE={out}")
    return 0


def cmd_witness(args: argparse.Namespace) -> int:
    """Countersign a checkpoint of the log, offline: its signature under the log's key, and
    that it extends the last checkpoint this witness countersigned; the cosignature
    (c2sp.org/tlog-cosignature v1) is timed by this machine's clock."""
    import base64
    import json
    from datetime import UTC, datetime
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from application.proofs.note import Cosigner, NoteError, Verifier
    from application.proofs.witness import WitnessRefusal, cosign

    try:
        key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the witness key is not an Ed25519 private key")
        log = [Verifier.decode(k) for k in args.log_key]
        last = Path(args.last).read_text(encoding="utf-8") if args.last else None
        proof = (
            [base64.b64decode(p) for p in json.loads(Path(args.proof).read_text())["proof"]]
            if args.proof
            else []
        )
        note = Path(args.checkpoint).read_text(encoding="utf-8")
        witness = Cosigner(args.name, key)
        cosigned = cosign(note, log, witness, last=last, proof=proof, now=datetime.now(UTC))
    except (OSError, ValueError, KeyError, NoteError, WitnessRefusal) as error:
        print(f"fullchain witness: not countersigned: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(cosigned)
    print(
        f"countersigned by {args.name} (verifier key {witness.verifier.encode()})",
        file=sys.stderr,
    )
    return 0


def _partner_id(text: str) -> UUID:
    """A partner's relationship id, as the command line gives it."""
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a relationship id: {text!r}") from None


def _positive(text: str) -> int:
    """A whole number of at least 1, as the command line gives it."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fullchain",
        description="Fullchain CRM. Database: $FULLCHAIN_DATABASE_URL, "
        "else an embedded PostgreSQL in $FULLCHAIN_DATA_DIR (default .data).",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API (creates the schema first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load demo data into an empty database and print a demo token "
        "(default: on for the embedded database, off for a configured server)",
    )
    serve.add_argument(
        "--workers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the projection workers in this process "
        "(default: on for the embedded database, off for a configured server)",
    )
    serve.add_argument(
        "--processes",
        type=_positive,
        default=1,
        metavar="N",
        help="serve the API from N worker processes (interface.asgi:create), the "
        "projection workers staying in this one (default 1: all in this process)",
    )
    serve.set_defaults(func=cmd_serve)

    project = sub.add_parser("project", help="run the projection workers until stopped")
    project.add_argument("--batch-size", type=int, default=1000, help="log entries per transaction")
    project.set_defaults(func=cmd_project)

    rebuild = sub.add_parser("rebuild", help="rebuild read models from the log")
    rebuild.add_argument("name", nargs="?", default=None, help="one read model (default all)")
    rebuild.add_argument("--batch-size", type=int, default=1000, help="log entries per transaction")
    rebuild.add_argument(
        "--lock-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the swap's locks before giving up (default 10)",
    )
    add_progress_options(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    init = db_sub.add_parser("init", help="create or update the schema (idempotent)")
    init.set_defaults(func=cmd_db_init)

    verify = sub.add_parser("verify", help="recompute the log's hash chain; exit 1 if it is broken")
    verify.add_argument("--checkpoint", help="a checkpoint JSON file that today's log must extend")
    verify.add_argument(
        "--since",
        metavar="CHECKPOINT",
        help="a signed tree head (C2SP checkpoint, from `fullchain checkpoint --tree`) that "
        "today's log must extend: proved by a consistency proof from its tree",
    )
    add_progress_options(verify)
    verify.set_defaults(func=cmd_verify)

    backup = sub.add_parser(
        "backup", help="dump the whole database (pg_dump custom format) into FILE"
    )
    backup.add_argument("file", metavar="FILE")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser(
        "restore",
        help="restore a dump of `fullchain backup` into an empty database, then verify it",
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument(
        "--since",
        metavar="CHECKPOINT",
        help="a signed tree head the restored log must extend (as `verify --since`)",
    )
    restore.set_defaults(func=cmd_restore)

    keygen = sub.add_parser("keygen", help="write a new key that signs checkpoints (PEM)")
    keygen.add_argument("out", help="the file to write (refused if it exists)")
    keygen.set_defaults(func=cmd_keygen)

    witness = sub.add_parser(
        "witness", help="countersign a checkpoint of the log that extends the last one signed"
    )
    witness.add_argument("checkpoint", help="the checkpoint (C2SP note) to countersign")
    witness.add_argument("--key", required=True, help="the witness's Ed25519 key (PEM)")
    witness.add_argument("--name", required=True, help="the witness's key name")
    witness.add_argument(
        "--log-key",
        action="append",
        required=True,
        help="the log's verifier key (repeat for keys it rotated out)",
    )
    witness.add_argument("--last", help="the last checkpoint this witness countersigned")
    witness.add_argument(
        "--proof", help="the consistency proof from it (JSON of GET /v1/audit/proofs/consistency)"
    )
    witness.set_defaults(func=cmd_witness)

    checkpoint = sub.add_parser("checkpoint", help="sign the head of the chain (prints JSON)")
    checkpoint.add_argument(
        "--tree",
        action="store_true",
        help="sign the head of the log's Merkle tree instead: prints a C2SP checkpoint",
    )
    add_progress_options(checkpoint)
    checkpoint.set_defaults(func=cmd_checkpoint)

    replay = sub.add_parser("replay", help="print a customer's history as a timeline")
    replay.add_argument("relationship", help="the relationship id")
    replay.add_argument("--full", action="store_true", help="print event data in full")
    add_progress_options(replay)
    replay.set_defaults(func=cmd_replay)

    export = sub.add_parser(
        "export", help="a customer's audit package, or a shipment's custody as EPCIS"
    )
    export.add_argument("relationship", nargs="?", help="the relationship id")
    export.add_argument("--epcis", metavar="SHIPMENT", help="export this shipment as EPCIS 2.0")
    export.add_argument(
        "--output",
        "--out",
        "-o",
        dest="out",
        help="file to write, - for standard output (default: standard output when it is not "
        "a terminal, else a file named from the id)",
    )
    add_progress_options(export)
    export.set_defaults(func=cmd_export)

    people = sub.add_parser(
        "people", help="data subjects: their personal data, shown, exported, erased"
    )
    people_sub = people.add_subparsers(dest="people_command", required=True)
    people_export = people_sub.add_parser(
        "export", help="a data subject's personal data as JSON (access and portability)"
    )
    people_export.add_argument("subject_id", help="the data subject's id")
    show = people_sub.add_parser("show", help="a data subject: the kinds of its data held, erased")
    show.add_argument("subject_id", type=_subject_id)
    erase = people_sub.add_parser(
        "erase",
        help="erase a data subject's personal data (destroys its keys; recorded in the log)",
    )
    erase.add_argument("subject_id", type=_subject_id)
    erase.add_argument("--reason", required=True, help="why: recorded with the erasure")
    erase.add_argument("--request", help="the data subject request's reference")
    erase.add_argument(
        "--kind",
        action="append",
        choices=[k.value for k in DataKind],
        help="a kind of data to erase (repeatable); default: every kind",
    )
    erase.add_argument(
        "--actor",
        required=True,
        metavar="STAFF_ID",
        help="the staff member (headquarters or administrator) who erases",
    )
    people.set_defaults(func=cmd_people)

    warehouse = sub.add_parser(
        "export-warehouse",
        help="write the log and every read model as Parquet partitions by day into DIR, "
        "what is new since the last export (the data-warehouse feed)",
    )
    warehouse.add_argument("directory", metavar="DIR", help="the warehouse folder")
    warehouse.add_argument(
        "--wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="wait this long for read models behind the log; one still behind is "
        "exported at its own position, which the manifest records (default 60)",
    )
    warehouse.add_argument(
        "--verify",
        action="store_true",
        help="export nothing: check every file against the manifest's SHA-256 and row count",
    )
    warehouse.set_defaults(func=cmd_export_warehouse)

    staff = sub.add_parser("staff", help="staff members, roles, tokens and passwords")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    roles = [r.value for r in Role]
    add = staff_sub.add_parser("add", help="register a staff member")
    add.add_argument("staff_id")
    add.add_argument("name")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--branch", help="our staff member's branch")
    where.add_argument(
        "--partner",
        type=_partner_id,
        metavar="RELATIONSHIP_ID",
        help="a partner user: the partner they work for (they get the partner role)",
    )
    where.add_argument(
        "--customer",
        type=_partner_id,
        metavar="RELATIONSHIP_ID",
        help="a customer user: the customer they act for (they get the customer role)",
    )
    add.add_argument("--role", action="append", choices=roles)
    for name, help_text in (("grant", "grant a role"), ("revoke", "revoke a role")):
        p = staff_sub.add_parser(name, help=help_text)
        p.add_argument("staff_id")
        p.add_argument("role", choices=roles)
    token = staff_sub.add_parser("token", help="issue a token (printed once)")
    token.add_argument("staff_id")
    token.add_argument("--label", default="cli")
    revoke_token = staff_sub.add_parser("revoke-token", help="revoke a token at once")
    revoke_token.add_argument("staff_id")
    revoke_token.add_argument("token_id")
    password = staff_sub.add_parser(
        "password",
        help="set the console password (asked at a terminal, else read from standard input)",
    )
    password.add_argument("staff_id")
    link = staff_sub.add_parser(
        "sign-in-link", help="print a one-time console sign-in link (15 minutes, used once)"
    )
    link.add_argument("staff_id")
    link.add_argument("--url", default="http://127.0.0.1:8000", help="the service's address")
    staff.set_defaults(func=cmd_staff)

    branch = sub.add_parser("branch", help="the branch registry")
    branch_sub = branch.add_subparsers(dest="branch_command", required=True)
    for name, help_text, required in (
        ("add", "register a branch", True),
        ("change", "change a branch's names, region, time zone or currency", False),
    ):
        p = branch_sub.add_parser(name, help=help_text)
        p.add_argument("code", help="what staff, relationships and links name it by")
        p.add_argument("--name-zh", required=required)
        p.add_argument("--name-en", required=required)
        p.add_argument("--region", required=required)
        p.add_argument("--time-zone", required=required, help="IANA, e.g. Asia/Shanghai")
        p.add_argument("--currency", required=required, help="ISO 4217, e.g. CNY")
    close = branch_sub.add_parser("close", help="close a branch: no new references")
    close.add_argument("code")
    close.add_argument("--reason", required=True)
    reopen = branch_sub.add_parser("reopen", help="reopen a closed branch")
    reopen.add_argument("code")
    branch.set_defaults(func=cmd_branch)

    imports = sub.add_parser("import", help="import records from a file")
    imports_sub = imports.add_subparsers(dest="import_command", required=True)
    import_relationships = imports_sub.add_parser(
        "relationships",
        help="relationships and contacts from a CSV or XLSX file, one command a row; "
        "nothing is written if a row is invalid",
    )
    import_relationships.add_argument("file", help="a .csv (UTF-8) or .xlsx file")
    import_relationships.add_argument(
        "--dry-run", action="store_true", help="validate every row, write nothing"
    )
    import_relationships.set_defaults(func=cmd_import)

    demo = sub.add_parser("demo", help="load the demo data set")
    demo.set_defaults(func=cmd_demo)

    status = sub.add_parser(
        "status", help="schema version, log head, each read model's position, lag, last error"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)
    retention = sub.add_parser("retention", help="retention of personal data")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    retention_run = retention_sub.add_parser(
        "run", help="erase the personal data whose retention period ended, except what is held"
    )
    retention_run.add_argument(
        "--as-of", help="the moment to decide as of (ISO 8601 with a time zone; default now)"
    )
    retention_run.add_argument(
        "--dry-run", action="store_true", help="list what would be erased; erase nothing"
    )
    retention_run.add_argument("--json", action="store_true", help="print JSON")
    retention_run.set_defaults(func=cmd_retention)

    config = sub.add_parser("config", help="the settings in effect (or --markdown: their document)")
    config.add_argument(
        "--markdown", action="store_true", help="print docs/configuration.md from the settings"
    )
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from interface import logs

    try:
        log_format = settings.load().log_format
    except settings.SettingsError:
        log_format = "auto"  # the command refuses the settings itself, naming them
    logs.configure(log_format, logging.DEBUG if args.verbose else logging.INFO)
    try:
        code: int = args.func(args)
    except (SchemaNotReady, ConfigurationError) as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
