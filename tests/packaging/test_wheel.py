"""The built wheel is the whole product: installed alone, it migrates a database.

The wheel is built from this checkout with the project's own build backend (hatchling) and
installed into a fresh virtual environment, outside the checkout and without ``PYTHONPATH``, so
that ``greenlane migrate`` can only find its revisions in the installed package. Dependencies
are pinned to the versions of the development environment (``pip freeze``), which pip finds in
its cache or wheel directories: the install takes seconds, not a full resolve against PyPI.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenlane.migrate import head_revision
from greenlane.settings import new_key_text

from ..conftest import ROOT, with_database
from ..database import connect

MIGRATIONS = ROOT / "src" / "greenlane" / "migrations"
# Building and installing need the network only for what pip has not cached.
TIMEOUT = 240


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command, failing the test with its output when it fails."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that could point Python at the checkout
    (or at the development virtual environment) or configure greenlane."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTHON", "GREENLANE_", "VIRTUAL_ENV", "COV_CORE_", "COVERAGE_"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        cwd=dist,
        env=clean_environment(),
    )
    (built,) = dist.glob("greenlane-*.whl")
    return built


@pytest.fixture
def fresh_database(server_url: str) -> Iterator[str]:
    """An empty database of its own on the test server, dropped afterwards."""
    name = f"greenlane_wheel_{uuid.uuid4().hex[:12]}"

    async def execute(sql: str) -> None:
        conn = await connect(server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_url, name)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_wheel_holds_the_migrations(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    expected = {"greenlane/migrations/env.py", "greenlane/migrations/script.py.mako"} | {
        f"greenlane/migrations/versions/{revision.name}"
        for revision in MIGRATIONS.glob("versions/*.py")
    }
    assert len(expected) > 2
    assert expected <= names, sorted(expected - names)
    assert "greenlane/py.typed" in names


def test_wheel_holds_the_consoles_templates_and_static_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    console = ROOT / "src" / "greenlane" / "console"
    expected = {
        f"greenlane/console/{path.relative_to(console)}"
        for folder in ("templates", "static")
        for path in (console / folder).iterdir()
    }
    assert "greenlane/console/static/htmx.min.js" in expected
    assert expected <= names, sorted(expected - names)


def test_installed_wheel_migrates_a_fresh_database(
    wheel: Path, fresh_database: str, tmp_path: Path
) -> None:
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=False, symlinks=True)
    python = environment / "bin" / "python"
    # Only name==version pins: an editable or direct-URL line is no constraint pip accepts.
    frozen = run(
        [sys.executable, "-m", "pip", "freeze", "--exclude", "greenlane"],
        cwd=tmp_path,
        env=clean_environment(),
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{line}\n" for line in frozen.splitlines() if "==" in line))
    # The development environment's pip installs into the new one: it needs no pip of its own.
    run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"),
            *("--no-compile", "--constraint", str(constraints), str(wheel)),
        ],
        cwd=tmp_path,
        env=clean_environment(),
    )

    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing to import from by accident
    elsewhere.mkdir()
    found = json.loads(
        run(
            [
                str(python),
                "-c",
                "import importlib.resources, json, sys, greenlane\n"
                "print(json.dumps({'module': greenlane.__file__, 'path': sys.path,"
                " 'migrations': str(importlib.resources.files('greenlane') / 'migrations')}))",
            ],
            cwd=elsewhere,
            env=clean_environment(),
        )
    )
    assert Path(found["module"]).is_relative_to(environment), found["module"]
    assert Path(found["migrations"]).is_relative_to(environment), found["migrations"]
    assert not [entry for entry in found["path"] if entry and Path(entry).is_relative_to(ROOT)]

    settings = {
        "GREENLANE_DATABASE_URL": fresh_database,
        "GREENLANE_DATA_DIR": str(tmp_path / "data"),
        "GREENLANE_ACCESS_TOKEN_KEY": new_key_text(),
        "GREENLANE_SECRET_PEPPER": new_key_text(),
        "GREENLANE_DATA_KEYS": "1:" + new_key_text(),
        "GREENLANE_INDEX_KEY": new_key_text(),
        "GREENLANE_KEY_ENCRYPTION_KEY": new_key_text(),
        "GREENLANE_LOG_LEVEL": "WARNING",
    }
    migrated = run(
        [str(environment / "bin" / "greenlane"), "migrate"],
        cwd=elsewhere,
        env={**clean_environment(), **settings},
    )
    assert json.loads(migrated.splitlines()[-1]) == {"migrated_to": "head"}

    async def schema() -> tuple[list[str], bool]:
        conn = await connect(fresh_database)
        try:
            versions = [row["version_num"] for row in await conn.fetch("TABLE alembic_version")]
            travellers = await conn.fetchval("SELECT to_regclass('public.travellers') IS NOT NULL")
            return versions, bool(travellers)
        finally:
            await conn.close()

    versions, has_travellers = asyncio.run(schema())
    assert versions == [head_revision()]
    assert has_travellers
