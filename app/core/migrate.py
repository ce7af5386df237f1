"""Running Alembic's migrations from code (start-up, `rollcall db upgrade`, tests), and a quick
check that a database is at the newest schema (commands that do not migrate)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import migrations
from app.core.config import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` (importing alembic alone would cost the quick commands half a second)."""
    revisions: set[object] = set()  # the constants the files assign: strings, None
    parents: set[object] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                name = getattr(target, "id", None)
                value = node.value.value if isinstance(node.value, ast.Constant) else None
                if name == "revision":
                    revisions.add(value)
                elif name == "down_revision" and value is not None:
                    parents.add(value)
    [head] = revisions - parents  # a linear history has exactly one head
    return str(head)


def require_current_schema(session: Session, database: str) -> None:
    """Refuse a database whose schema is not the newest one: `rollcall db upgrade` migrates it
    (never a command that only meant to read or add a row)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        current = None
    head = head_revision()
    if current != head:
        raise ConfigurationError(
            f"the database {database} is at schema revision {current or '(none)'}, this "
            f"rollcall needs {head}: run `rollcall db upgrade`"
        )
