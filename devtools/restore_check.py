#!/usr/bin/env python3
"""Prove a backup restores: dump a PostgreSQL database (``pg_dump -Fc``, the nightly backup's format),
restore it into a scratch database, and compare the two: the tables, every table's row count, and the
last order (number, total, status). Prints what it compared and exits 1 on any difference; the scratch
database is always dropped.

The counts are taken in the very snapshot the dump is taken in (``pg_export_snapshot`` and
``pg_dump --snapshot``), so a live database being written to (a running stack) compares exactly.

With ``--wal`` it rehearses the other path instead (``wal_rehearsal``): a database machine lost and
brought back from a base backup and the archived WAL, on PostgreSQL clusters of its own.

    make restore-check        # the stack's database (DATABASE_URL, else marketplace_stack)
    make restore-check RESTORE_ARGS=--wal   # a point-in-time restore: base backup + WAL archive
    python devtools/restore_check.py --source-url postgres://postgres@127.0.0.1:5432/marketplace_stack \\
        --keep-dump var/backups/marketplace.dump

docs/operations.md, "Backups and restores", says how it fits with the nightly dumps and WAL archiving.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/marketplace_stack"
ORDER_TABLE = "order_order"


class RestoreCheckError(Exception):
    pass


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class LastOrder:
    number: str
    total: str
    status: str

    def __str__(self) -> str:
        return f"{self.number} ¥{self.total} {self.status}"


@dataclass(frozen=True)
class Snapshot:
    """What a database holds: every table's row count and its last order."""

    counts: dict[str, int]
    last_order: LastOrder | None


@dataclass(frozen=True)
class Comparison:
    differences: list[str]
    tables: int
    rows: int

    @property
    def identical(self) -> bool:
        return not self.differences


def postgres_url(url: str) -> str:
    """A libpq URL for ``url`` (django-environ's ``postgres://`` and ``postgresql://`` both work)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise RestoreCheckError(f"restore-check runs on PostgreSQL; the database URL is {parts.scheme}://…")
    if not parts.path.strip("/"):
        raise RestoreCheckError("the database URL names no database")
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.strip("/"))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def libpq_environment(url: str) -> dict[str, str]:
    """pg_dump and pg_restore take the server and user from the environment (no password on argv)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    env.update({"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432)})
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def tables_of(cursor: psycopg.Cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        " AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    )
    return [(schema, name) for schema, name in cursor.fetchall()]


def snapshot_read(cursor: psycopg.Cursor) -> Snapshot:
    counts: dict[str, int] = {}
    for schema, name in tables_of(cursor):
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name)))
        row = cursor.fetchone()
        counts[f"{schema}.{name}"] = row[0] if row else 0
    last_order = None
    if f"public.{ORDER_TABLE}" in counts:
        cursor.execute(
            sql.SQL("SELECT number, total_incl_tax::text, status FROM {} ORDER BY id DESC LIMIT 1").format(
                sql.Identifier(ORDER_TABLE)
            )
        )
        row = cursor.fetchone()
        if row is not None:
            last_order = LastOrder(*row)
    return Snapshot(counts, last_order)


