"""Manage accounts from the command line (there is no default password; the first admin is made here).

    python -m core.auth create-user alice --role admin     # asks for the password twice
    echo "$PW" | python -m core.auth create-user bob --role member
    VLM2VLA_ADMIN_PASSWORD=... python -m core.auth create-user alice --role admin
    python -m core.auth list
    python -m core.auth set-password bob | set-role bob visitor | disable bob | enable bob | remove-login bob
    python -m core.auth audit --limit 50 [--action control.] [--user bob]

The password comes from $VLM2VLA_ADMIN_PASSWORD if set, else from standard input when it is not a
terminal (first line), else from an interactive prompt. The store is the app's: `--db-url` /
`--recordings` or $VLM2VLA_DB_URL / $VLM2VLA_RECORDINGS, as for `python app.py`.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

from core import settings
from core.auth import users
from core.auth.audit import AuditLog
from core.auth.errors import AuthError
from core.auth.users import MIN_PASSWORD_CHARS
from core.store import StoreConfig, StoreConfigError, open_store

CLI_ACTOR = "(command line)"


def read_password(confirm: bool = True) -> str:
    env = settings.current().admin_password
    if env:
        return env
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass(f"Password (at least {MIN_PASSWORD_CHARS} characters): ")
    if confirm and getpass.getpass("Repeat the password: ") != first:
        raise AuthError("the two passwords differ")
    return first


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m core.auth", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db-url", default=None, help="SQLAlchemy URL (default: the app's SQLite under recordings/)")
    ap.add_argument("--recordings", type=Path, default=None, help="recordings folder (holds the default database)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create-user", help="create an account")
    c.add_argument("name")
    c.add_argument("--role", default="member", help="admin | member | visitor (default member)")
    sub.add_parser("list", help="list accounts")
    for name, text in (("set-password", "set a new password"), ("disable", "forbid signing in"),
                       ("enable", "allow signing in again"), ("remove-login", "turn an account back into a name")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        if name in ("disable", "remove-login"):
            p.add_argument("--force", action="store_true", help="even for the last admin")
    r = sub.add_parser("set-role", help="change an account's role")
    r.add_argument("name")
    r.add_argument("role")
    r.add_argument("--force", action="store_true", help="even when demoting the last admin")
    a = sub.add_parser("audit", help="show the newest audit entries")
    a.add_argument("--limit", type=int, default=50)
    a.add_argument("--action", default=None, help="exact action, or a prefix ending in '.' (control.)")
    a.add_argument("--user", default=None)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        store = open_store(StoreConfig.from_env(db_url=args.db_url, recordings_dir=args.recordings))
    except StoreConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    audit = AuditLog(store, background=False)
    try:
        return _run(args, store, audit)
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _run(args: argparse.Namespace, store, audit: AuditLog) -> int:  # type: ignore[no-untyped-def]
    cmd = args.cmd
    if cmd == "create-user":
        first = users.count_accounts(store) == 0
        acc = users.create_user(store, args.name, args.role, read_password())
        audit.record("user.create", CLI_ACTOR, target=acc.name, role_given=acc.role.value)
        print(f"created {acc.role.value} {acc.name}" + (
            "; login is now required (the app switches within seconds)" if first else ""))
    elif cmd == "list":
        accounts = users.list_accounts(store)
        if not accounts:
            print("no accounts: the app runs as an open lab (no login)")
        for a in accounts:
            last = f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "never"
            print(f"{a.name:24} {a.role.value:8} {'disabled' if a.disabled else 'enabled':9} last login {last}")
    elif cmd == "set-password":
        users.set_password(store, args.name, read_password())
        audit.record("user.password", CLI_ACTOR, target=args.name)
        print(f"password of {args.name} changed")
    elif cmd == "set-role":
        acc = users.set_role(store, args.name, args.role, force=args.force)
        audit.record("user.role", CLI_ACTOR, target=acc.name, role_given=acc.role.value)
        print(f"{acc.name} is now {acc.role.value}")
    elif cmd in ("disable", "enable"):
        acc = users.set_disabled(store, args.name, cmd == "disable", force=getattr(args, "force", False))
        audit.record(f"user.{cmd}", CLI_ACTOR, target=acc.name)
        print(f"{acc.name} {cmd}d")
    elif cmd == "remove-login":
        users.remove_login(store, args.name, force=args.force)
        audit.record("user.remove_login", CLI_ACTOR, target=args.name)
        left = users.count_accounts(store)
        print(f"{args.name} can no longer sign in" + ("; no accounts left: the lab is open (no login)" if not left else ""))
    elif cmd == "audit":
        for rec in reversed(audit.query(args.limit, args.action, args.user)):
            print(rec.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
