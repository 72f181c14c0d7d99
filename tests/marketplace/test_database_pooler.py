"""Behind pgbouncer in transaction mode (``DATABASE_POOLER=transaction``) nothing outlives a transaction:
no server-side cursor, no prepared statement, persistent connections to the pooler checked before reuse.

The settings are read from a fresh process; the behaviour is shown through a real pgbouncer with one
server connection, so whatever a Django connection leaves on it is visible in ``pg_cursors`` and
``pg_prepared_statements`` (skipped without pgbouncer or PostgreSQL on 127.0.0.1:5432, failing instead
with REQUIRE_POSTGRES=1)."""

import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.stack import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "SECRET", "CELERY"))
    }
    clean.update({"VAR_DIR": str(tmp_path), **env})
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def manage_shell(code: str, *, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return manage("shell", "-c", code, env=env, tmp_path=tmp_path)


def printed(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


SETTINGS_CODE = (
    "import json; from django.conf import settings as s; d = s.DATABASES['default'];"
    "print('RESULT', json.dumps({'cursors_off': d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
    " 'prepare': d['OPTIONS'].get('prepare_threshold', 'unset'), 'max_age': d['CONN_MAX_AGE'],"
    " 'binding': d['OPTIONS'].get('server_side_binding', False),"
    " 'health': d.get('CONN_HEALTH_CHECKS', False)}))"
)


def test_the_pooler_switch_turns_off_server_side_cursors_and_prepared_statements(tmp_path):
    url = "postgres://app@127.0.0.1:6432/marketplace"
    pooled = printed(
        manage_shell(
            SETTINGS_CODE, env={"DATABASE_URL": url, "DATABASE_POOLER": "transaction"}, tmp_path=tmp_path
        )
    )
    # Parameters bound by the server either way (unnamed statements work through pgbouncer); prepared
    # statements only on a direct connection, after a statement has run 5 times (or never, with 0).
    assert pooled == {"cursors_off": True, "prepare": None, "max_age": 60, "health": True, "binding": True}
    direct = printed(manage_shell(SETTINGS_CODE, env={"DATABASE_URL": url}, tmp_path=tmp_path))
    assert direct == {"cursors_off": False, "prepare": 5, "max_age": 60, "health": False, "binding": True}
    unprepared = printed(
        manage_shell(SETTINGS_CODE, env={"DATABASE_URL": url, "DB_PREPARE_THRESHOLD": "0"}, tmp_path=tmp_path)
    )
    assert unprepared["prepare"] is None
    assert unprepared["binding"] is True


def test_the_pooler_switch_refuses_sqlite_and_unknown_modes(tmp_path):
    sqlite = manage_shell("print(1)", env={"DATABASE_POOLER": "transaction"}, tmp_path=tmp_path)
    assert sqlite.returncode != 0
    assert "DATABASE_POOLER" in sqlite.stderr
    session = manage_shell(
        "print(1)",
        env={"DATABASE_URL": "postgres://app@127.0.0.1:6432/m", "DATABASE_POOLER": "session"},
        tmp_path=tmp_path,
    )
    assert session.returncode != 0
    assert "DATABASE_POOLER" in session.stderr


def unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """pgbouncer in transaction mode with ONE server connection, in front of PostgreSQL 127.0.0.1:5432;
    yields its port."""
    executable = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if executable is None:
        unavailable("pgbouncer is not installed (apt-get install pgbouncer)")
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], check=False).returncode != 0:  # noqa: S607
        unavailable("no PostgreSQL on 127.0.0.1:5432")
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer refuses to run as root: it runs as postgres then, and reads these
    port = free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 1\nmax_client_conn = 20\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    argv = [executable, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        argv[1:1] = ["-u", pwd.getpwnam("postgres").pw_name]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # noqa: S603

    def answers() -> bool:
        ready = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
        return subprocess.run(ready, check=False).returncode == 0  # noqa: S603

    try:
        wait_until(answers, what="pgbouncer", timeout=15)
        yield port
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def scratch_database(pgbouncer: int, tmp_path: Path) -> Iterator[str]:
    """A database of its own with the content types' table (migrated directly, not through the pooler)."""
    name = f"pooler_check_{secrets.token_hex(4)}"
    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True)  # noqa: S603
    try:
        migrated = manage(
            "migrate",
            "contenttypes",
            env={"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"},
            tmp_path=tmp_path,
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        yield name
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)  # noqa: S603


# What a Django connection leaves on the one server connection: a queryset half-read with iterator()
# outside a transaction, a query run ten times, and the session's time zone as Django set it.
LEFTOVERS_CODE = """
import json
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
types = [ContentType(app_label="pooler", model=f"m{n}") for n in range(300)]
ContentType.objects.bulk_create(types, ignore_conflicts=True)
rows = ContentType.objects.filter(app_label="pooler").iterator(chunk_size=10)
first = [next(rows) for _ in range(10)]
cursor = connection.cursor()
cursor.execute("SELECT count(*) FROM pg_cursors")
open_cursors = cursor.fetchone()[0]
rest = list(rows)
for value in range(10):
    cursor.execute("SELECT %s::int + 1", [value])
cursor.execute("SELECT count(*) FROM pg_prepared_statements")
prepared = cursor.fetchone()[0]
with transaction.atomic():
    cursor.execute("SHOW TimeZone")
    zone = cursor.fetchone()[0]
print("RESULT", json.dumps({"rows": len(first) + len(rest), "open_cursors": open_cursors,
                            "prepared": prepared, "zone": zone}))
"""


def test_through_pgbouncer_a_pooled_connection_leaves_nothing_on_the_server_connection(
    scratch_database, pgbouncer, tmp_path
):
    url = f"postgres://postgres@127.0.0.1:{pgbouncer}/{scratch_database}"
    pooled = printed(
        manage_shell(
            LEFTOVERS_CODE, env={"DATABASE_URL": url, "DATABASE_POOLER": "transaction"}, tmp_path=tmp_path
        )
    )
    assert pooled == {"rows": 300, "open_cursors": 0, "prepared": 0, "zone": "UTC"}
    # Without the switch the same code leaves a cursor WITH HOLD on a server connection that pgbouncer
    # hands to the next client (with two or more server connections, its next fetch finds no cursor).
    direct = printed(manage_shell(LEFTOVERS_CODE, env={"DATABASE_URL": url}, tmp_path=tmp_path))
    assert direct["open_cursors"] == 1


def test_straight_to_postgresql_a_statement_run_again_and_again_is_prepared(scratch_database, tmp_path):
    url = f"postgres://postgres@127.0.0.1:5432/{scratch_database}"
    # The query run ten times is prepared after its fifth run (DB_PREPARE_THRESHOLD): parsed and planned once.
    straight = printed(manage_shell(LEFTOVERS_CODE, env={"DATABASE_URL": url}, tmp_path=tmp_path))
    assert straight["rows"] == 300
    assert straight["prepared"] >= 1
    unprepared = {"DATABASE_URL": url, "DB_PREPARE_THRESHOLD": "0"}
    off = printed(manage_shell(LEFTOVERS_CODE, env=unprepared, tmp_path=tmp_path))
    assert off["prepared"] == 0
