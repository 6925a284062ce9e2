"""``achpipe db``: migrate, status, url — thin commands over :mod:`pipeline.store`.

The database is ``DATABASE_URL``, else ``[database] url`` of the config file, else the
embedded Postgres (started for the command and stopped after it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from psycopg import sql

from pipeline.errors import ConfigError
from pipeline.store import (
    DatabaseConfig,
    EmbeddedPostgres,
    configured_url,
    migrate,
    migration_status,
    open_database,
    redact_url,
)
from pipeline.store.errors import translate_errors

_CONFIG_HELP = "achpipe.toml to use (default: $ACHPIPE_CONFIG, then ./achpipe.toml)."


def _database_config(ctx: click.Context, config: Path | None) -> DatabaseConfig:
    """The validated ``[database]`` section of the invocation's configuration (root
    ``--config``, the command's ``--config``, ``$ACHPIPE_CONFIG`` or ``./achpipe.toml``;
    ``DATABASE_URL`` overrides the URL)."""
    from pipeline.commands._options import get_config

    database = get_config(ctx, config).typed("database")
    if not isinstance(database, DatabaseConfig):  # pragma: no cover - config wiring bug
        raise ConfigError("[database] did not load as a DatabaseConfig")
    return database


config_option = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), help=_CONFIG_HELP
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group("db")
def db() -> None:
    """The ledger database: apply migrations, show status, show the URL."""


@db.command("migrate")
@config_option
@json_option
@click.pass_context
def migrate_command(ctx: click.Context, config: Path | None, as_json: bool) -> None:
    """Apply pending migrations from sql/ (a no-op when up to date)."""
    with open_database(_database_config(ctx, config)) as (conn, target):
        applied = migrate(conn)
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    if as_json:
        click.echo(
            json.dumps({"database": target.redacted, "embedded": target.embedded, "applied": names})
        )
        return
    if names:
        click.echo(f"applied {len(names)} migration(s) to {target.redacted}:")
        for name in names:
            click.echo(f"  {name}")
    else:
        click.echo(f"{target.redacted}: up to date")


# The tables of the schema that are not partitions of another, and for a partitioned one how
# many partitions hang directly under it (entries: one per effective date, and the default).
# Partitions are counted in their parent: listing each would print a line per day of the
# ledger (two for a day loaded in parts) and count every entry once per level.
_TOP_LEVEL_TABLES = (
    "SELECT c.relname,"
    "       CASE WHEN c.relkind = 'p' THEN"
    "            (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) END"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    " ORDER BY c.relname"
)


def _row_counts(conn: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Rows of every top-level table, and the partition count of each partitioned one."""
    with translate_errors("counting rows"):
        tables = conn.execute(_TOP_LEVEL_TABLES).fetchall()
        counts = {
            name: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()[0]
            for name, _ in tables
        }
        return counts, {name: parts for name, parts in tables if parts is not None}


@db.command("status")
@config_option
@json_option
@click.pass_context
def status_command(ctx: click.Context, config: Path | None, as_json: bool) -> None:
    """Applied and pending migrations and row counts; exit 1 if an applied file changed."""
    with open_database(_database_config(ctx, config)) as (conn, target):
        status = migration_status(conn)
        counts, partitions = _row_counts(conn)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "database": target.redacted,
                    "embedded": target.embedded,
                    "applied": [
                        {
                            "version": a.version,
                            "name": a.name,
                            "applied_at": a.applied_at.isoformat(),
                            "checksum": a.checksum,
                        }
                        for a in status.applied
                    ],
                    "pending": [f"{m.version:04d}_{m.name}" for m in status.pending],
                    "changed": status.changed,
                    "unknown": status.unknown,
                    "row_counts": counts,
                    "partitions": partitions,
                    "ok": status.ok,
                }
            )
        )
    else:
        click.echo(f"database: {target.redacted}" + (" (embedded)" if target.embedded else ""))
        click.echo(f"applied:  {len(status.applied)}")
        for a in status.applied:
            flag = (
                "  CHANGED ON DISK"
                if a.version in status.changed
                else ("  NOT IN THIS VERSION" if a.version in status.unknown else "")
            )
            click.echo(f"  {a.version:04d}_{a.name}  {a.applied_at:%Y-%m-%d %H:%M:%S}{flag}")
        click.echo(f"pending:  {len(status.pending)}")
        for m in status.pending:
            click.echo(f"  {m.version:04d}_{m.name}")
        if counts:
            click.echo("rows:")
            width = max(len(t) for t in counts)
            for table, n in counts.items():
                parts = partitions.get(table)
                note = f"  ({parts} partition{'s' if parts != 1 else ''})" if parts else ""
                click.echo(f"  {table:<{width}}  {n:>12,}{note}")
    if not status.ok:
        if not as_json:
            click.echo(
                "Error: migrations applied in the database differ from sql/"
                " (see CHANGED / NOT IN THIS VERSION above)",
                err=True,
            )
        ctx.exit(1)


@db.command("url")
@config_option
@json_option
@click.pass_context
def url_command(ctx: click.Context, config: Path | None, as_json: bool) -> None:
    """The database URL achpipe uses, password redacted (the embedded server is not started)."""
    cfg = _database_config(ctx, config)
    secret = configured_url(cfg)
    if secret is not None:
        url, embedded, source = redact_url(secret.reveal()), False, secret.source
    else:
        server = EmbeddedPostgres(cfg.embedded_dir, run_as=cfg.embedded_user)
        url, embedded, source = server.url, True, f"embedded ({server.pgdata})"
    if as_json:
        click.echo(json.dumps({"url": url, "embedded": embedded, "source": source}))
    else:
        click.echo(url)
