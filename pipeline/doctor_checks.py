"""The checks ``achpipe doctor`` runs, one function per component, in a table.

Each says what it proved when it passes, and what is wrong plus what to do when it fails.
Secrets never appear in a finding (URLs are redacted; errors from our modules never carry
secret values).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date

from nacha.errors import AchpipeError
from pipeline.config import AppConfig
from pipeline.doctor import CheckFn, Finding


def check_config(config: AppConfig) -> Iterable[Finding]:
    from pipeline.commands.config_cmds import check_config as validate

    _, problems = validate(config.source)
    if problems:
        for p in problems:
            yield Finding("config", False, p, "edit achpipe.toml; `achpipe config check` lists all")
        return
    where = str(config.source) if config.source else "no file (defaults and environment only)"
    yield Finding("config", True, f"valid: {where}")


def check_database(config: AppConfig) -> Iterable[Finding]:
    from pipeline.store import migration_status, open_database

    try:
        with open_database(config.typed("database")) as (conn, target):
            version = conn.execute("SHOW server_version").fetchone()
            status = migration_status(conn)
    except AchpipeError as exc:
        yield Finding(
            "database",
            False,
            str(exc),
            "is the server up and the URL right? (`achpipe db url` shows it redacted)",
        )
        return
    kind = "embedded" if target.embedded else "server"
    yield Finding(
        "database", True, f"connected to {kind} {target.redacted} (PostgreSQL {version[0]})"
    )
    if not status.ok:
        yield Finding(
            "database",
            False,
            f"schema differs from sql/: changed {status.changed}, unknown {status.unknown}",
            "someone edited an applied migration or the database is newer than this achpipe",
        )
    elif status.pending:
        names = ", ".join(m.name for m in status.pending)
        yield Finding("database", False, f"migrations pending: {names}", "run `achpipe db migrate`")
    else:
        yield Finding("database", True, f"schema up to date ({len(status.applied)} migrations)")


def check_sftp(config: AppConfig) -> Iterable[Finding]:
    from pipeline.sftp import SftpClient

    settings = config.typed("sftp")
    try:
        with SftpClient(settings) as client:
            result = client.check()
    except AchpipeError as exc:
        yield Finding(
            "sftp",
            False,
            f"{settings.endpoint}: {exc}",
            "check [sftp] host/port, the pinned host key (known_hosts or host_key_fingerprint) "
            "and the credentials",
        )
        return
    yield Finding("sftp", True, f"{result.endpoint}: host key {result.host_key} matches the pin")
    if result.upload_writable:
        yield Finding("sftp", True, f"upload directory {result.upload_dir} is writable (probe)")
    else:
        yield Finding(
            "sftp",
            False,
            f"cannot write to {result.upload_dir}",
            "ask the bank for write permission or fix [sftp] upload_dir",
        )
    dirs = config.typed("run").inbound_dirs or (result.inbound_dir,)
    yield Finding(
        "sftp",
        True,
        f"inbound {result.inbound_dir}: {len(result.inbound_files)} file(s) waiting"
        + (
            f"; also fetching {', '.join(d for d in dirs if d != result.inbound_dir)}"
            if len(dirs) > 1
            else ""
        ),
    )


def check_pgp(config: AppConfig) -> Iterable[Finding]:
    from pipeline.pgp import seal_for_bank, unseal

    settings = config.typed("pgp")
    try:
        keys = settings.load_keys()
    except AchpipeError as exc:
        yield Finding("pgp", False, str(exc), "check [pgp] key paths and passphrase references")
        return
    yield Finding(
        "pgp",
        True,
        f"our key {keys.ours.fingerprint} (secret, unlocked), bank key "
        f"{keys.bank.fingerprint}, archive key {keys.archive.fingerprint}",
    )
    probe = b"achpipe doctor probe\n"
    try:
        sealed = seal_for_bank(probe, keys=keys, settings=settings, filename="probe")
        opened = unseal(sealed, key=keys.archive, verify_with=[keys.ours])
    except AchpipeError as exc:
        yield Finding("pgp", False, f"sign+encrypt self-test failed: {exc}")
        return
    if opened.plaintext != probe:
        yield Finding("pgp", False, "self-test decrypted to different bytes")
    else:
        yield Finding("pgp", True, "sign + encrypt to bank and archive, decrypt + verify: ok")


def check_api(config: AppConfig) -> Iterable[Finding]:
    from pipeline.api import ConnectFiClient, ReturnRateNotFound

    settings = config.typed("api")
    try:
        with ConnectFiClient(settings) as client, contextlib.suppress(ReturnRateNotFound):
            # authenticates first; "no figures for today" still proves the credentials
            client.return_rates(date.today())
    except AchpipeError as exc:
        yield Finding(
            "api",
            False,
            f"{settings.base_url}: {exc}",
            "check [api] base_url, client_id and the client_secret reference",
        )
        return
    yield Finding("api", True, f"{settings.base_url}: authenticated as {settings.client_id}")


CHECKS: dict[str, CheckFn] = {
    "config": check_config,
    "database": check_database,
    "sftp": check_sftp,
    "pgp": check_pgp,
    "api": check_api,
}
