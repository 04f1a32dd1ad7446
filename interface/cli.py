"""``fullchain``: the operators' command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from application.database import configured_database
from application.schema import SchemaNotReady, missing_migrations
from application.service import AlreadyExists, NotFound
from domain.staff import Role
from interface.runtime import (
    ConfigurationError,
    Services,
    all_migrations,
    check_configuration,
    init_database,
)

log = logging.getLogger("fullchain")


def _services(*, init: bool) -> Services:
    check_configuration()
    database = configured_database()
    if init:
        applied = init_database(database)
        if applied:
            log.info("schema: applied %s", ", ".join(applied))
    else:
        missing = missing_migrations(database, all_migrations())
        if missing:
            raise SchemaNotReady(missing)
    return Services.open(database)


def cmd_db_init(_: argparse.Namespace) -> int:
    database = configured_database()
    applied = init_database(database)
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
    services.start_workers(batch_size=args.batch_size)
    log.info("projection workers running: %s", ", ".join(p.name for p in services.projections))
    try:
        _wait_for_signal()
    finally:
        services.close()
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from projections.engine import rebuild

    services = _services(init=False)
    try:
        names = [p.name for p in services.projections]
        chosen = [p for p in services.projections if args.name in (None, p.name)]
        if not chosen:
            print(f"no read model named {args.name!r}; there are: {', '.join(names)}")
            return 2
        for projection in chosen:
            total = rebuild(services.worker(projection))
            print(f"{projection.name}: rebuilt from {total} log entries")
    finally:
        services.close()
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    from application.integrity import Checkpoint, check_checkpoint, signing_key, verify

    database = configured_database()
    result = verify(database)
    print(result.summary())
    ok = result.intact
    if args.checkpoint:
        with open(args.checkpoint, encoding="utf-8") as f:
            checkpoint = Checkpoint(**json.load(f))
        check = check_checkpoint(database, checkpoint, signing_key(database).public_key())
        print(f"checkpoint at position {checkpoint.position}: {check.detail}")
        ok = ok and check.signature_valid and check.extends
    return 0 if ok else 1


def cmd_checkpoint(_: argparse.Namespace) -> int:
    import json

    from application.integrity import sign_head, signing_key

    database = configured_database()
    print(json.dumps(sign_head(database, signing_key(database)).as_dict(), indent=2))
    return 0


def cmd_staff(args: argparse.Namespace) -> int:
    """Operators manage staff from the shell; every change is a Staff event."""
    import getpass
    from uuid import UUID

    from domain.base import DomainError
    from domain.staff import Role

    services = _services(init=False)
    app = services.app
    ctx = app.context(f"operator:{getpass.getuser()}"[:64])
    try:
        if args.staff_command == "add":
            app.register_staff(ctx, staff_id=args.staff_id, name=args.name, branch=args.branch)
            for role in args.role or []:
                app.grant_role(ctx, args.staff_id, role=Role(role))
            print(f"registered {args.staff_id} in {args.branch}: {', '.join(args.role or [])}")
        elif args.staff_command == "grant":
            app.grant_role(ctx, args.staff_id, role=Role(args.role))
            print(f"granted {args.role} to {args.staff_id}")
        elif args.staff_command == "revoke":
            app.revoke_role(ctx, args.staff_id, role=Role(args.role))
            print(f"revoked {args.role} from {args.staff_id}")
        elif args.staff_command == "token":
            _, token_id, token = app.issue_staff_token(ctx, args.staff_id, label=args.label)
            print(f"token {token_id} for {args.staff_id} (shown once):\n{token}")
        elif args.staff_command == "revoke-token":
            app.revoke_staff_token(ctx, args.staff_id, token_id=UUID(args.token_id))
            print(f"revoked token {args.token_id} of {args.staff_id}")
    except (DomainError, NotFound, AlreadyExists) as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """A customer's history as a readable timeline, oldest first."""
    import json
    from uuid import UUID

    from tqdm import tqdm

    from application.jsonable import jsonable
    from projections.history import HistoryFilter, history_page

    relationship_id = UUID(args.relationship)
    services = _services(init=False)
    try:
        with services.reads.connection() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM history_index WHERE relationship_id = %s",
                (relationship_id,),
            ).fetchone()
            total = int(row["n"]) if row else 0
            if total == 0:
                print(f"no history for {relationship_id}", file=sys.stderr)
                return 1
            cursor: str | None = None
            with tqdm(
                total=total, unit="event", file=sys.stderr, disable=total < 1000 or args.quiet
            ) as progress:
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
                    progress.update(len(entries))
                    if cursor is None:
                        break
    finally:
        services.close()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """A customer's audit package (zip), or a shipment's custody as EPCIS 2.0 JSON-LD."""
    import json
    from pathlib import Path
    from uuid import UUID

    services = _services(init=False)
    try:
        if args.epcis:
            from application.epcis import custody_document

            document = custody_document(services.app.get_shipment(UUID(args.epcis)))
            content = json.dumps(document, indent=2, ensure_ascii=False).encode()
            default = f"custody-{args.epcis}.jsonld"
        elif args.relationship:
            from projections.audit_package import build

            rid = UUID(args.relationship)
            content = build(
                services.database,
                services.app.mapper,
                services.signing_key(),
                rid,
                name=services.app.get_relationship(rid).name,
            )
            default = f"audit-package-{rid}.zip"
        else:
            print("fullchain export: name a relationship, or --epcis SHIPMENT", file=sys.stderr)
            return 2
        out = Path(args.out or default)
        out.write_bytes(content)
        print(f"wrote {out} ({len(content)} bytes)")
    except NotFound as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 1
    finally:
        services.close()
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    from interface.demo import load_demo

    services = _services(init=True)
    try:
        summary = load_demo(services)
        print(summary)
    finally:
        services.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from interface.demo import demo_token, has_data, load_demo
    from interface.http.app import create_app

    services = _services(init=True)
    demo = args.demo if args.demo is not None else services.database.embedded
    try:
        if demo and not has_data(services):
            print("loading demo data …", flush=True)
            print(load_demo(services), flush=True)
        run_workers = args.workers if args.workers is not None else services.database.embedded
        if run_workers:
            services.start_workers()
        url = f"http://{args.host}:{args.port}"
        print(f"\nFullchain CRM at {url}  (API documentation: {url}/docs)")
        if demo:
            name, token = demo_token(services)
            print(f"Bearer token for {name} — paste it into Authorize on /docs:\n  {token}\n")
        uvicorn.run(create_app(services), host=args.host, port=args.port, log_level="info")
    finally:
        services.close()
    return 0


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
    serve.set_defaults(func=cmd_serve)

    project = sub.add_parser("project", help="run the projection workers until stopped")
    project.add_argument("--batch-size", type=int, default=1000, help="log entries per transaction")
    project.set_defaults(func=cmd_project)

    rebuild = sub.add_parser("rebuild", help="rebuild read models from the log")
    rebuild.add_argument("name", nargs="?", default=None, help="one read model (default all)")
    rebuild.set_defaults(func=cmd_rebuild)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    init = db_sub.add_parser("init", help="create or update the schema (idempotent)")
    init.set_defaults(func=cmd_db_init)

    verify = sub.add_parser("verify", help="recompute the log's hash chain; exit 1 if it is broken")
    verify.add_argument("--checkpoint", help="a checkpoint JSON file that today's log must extend")
    verify.set_defaults(func=cmd_verify)

    checkpoint = sub.add_parser("checkpoint", help="sign the head of the chain (prints JSON)")
    checkpoint.set_defaults(func=cmd_checkpoint)

    replay = sub.add_parser("replay", help="print a customer's history as a timeline")
    replay.add_argument("relationship", help="the relationship id")
    replay.add_argument("--full", action="store_true", help="print event data in full")
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(func=cmd_replay)

    export = sub.add_parser(
        "export", help="a customer's audit package, or a shipment's custody as EPCIS"
    )
    export.add_argument("relationship", nargs="?", help="the relationship id")
    export.add_argument("--epcis", metavar="SHIPMENT", help="export this shipment as EPCIS 2.0")
    export.add_argument("--out", help="file to write (default: a name from the id)")
    export.set_defaults(func=cmd_export)

    staff = sub.add_parser("staff", help="staff members, roles and tokens")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    roles = [r.value for r in Role]
    add = staff_sub.add_parser("add", help="register a staff member")
    add.add_argument("staff_id")
    add.add_argument("name")
    add.add_argument("--branch", required=True)
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
    staff.set_defaults(func=cmd_staff)

    demo = sub.add_parser("demo", help="load the demo data set")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except (SchemaNotReady, ConfigurationError) as error:
        print(f"fullchain: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
