"""A tiny migration runner for the numbered plain-SQL files in ``sql/``.

Why not Alembic: our migrations are plain SQL files that a DBA can read and apply by hand;
the runner only has to apply them in order, once, and notice edits. It records each applied
file in ``schema_migrations`` (version, name, sha256 of the file, when, how long) and:

* applies pending files in version order, each with its ``schema_migrations`` row, all in
  one transaction (Postgres DDL is transactional: a failing file leaves nothing behind);
* is a no-op when everything is applied (safe to run at every start);
* raises :class:`MigrationChecksumError` when an applied file changed on disk, and
  :class:`MigrationError` when the database has a version this code does not know;
* serialises concurrent runners with a transaction-level advisory lock.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from pipeline.store.errors import MigrationChecksumError, MigrationError, translate_errors

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Two-int advisory lock key space of this package: (class, id). 1 = migrations.
_LOCK_CLASS = 0x41434850  # "ACHP"
_MIGRATION_LOCK = 1

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    """One ``sql/NNNN_name.sql`` file."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str


@dataclass(frozen=True)
class AppliedMigration:
    """One row of ``schema_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


@dataclass(frozen=True)
class MigrationStatus:
    """What :func:`migration_status` found: applied rows, pending files, problems."""

    applied: list[AppliedMigration]
    pending: list[Migration]
    changed: list[int]  # versions whose file checksum differs from the recorded one
    unknown: list[int]  # versions applied in the database but missing on disk

    @property
    def ok(self) -> bool:
        return not self.changed and not self.unknown


def load_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Read and check the migration files (numbering unique; every .sql file well named)."""
    if not sql_dir.is_dir():
        raise MigrationError(f"migration directory {sql_dir} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(sql_dir.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files must be named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path.name}: version {version:04d} also used by {found[version].path.name}"
            )
        data = path.read_bytes()
        found[version] = Migration(
            version=version,
            name=match.group(2),
            path=path,
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


def _applied(conn: psycopg.Connection) -> list[AppliedMigration]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return []
    rows = conn.execute(
        "SELECT version, name, checksum, applied_at, duration_ms FROM schema_migrations"
        " ORDER BY version"
    ).fetchall()
    return [AppliedMigration(*row) for row in rows]


def migration_status(conn: psycopg.Connection, *, sql_dir: Path = SQL_DIR) -> MigrationStatus:
    """Compare the database with the files without changing anything."""
    files = load_migrations(sql_dir)
    with translate_errors("reading schema_migrations"):
        applied = _applied(conn)
        if not conn.autocommit:
            conn.rollback()
    by_version = {m.version: m for m in files}
    done = {a.version for a in applied}
    return MigrationStatus(
        applied=applied,
        pending=[m for m in files if m.version not in done],
        changed=[
            a.version
            for a in applied
            if a.version in by_version and by_version[a.version].checksum != a.checksum
        ],
        unknown=[a.version for a in applied if a.version not in by_version],
    )


def migrate(conn: psycopg.Connection, *, sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied (empty: no-op).

    Raises :class:`MigrationChecksumError` if an applied file was edited and
    :class:`MigrationError` if the database is ahead of this code, before applying anything.
    """
    files = load_migrations(sql_dir)
    applied_now: list[Migration] = []
    with translate_errors("applying migrations"):
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, _MIGRATION_LOCK))
            conn.execute(_CREATE_TABLE)
            applied = {a.version: a for a in _applied(conn)}
            by_version = {m.version: m for m in files}
            unknown = sorted(set(applied) - set(by_version))
            if unknown:
                raise MigrationError(
                    "the database has migration(s) "
                    + ", ".join(f"{v:04d}_{applied[v].name}" for v in unknown)
                    + " that this version of achpipe does not know; upgrade achpipe"
                )
            for version, row in applied.items():
                current = by_version[version]
                if current.checksum != row.checksum:
                    raise MigrationChecksumError(
                        version, row.name, recorded=row.checksum, actual=current.checksum
                    )
            for migration in files:
                if migration.version in applied:
                    continue
                started = time.perf_counter()
                with translate_errors(f"applying {migration.path.name}"):
                    conn.execute(migration.sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, duration_ms)"
                        " VALUES (%s, %s, %s, %s)",
                        (
                            migration.version,
                            migration.name,
                            migration.checksum,
                            round((time.perf_counter() - started) * 1000),
                        ),
                    )
                applied_now.append(migration)
    return applied_now