def snapshots_compare(source: Snapshot, restored: Snapshot) -> Comparison:
    differences = [
        f"table {table} is missing from the restore"
        for table in sorted(set(source.counts) - set(restored.counts))
    ]
    differences += [
        f"table {table} is only in the restore" for table in sorted(set(restored.counts) - set(source.counts))
    ]
    for table in sorted(set(source.counts) & set(restored.counts)):
        if source.counts[table] != restored.counts[table]:
            differences.append(
                f"{table}: {source.counts[table]} rows in the source, {restored.counts[table]} restored"
            )
    if source.last_order != restored.last_order:
        differences.append(f"last order: {source.last_order} in the source, {restored.last_order} restored")
    return Comparison(differences, len(source.counts), sum(source.counts.values()))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(argv: Sequence[str], *, env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RestoreCheckError(
            f"{Path(argv[0]).name} failed ({result.returncode}):\n{result.stderr.strip()}"
        )


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RestoreCheckError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


@contextmanager
def scratch_database(admin_url: str, name: str) -> Iterator[str]:
    """A new empty database ``name`` on the source's server, dropped at the end whatever happens."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def dump_in_snapshot(source_url: str, dump: Path, *, env: dict[str, str]) -> Snapshot:
    """``pg_dump -Fc`` of the source into ``dump``, and the source's counts read in the dump's snapshot
    (held open by this transaction until both are done), so a database being written to compares exactly."""
    with psycopg.connect(source_url) as source:
        source.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_id = source.execute("SELECT pg_export_snapshot()").fetchone()[0]
        started = time.perf_counter()
        dump_argv = [tool("pg_dump"), "-Fc", "--no-owner", f"--snapshot={snapshot_id}", "-f", str(dump)]
        run([*dump_argv, database_name(source_url)], env=env)
        dumped = time.perf_counter() - started
        before = snapshot_read(source.cursor())
    say(f"dumped {database_name(source_url)}: {dump.stat().st_size / 1e6:.1f} MB in {dumped:.1f} s")
    return before


def dump_restore(dump: Path, *, database: str, env: dict[str, str], jobs: int) -> None:
    started = time.perf_counter()
    run(
        [tool("pg_restore"), "--no-owner", "--exit-on-error", f"--jobs={jobs}", "-d", database, str(dump)],
        env=env,
    )
    say(f"restored into {database} in {time.perf_counter() - started:.1f} s")


def restore_check(source_url: str, *, keep_dump: Path | None = None, jobs: int = 2) -> Comparison:
    source_url = postgres_url(source_url)
    env = libpq_environment(source_url)
    scratch = f"{database_name(source_url)[:40]}_restore_check_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="restore-check-") as folder:
        dump = keep_dump or Path(folder) / "backup.dump"
        dump.parent.mkdir(parents=True, exist_ok=True)
        before = dump_in_snapshot(source_url, dump, env=env)
        with scratch_database(with_database(source_url, "postgres"), scratch) as restored_url:
            dump_restore(dump, database=scratch, env=env, jobs=jobs)
            with psycopg.connect(postgres_url(restored_url)) as restored:
                after = snapshot_read(restored.cursor())
        say(f"dropped {scratch}")
    return _report(snapshots_compare(before, after), before)


# --- a point-in-time restore: base backup + archived WAL, on clusters of its own -------------------------


def postgres_bindir() -> Path:
    """The server programs (initdb, pg_ctl, pg_basebackup) of the newest PostgreSQL installed (Debian)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise RestoreCheckError(
            "no PostgreSQL server programs in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    return found[-1].parent


def as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, its programs run as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Cluster:
    """A PostgreSQL cluster of its own in ``data``, on 127.0.0.1:``port``, trusting local connections."""

    bindir: Path
    data: Path
    port: int
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def configure(self, **settings: str) -> None:
        lines = [f"{name} = {value}" for name, value in settings.items()]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# restore_check.py\n" + "\n".join(lines) + "\n")

    def ctl(self, *args: str) -> None:
        log = self.data.parent / f"{self.data.name}.log"
        run(
            [*as_postgres(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(log), *args],
            env=dict(os.environ),
        )

    def start(self) -> None:
        self.ctl("-w", "-t", "120", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "-w", "stop")


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RestoreCheckError(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.2)


ORDER_COPY = (
    "INSERT INTO {order} SELECT (jsonb_populate_record(NULL::{order}, to_jsonb(o) || jsonb_build_object("
    "'id', nextval(pg_get_serial_sequence({name}, 'id')), 'number', o.number || '-W', 'basket_id', NULL))).*"
    " FROM {order} o ORDER BY o.id DESC LIMIT 1"
)


def writes_after_base_backup(url: str) -> str:
    """The day's work after the base backup, which only the archived WAL holds: a new last order (a copy
    of the last one under a new number, when there is one) and 5,000 rows of a table made for it."""
    with psycopg.connect(url, autocommit=True) as primary:
        primary.execute(
            "CREATE TABLE restore_rehearsal (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())"
        )
        primary.execute("INSERT INTO restore_rehearsal (at) SELECT now() FROM generate_series(1, 5000)")
        order_copy = sql.SQL(ORDER_COPY).format(
            order=sql.Identifier(ORDER_TABLE), name=sql.Literal(ORDER_TABLE)
        )
        try:
            copied = primary.execute(order_copy).rowcount
        except psycopg.Error as error:
            return f"5,000 rows (no order copied: {type(error).__name__})"
        return "5,000 rows and a new last order" if copied else "5,000 rows (no order to copy)"


def as_postgres_run(argv: Sequence[str]) -> None:
    run([*as_postgres(), *argv], env=dict(os.environ))


def owned_by_postgres(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def primary_start(bindir: Path, root: Path, archive: Path) -> Cluster:
    """A new cluster that archives every WAL segment it completes into ``archive``."""
    primary = Cluster(bindir, root / "primary", free_port(), root)
    initdb = [str(bindir / "initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust"]
    as_postgres_run([*initdb, "-E", "UTF8", "--locale=C"])
    primary.configure(
        port=str(primary.port),
        listen_addresses="'127.0.0.1'",
        unix_socket_directories=f"'{root}'",
        wal_level="replica",
        archive_mode="on",
        archive_command=f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
    )
    primary.start()
    return primary


def base_backup(primary: Cluster, base: Path) -> None:
    started = time.perf_counter()
    address = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
    as_postgres_run(
        [str(primary.bindir / "pg_basebackup"), *address, "-D", str(base), "-X", "stream", "-c", "fast"]
    )
    say(f"base backup in {time.perf_counter() - started:.1f} s")


def wal_archive_up_to_now(primary: Cluster) -> Snapshot:
    """What the primary holds now, once the WAL segment holding it is switched out and archived."""
    with psycopg.connect(primary.url("marketplace"), autocommit=True) as conn:
        before = snapshot_read(conn.cursor())
        last_segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]

        def archived() -> bool:
            row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            return bool(row and row[0] and row[0] >= last_segment)

        wait_for(archived, what=f"WAL segment {last_segment} to be archived")
    say(f"WAL archived up to {last_segment}")
    return before


def point_in_time_restore(bindir: Path, base: Path, archive: Path, root: Path) -> Cluster:
    """A cluster from the base backup that replays the archive to its end, then promotes itself."""
    restored = Cluster(bindir, base, free_port(), root)
    restored.configure(port=str(restored.port), archive_mode="off", restore_command=f"'cp {archive}/%f %p'")
    (base / "recovery.signal").touch()
    owned_by_postgres(base / "recovery.signal")
    started = time.perf_counter()
    restored.start()
    with psycopg.connect(restored.url(), autocommit=True) as conn:
        wait_for(lambda: not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0], what="the WAL replay")
    segments = [path for path in archive.iterdir() if "." not in path.name]  # not the .backup labels
    took = time.perf_counter() - started
    say(f"restored from the base backup and {len(segments)} archived WAL segments in {took:.1f} s")
    return restored


def wal_rehearsal(source_url: str, *, jobs: int = 2) -> Comparison:
    """Lose a database machine and bring it back from a base backup and the WAL archive.

    A primary of its own (WAL archived with ``archive_command``) is given the source's data (a dump), a base
    backup is taken (``pg_basebackup``), more is written (only the archive has it), the WAL is switched and
    archived, and the primary is killed and its data folder deleted. A new cluster is made from the base
    backup with ``restore_command`` reading the archive; once it has replayed every segment and promoted
    itself, its tables, row counts and last order are compared with the primary's at the moment it died."""
    source_url = postgres_url(source_url)
    bindir = postgres_bindir()
    with tempfile.TemporaryDirectory(prefix="restore-rehearsal-") as folder:
        root = Path(folder)
        archive, base = root / "wal-archive", root / "base-backup"
        archive.mkdir()
        owned_by_postgres(archive, root)
        primary = primary_start(bindir, root, archive)
        restored: Cluster | None = None
        try:
            with psycopg.connect(primary.url(), autocommit=True) as admin:
                admin.execute("CREATE DATABASE marketplace")
            dump = root / "source.dump"
            dump_in_snapshot(source_url, dump, env=libpq_environment(source_url))
            dump_restore(dump, database="marketplace", env=libpq_environment(primary.url()), jobs=jobs)
            base_backup(primary, base)
            say(f"after the base backup: {writes_after_base_backup(primary.url('marketplace'))}")
            before = wal_archive_up_to_now(primary)
            primary.stop("immediate")  # the machine is lost: no clean shutdown, and its disk goes too
            shutil.rmtree(primary.data)
            say("primary killed and its data folder deleted")
            restored = point_in_time_restore(bindir, base, archive, root)
            with psycopg.connect(restored.url("marketplace")) as conn:
                after = snapshot_read(conn.cursor())
        finally:
            for cluster in (restored, primary):
                if cluster is not None and (cluster.data / "postmaster.pid").exists():
                    with contextlib.suppress(RestoreCheckError):
                        cluster.stop("immediate")
    return _report(snapshots_compare(before, after), before)


def _report(comparison: Comparison, source: Snapshot) -> Comparison:
    say(f"orders: {source.counts.get(f'public.{ORDER_TABLE}', 0)}, last order: {source.last_order or 'none'}")
    largest = sorted(source.counts.items(), key=lambda item: (-item[1], item[0]))[:8]
    say("largest tables: " + ", ".join(f"{table} {count}" for table, count in largest))
    if comparison.identical:
        say(f"identical: {comparison.tables} tables, {comparison.rows} rows, the last order")
    else:
        say(f"DIFFERENT ({len(comparison.differences)}):")
        for difference in comparison.differences:
            say(f"  {difference}")
    return comparison


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source-url",
        default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="the database to back up (default: DATABASE_URL, else the stack's marketplace_stack)",
    )
    parser.add_argument("--keep-dump", type=Path, help="write the dump here and keep it (default: deleted)")
    parser.add_argument("--jobs", type=int, default=2, help="pg_restore's parallel jobs")
    parser.add_argument(
        "--wal",
        action="store_true",
        help="rehearse a point-in-time restore instead: base backup + WAL archive on clusters of its own",
    )
    args = parser.parse_args(argv)
    try:
        if args.wal:
            comparison = wal_rehearsal(args.source_url, jobs=args.jobs)
        else:
            comparison = restore_check(args.source_url, keep_dump=args.keep_dump, jobs=args.jobs)
    except (RestoreCheckError, psycopg.Error) as error:
        sys.stderr.write(f"restore-check: {error}\n")
        return 2
    return 0 if comparison.identical else 1


if __name__ == "__main__":
    sys.exit(main())
