"""A real PostgreSQL server for the print record's tests (never a mock).

HANDOUTS_TEST_POSTGRES_URL (set by .ci/run, which starts and stops a throwaway server):
use that server. Otherwise the session starts its own with scripts/test-postgres.sh
from Debian's binaries, and stops it at the end. No binaries: the PostgreSQL tests are
skipped on a developer's machine, but fail under CI or when HANDOUTS_TEST_POSTGRES is
"required" (.ci/run sets it), so a missing server can never pass CI silently.
Each test gets its own new database.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile

import pytest

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "test-postgres.sh"
REQUIRED = os.environ.get("HANDOUTS_TEST_POSTGRES") == "required" or bool(os.environ.get("CI"))
_COUNTER = itertools.count()


def _unavailable(message: str):
    if REQUIRED:
        pytest.fail(f"PostgreSQL is required here: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server():
    """The server's admin URL (database "postgres")."""
    given = os.environ.get("HANDOUTS_TEST_POSTGRES_URL", "").strip()
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="handouts-test-pg-")
    res = subprocess.run(["bash", str(SCRIPT), "start", folder], capture_output=True, text=True)
    if res.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True)
        _unavailable(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "the server did not start")
    try:
        yield res.stdout.strip()
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A new, empty database on the test server; dropped after the test."""
    import psycopg
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"handouts_{worker}_{os.getpid()}_{next(_COUNTER)}"
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def record_url(request, tmp_path):
    """The same test against a SQLite file and a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "record.sqlite3")
    return request.getfixturevalue("postgres_url")
