"""Opening the database: a server from ``DATABASE_URL``/config, or the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import psycopg

from pipeline.store.embedded import EmbeddedPostgres
from pipeline.store.errors import translate_errors
from pipeline.store.ledger import Ledger
from pipeline.store.migrations import migrate
from pipeline.store.protect import AccountProtector, SecurityConfig
from pipeline.store.url import DatabaseConfig, configured_url, normalize_url, redact_url

APPLICATION_NAME = "achpipe"

# Settings of every achpipe session. JIT off: the ledger's statements are planned over one
# partition per effective date (and part), and a server with JIT compiles code for each
# partition's scan once a plan's cost passes jit_above_cost. On a year-like ledger (250 days,
# 50,000 returns) the compliance view took 2.3 s with JIT, of which 1.5 s compiling 3,272
# functions, and 0.6-0.75 s without (bench/rate_views_bench.py). The embedded server has no JIT.
SESSION_SETTINGS: dict[str, str] = {"jit": "off"}


def apply_session_settings(conn: psycopg.Connection) -> None:
    """Set :data:`SESSION_SETTINGS` for the rest of ``conn``'s session."""
    for name, value in SESSION_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))


def connect(
    url: str, *, connect_timeout: int = 10, application_name: str = APPLICATION_NAME
) -> psycopg.Connection:
    """An autocommit connection (ledger methods open their own transactions), with
    :data:`SESSION_SETTINGS` applied.

    Connection failures raise DatabaseUnavailable (exit 75) with the URL redacted.
    """
    with translate_errors(f"connecting to {redact_url(url)}"):
        conn = psycopg.connect(
            normalize_url(url),
            autocommit=True,
            connect_timeout=connect_timeout,
            application_name=application_name,
        )
        try:
            apply_session_settings(conn)
        except BaseException:
            conn.close()
            raise
        return conn


@dataclass(frozen=True)
class DatabaseTarget:
    """Where we are connected: the URL (use ``redacted`` to show it) and whether embedded."""

    url: str
    embedded: bool

    @property
    def redacted(self) -> str:
        return redact_url(self.url)


@contextmanager
def open_database(
    config: DatabaseConfig | None = None,
) -> Iterator[tuple[psycopg.Connection, DatabaseTarget]]:
    """Connect to the configured server, or start the embedded one (and stop it after)."""
    config = config or DatabaseConfig()
    with ExitStack() as stack:
        secret = configured_url(config)
        if secret is not None:
            target = DatabaseTarget(secret.reveal(), embedded=False)
        else:
            server = EmbeddedPostgres(config.embedded_dir, run_as=config.embedded_user)
            url = server.start()
            stack.callback(server.stop)
            target = DatabaseTarget(url, embedded=True)
        conn = connect(target.url, connect_timeout=config.connect_timeout)
        stack.callback(conn.close)
        yield conn, target


@contextmanager
def open_ledger(
    config: DatabaseConfig | None = None,
    security: SecurityConfig | None = None,
    *,
    apply_migrations: bool = True,
) -> Iterator[Ledger]:
    """A :class:`Ledger` on the configured database, migrated unless told otherwise.

    ``security`` provides the account key; without one the ledger can read but not store
    account numbers.
    """
    protector = (
        AccountProtector.from_config(security)
        if security is not None and security.account_key is not None
        else None
    )
    with open_database(config) as (conn, _target):
        if apply_migrations:
            migrate(conn)
        yield Ledger(conn, protector)
