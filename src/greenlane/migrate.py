"""Schema migrations: alembic driven from Python, with the revisions in ``greenlane/migrations``.

Alembic's async ``env.py`` runs its own event loop, so these functions must be called from
synchronous code (the command line, a thread, or a synchronous test fixture).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

# Found through the package, so that an installed wheel migrates as a checkout does.
SCRIPT_LOCATION = "greenlane:migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None, "greenlane/migrations holds no revision"
    return head


def revision_module(filename: str) -> ModuleType:
    """An earlier revision's module, so that a downgrade restores what it made from its text
    (revision files are not importable by name: they start with a digit)."""
    path = Path(__file__).with_name("migrations") / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"greenlane_revision_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute_script(sql: str) -> None:
    """Run a multi-statement SQL script inside the current migration's transaction.

    SQLAlchemy sends each statement to asyncpg as a prepared statement, which may hold only one
    command; asyncpg's own ``execute`` without arguments uses the simple query protocol, which
    takes a whole script. Revisions call this instead of ``op.execute``.
    """
    from alembic import op
    from sqlalchemy.util import await_only

    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))
