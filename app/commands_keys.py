"""`rollcall keys rotate`: a key replaced by a new one, the old one ending at once or after a
grace period (its arguments and what it does)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from models.cli import add_command


def add_rotate_command(key_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rotate = add_command(
        key_commands,
        "rotate",
        "replace a key by a new one; the old one is revoked at once or after a grace period",
        "Make a new key like the old one (its name, role, a teacher's courses, a kiosk's staff "
        "PIN) and print it once; the old key is refused at once, or from the end of --grace. "
        "Both are written in one transaction: nothing changes if either cannot be. KEY is a "
        "key's id or its name (a number is an id). --bootstrap rotates ROLLCALL_ADMIN_KEY (read "
        "from the environment or ./.env, as the service reads it): it is replaced by a stored "
        "admin key and refused by every worker from then on, even while still set.",
        "  rollcall keys rotate 3\n"
        "  rollcall keys rotate 'front kiosk' --grace 60   # the old key works 60 more minutes\n"
        "  rollcall keys rotate --bootstrap\n",
    )
    which = rotate.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", metavar="KEY", help="the key's id or name")
    which.add_argument(
        "--bootstrap", action="store_true", help="the bootstrap admin key, ROLLCALL_ADMIN_KEY"
    )
    rotate.add_argument(
        "--grace",
        type=_minutes,
        default=0,
        metavar="MINUTES",
        help="minutes the old key still works, while its users change over (default 0: none)",
    )
    rotate.set_defaults(handler=keys_rotate_command)


def _minutes(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes (0 or more)")
    return int(text)


def keys_rotate_command(args: argparse.Namespace) -> int:
    from app.commands import _database, _refuse
    from app.core.config import get_settings
    from app.core.errors import ServiceError
    from app.services.keys import bootstrap_row, find_key, rotate_key

    secret = get_settings().admin_key
    bootstrap = secret.get_secret_value() if secret is not None else None
    if args.bootstrap and not bootstrap:
        print(
            "error: ROLLCALL_ADMIN_KEY is not set here (neither in the environment nor in ./.env):"
            " run this where the service runs, with its settings",
            file=sys.stderr,
        )
        return 1
    with _database().session() as db:
        try:
            old = (
                bootstrap_row(db, bootstrap)
                if bootstrap and args.bootstrap
                else find_key(db, args.key)
            )
            new, key = rotate_key(db, old, dt.timedelta(minutes=args.grace))
        except ServiceError as exc:
            return _refuse(exc, 1)
        old_id, old_name = old.id, old.name
    ends = f"in {args.grace} minutes" if args.grace else "now"
    print(f"key #{old_id} ({old_name}) is refused {ends}, by every worker")
    if args.bootstrap:
        print("remove ROLLCALL_ADMIN_KEY from .env and the service's environment")
    print(f"new {new.role} key #{new.id} ({new.name}). Store it now, it is not shown again:")
    print(key)
    return 0
