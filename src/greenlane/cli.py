"""The ``greenlane`` command: serve, migrate, openapi, clients, staff, keys, data, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from greenlane.db.pool import Database, create_pool
from greenlane.domain.staff import STAFF_ROLES
from greenlane.errors import Conflict, NotFound, SettingsError, ValidationFailed
from greenlane.settings import Settings, development_secrets, load_settings
from greenlane.wire.identity import ClientCreate, ClientCreated

OPENAPI_PATH = Path("openapi/openapi.json")
CLI_ACTOR = "cli"
T = TypeVar("T")


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured server's URL, or an embedded server's, stopped again on the way out."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    from greenlane.embedded_db import start_embedded

    server = start_embedded(settings.data_dir)
    url = server.url()
    # Worker processes read settings from the environment: hand them the same database and keys.
    os.environ.update(development_secrets(settings.data_dir))
    os.environ["GREENLANE_DATABASE_URL"] = url
    try:
        yield url
    finally:
        server.stop()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from greenlane.migrate import upgrade
    from greenlane.observability import configure_logging

    configure_logging(settings.log_level)
    workers = args.workers or settings.workers
    if workers > 1:
        # Each worker counts on its own; prometheus_client sums them from files in this folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="greenlane-metrics-")
    # uvicorn re-raises the signal that stopped it once it has shut down; turning SIGTERM into
    # SystemExit (as Ctrl-C is KeyboardInterrupt) lets the embedded database stop cleanly after.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with database(settings) as url:
        upgrade(url)
        uvicorn.run(
            "greenlane.app:create_app",
            factory=True,
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.migrate import upgrade

    with database(settings) as url:
        upgrade(url, args.revision)
    print(json.dumps({"migrated_to": args.revision}))
    return 0


def cmd_openapi(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.openapi import write_openapi

    path = write_openapi(Path(args.output))
    print(json.dumps({"written": str(path)}))
    return 0


async def _with_database(
    settings: Settings, url: str, use: Callable[[Database], Awaitable[T]]
) -> T:
    pool = await create_pool(replace(settings, db_pool_min=1, db_pool_max=2), url)
    try:
        return await use(Database(pool, settings.db_acquire_timeout))
    finally:
        await pool.close()


def _print_json(value: object) -> None:
    print(msgspec.json.encode(value).decode())


def _create_client(settings: Settings, data: ClientCreate) -> ClientCreated:
    """A new client in the configured database (``ValidationFailed`` for a bad one)."""
    from greenlane.services.identity import create_client

    pepper = settings.secret_pepper.reveal()
    with database(settings) as url:
        return asyncio.run(
            _with_database(
                settings, url, lambda db: create_client(db, data, actor=CLI_ACTOR, pepper=pepper)
            )
        )


def cmd_clients_create(settings: Settings, args: argparse.Namespace) -> int:
    try:
        data = msgspec.convert(
            {
                key: value
                for key, value in {
                    "role": args.role,
                    "name": args.name,
                    "partner_id": args.partner_id,
                    "port_code": args.port_code,
                    "lane_code": args.lane_code,
                }.items()
                if value is not None
            },
            ClientCreate,
        )
    except msgspec.ValidationError as exc:
        print(f"greenlane: {exc}", file=sys.stderr)
        return 2
    try:
        created = _create_client(settings, data)
    except ValidationFailed as exc:
        print(f"greenlane: {exc.detail}", file=sys.stderr)
        return 2
    _print_json({"client_id": created.client_id, "client_secret": created.client_secret})
    return 0


def cmd_clients_list(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.identity import list_clients

    async def everything(db: Database) -> list[Any]:
        clients: list[Any] = []
        cursor = None
        while True:
            page = await list_clients(db, cursor=cursor, limit=200)
            clients.extend(page.items)
            if page.next_cursor is None:
                return clients
            cursor = page.next_cursor

    with database(settings) as url:
        for client in asyncio.run(_with_database(settings, url, everything)):
            _print_json(client)
    return 0


def cmd_clients_disable(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.identity import disable_client

    try:
        client_id = uuid.UUID(args.client_id)
    except ValueError:
        print("greenlane: CLIENT_ID must be a UUID", file=sys.stderr)
        return 2
    with database(settings) as url:
        try:
            client = asyncio.run(
                _with_database(
                    settings, url, lambda db: disable_client(db, client_id, actor=CLI_ACTOR)
                )
            )
        except NotFound:
            print("greenlane: no such client", file=sys.stderr)
            return 1
    _print_json(client)
    return 0


def cmd_staff_create(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.staff import create_staff

    with database(settings) as url:
        try:
            created = asyncio.run(
                _with_database(
                    settings, url, lambda db: create_staff(db, args.email, args.role, by=CLI_ACTOR)
                )
            )
        except (ValidationFailed, Conflict) as exc:
            print(f"greenlane: {exc.detail}", file=sys.stderr)
            return 2
    _print_json(
        {
            "staff_id": created.staff_id,
            "email": created.email,
            "role": created.role,
            "enrolment_link": f"{settings.console_url}/console/enrol/{created.enrolment_token}",
            "expires_at": created.expires_at,
        }
    )
    return 0


def cmd_staff_disable(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.staff import disable_staff

    with database(settings) as url:
        try:
            asyncio.run(
                _with_database(
                    settings, url, lambda db: disable_staff(db, args.email, by=CLI_ACTOR)
                )
            )
        except NotFound as exc:
            print(f"greenlane: {exc.detail}", file=sys.stderr)
            return 1
    _print_json({"disabled": args.email})
    return 0


def cmd_data_rewrap(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.runtime import data_protection
    from greenlane.services.data_keys import rewrap

    cipher, _index = data_protection(settings)
    with database(settings) as url:
        counts = asyncio.run(_with_database(settings, url, lambda db: rewrap(db, cipher)))
    _print_json({"rewrapped": counts})
    return 0


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.keyring import rotate_keys

    kek = settings.key_encryption_key.reveal()
    with database(settings) as url:
        rotation = asyncio.run(
            _with_database(settings, url, lambda db: rotate_keys(db, kek, actor=CLI_ACTOR))
        )
    _print_json(rotation)
    return 0


def cmd_keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.keyring import list_keys

    with database(settings) as url:
        for key in asyncio.run(_with_database(settings, url, list_keys)):
            _print_json(key)
    return 0


def cmd_federation_show(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.anchor import ensure_anchor, load_anchor

    kek = settings.key_encryption_key.reveal()

    async def show(db: Database) -> dict[str, object]:
        await ensure_anchor(db, kek)
        anchor = await load_anchor(db, kek)
        assert anchor is not None
        return {
            "issuer": settings.issuer,
            "country": settings.country,
            "trust_list_url": settings.issuer + "/.well-known/greenlane/trust-list",
            "anchor_thumbprint": anchor.kid,
            "next_anchor_thumbprint": anchor.thumbprints[-1],
        }

    with database(settings) as url:
        _print_json(asyncio.run(_with_database(settings, url, show)))
    return 0


def cmd_federation_rotate_anchor(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.services.anchor import rotate_anchor

    kek = settings.key_encryption_key.reveal()
    with database(settings) as url:
        rotation = asyncio.run(
            _with_database(settings, url, lambda db: rotate_anchor(db, kek, actor=CLI_ACTOR))
        )
    _print_json(rotation)
    return 0


def cmd_federation_demo(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.federation_demo import walk

    return walk(keep=Path(args.keep) if args.keep else None)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from greenlane.client import demo

    credentials = (
        (args.client_id, args.client_secret) if args.client_id and args.client_secret else None
    )
    if credentials is None and (
        settings.database_url is not None or (settings.data_dir / "pgdata").is_dir()
    ):
        # A local server's database is at hand: make an admin as `clients create` would.
        created = _create_client(settings, ClientCreate(role="admin", name="greenlane demo"))
        credentials = (str(created.client_id), created.client_secret)
    return demo.run(args.url, credentials, issuer=args.issuer or settings.issuer)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenlane",
        description="greenlane: the border-crossing green channel API.",
        epilog="Configuration: GREENLANE_* environment variables (see docs/operations.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", help="address to bind (default GREENLANE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port (default GREENLANE_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default GREENLANE_WORKERS)")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="migrate the database to the newest schema")
    migrate.add_argument("--revision", default="head", help="target revision (default head)")
    migrate.set_defaults(handler=cmd_migrate)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", default=str(OPENAPI_PATH), help="default openapi/openapi.json")
    openapi.set_defaults(handler=cmd_openapi)

    clients = commands.add_parser("clients", help="manage API clients without a running server")
    client_commands = clients.add_subparsers(
        dest="clients_command", required=True, metavar="ACTION"
    )
    create = client_commands.add_parser(
        "create", help='create a client; prints {"client_id", "client_secret"} as one JSON line'
    )
    create.add_argument("--role", required=True, choices=["admin", "partner", "lane"])
    create.add_argument("--name", required=True, help="a name people will recognise")
    create.add_argument("--partner-id", help="the partner a partner client acts for")
    create.add_argument("--port-code", help="the port of a lane client")
    create.add_argument("--lane-code", help="the lane of a lane client")
    create.set_defaults(handler=cmd_clients_create)
    listing = client_commands.add_parser("list", help="list clients, one JSON line each")
    listing.set_defaults(handler=cmd_clients_list)
    disable = client_commands.add_parser("disable", help="disable a client at once")
    disable.add_argument("client_id", metavar="CLIENT_ID")
    disable.set_defaults(handler=cmd_clients_disable)

    staff = commands.add_parser("staff", help="agency staff who use the console")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    staff_create = staff_commands.add_parser(
        "create", help="create a member of staff; prints their one-time enrolment link"
    )
    staff_create.add_argument("--email", required=True, help="what they sign in with")
    staff_create.add_argument("--role", required=True, choices=list(STAFF_ROLES))
    staff_create.set_defaults(handler=cmd_staff_create)
    staff_disable = staff_commands.add_parser(
        "disable", help="refuse their sign-ins and end their sessions at once"
    )
    staff_disable.add_argument("--email", required=True)
    staff_disable.set_defaults(handler=cmd_staff_disable)

    keys = commands.add_parser("keys", help="clearance signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    key_commands.add_parser(
        "rotate", help="promote the next signing key and publish a new one (every worker follows)"
    ).set_defaults(handler=cmd_keys_rotate)
    key_commands.add_parser(
        "list", help="the keys and their states, one JSON line each"
    ).set_defaults(handler=cmd_keys_list)

    federation = commands.add_parser("federation", help="this agency's trust anchor")
    federation_commands = federation.add_subparsers(
        dest="federation_command", required=True, metavar="ACTION"
    )
    federation_commands.add_parser(
        "show", help="issuer, country, trust-list URL and anchor thumbprint, to give to a peer"
    ).set_defaults(handler=cmd_federation_show)
    federation_commands.add_parser(
        "rotate-anchor",
        help="promote the next trust anchor (peers already trust it) and make a new next one",
    ).set_defaults(handler=cmd_federation_rotate_anchor)

    federation_demo = commands.add_parser(
        "federation-demo",
        help="start Thailand and Lao PDR on this machine, federate them, walk a clearance across",
    )
    federation_demo.add_argument(
        "--keep", metavar="DIR", help="keep both deployments' data under DIR (default: removed)"
    )
    federation_demo.set_defaults(handler=cmd_federation_demo)

    data = commands.add_parser("data", help="maintain the encrypted personal data")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    rewrap = data_commands.add_parser(
        "rewrap", help="re-encrypt values written under an older GREENLANE_DATA_KEYS version"
    )
    rewrap.set_defaults(handler=cmd_data_rewrap)

    demo = commands.add_parser("demo", help="a guided tour of the API against a running server")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the server's base URL")
    demo.add_argument(
        "--client-id",
        default=os.environ.get("GREENLANE_DEMO_CLIENT_ID"),
        help="an admin client (default GREENLANE_DEMO_CLIENT_ID; made here for a local server)",
    )
    demo.add_argument(
        "--client-secret",
        default=os.environ.get("GREENLANE_DEMO_CLIENT_SECRET"),
        help="its secret (default GREENLANE_DEMO_CLIENT_SECRET); write --client-secret=S, "
        "as a secret may start with -",
    )
    demo.add_argument("--issuer", help="the tokens' issuer (default GREENLANE_ISSUER)")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        settings = load_settings()
        return handler(settings, args)
    except SettingsError as exc:
        print(f"greenlane: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
